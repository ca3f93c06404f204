"""Finding a repository's declared dependencies, and refusing what would read outside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.config.environment import EnvironmentSection
from pipelines.environments import (
    EnvironmentRequest,
    EnvironmentRequestError,
    find_environment,
    request_from_pins,
)
from tests.fixtures.environments import RepoFactory

PYPROJECT = '[project]\nname = "demo"\nversion = "0.1"\ndependencies = ["lightgbm==4.7.0", "polars>=1"]\n'
REQUIREMENTS = "# the model\nLightGBM == 4.7.0\n\n-r ml/extra.txt  # more\nnumpy>=1 \\\n  --hash=sha256:00\n"


@pytest.mark.parametrize(
    ("files", "section", "expected"),
    [
        ({}, None, None),
        ({"README.md": "hi"}, None, None),
        ({"requirements.txt": REQUIREMENTS, "ml/extra.txt": "six==1.16.0\n-e ./pkg\n", "pkg/setup.py": "",
          "pyproject.toml": PYPROJECT}, None,
         EnvironmentRequest("requirements.txt", ("LightGBM==4.7.0", "six==1.16.0", "numpy>=1"),
                            ("pkg",))),
        ({"pyproject.toml": PYPROJECT}, None,
         EnvironmentRequest("pyproject.toml [project.dependencies]", ("lightgbm==4.7.0", "polars>=1"))),
        ({"pyproject.toml": '[project]\nname = "x"\n'}, None,
         EnvironmentRequest("pyproject.toml [project.dependencies]", ())),
        ({"requirements.txt": "six\n", "ml/req.txt": "-e .\nfile:./ml\n"}, {"requirements": "ml/req.txt"},
         EnvironmentRequest("ml/req.txt", (), (".", "ml"))),
        ({"requirements.txt": "six\n"}, {"packages": ["lightgbm==4.7.0"], "python": "3.11"},
         EnvironmentRequest(".modelgate.yml packages", ("lightgbm==4.7.0",), (), "3.11")),
        ({"requirements.txt": "six\n", "pyproject.toml": PYPROJECT}, {"pyproject": True},
         EnvironmentRequest("pyproject.toml [project.dependencies]", ("lightgbm==4.7.0", "polars>=1"))),
    ],
    ids=["nothing", "no declarations", "requirements.txt first", "pyproject", "pyproject without deps",
         "section requirements", "section packages", "section pyproject"],
)
def test_discovery(make_repo: RepoFactory, files: dict[str, str], section: dict[str, object] | None,
                   expected: EnvironmentRequest | None) -> None:
    parsed = EnvironmentSection.model_validate(section) if section is not None else None
    assert find_environment(make_repo(files), parsed) == expected


def test_a_uv_lock_beside_pyproject_is_exported_without_dev_dependencies(make_repo: RepoFactory) -> None:
    pyproject = ('[project]\nname = "demo"\nversion = "0.1"\nrequires-python = ">=3.11"\n'
                 'dependencies = ["six==1.16.0"]\n[dependency-groups]\ndev = ["iniconfig==2.0.0"]\n')
    repo = make_repo({"pyproject.toml": pyproject, "uv.lock": LOCK})
    assert find_environment(repo, None) == EnvironmentRequest("uv.lock", ("six==1.16.0",))


def test_a_broken_lock_names_uvs_problem(make_repo: RepoFactory) -> None:
    repo = make_repo({"pyproject.toml": PYPROJECT, "uv.lock": "version = [\n"})
    with pytest.raises(EnvironmentRequestError, match=r"^uv\.lock: uv could not export it: .*TOML"):
        find_environment(repo, None)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("-r ../secrets.txt", "requirements.txt line 1: -r ../secrets.txt: leaves the repository"),
        ("-r /etc/passwd", "requirements.txt line 1: -r /etc/passwd: absolute paths are not allowed"),
        ("--index-url https://evil.example/simple",
         "--index-url is not allowed: the package index is the App operator's choice "
         "(MODELGATE_PACKAGE_INDEX_URL)"),
        ("--extra-index-url=https://evil.example/simple", "--extra-index-url is not allowed"),
        ("-i https://evil.example/simple", "-i is not allowed"),
        ("-f /opt/wheels", "-f is not allowed"),
        ("--find-links https://evil.example/", "--find-links is not allowed"),
        ("--trusted-host evil.example", "--trusted-host is not allowed"),
        ("-c constraints.txt", "the option -c is not supported (only -r FILE and -e PATH"),
        ("-e ../other", "line 1: ../other: leaves the repository"),
        ("/etc/passwd", "/etc/passwd: absolute paths are not allowed"),
        ("./missing", "./missing does not exist in the repository"),
        ("file:///etc", "file:///etc: absolute paths are not allowed"),
        ("evil @ https://evil.example/evil.whl",
         "evil @ https://evil.example/evil.whl is not allowed: packages come from the App operator's package "
         "index"),
        ("numpy===", "requirements.txt line 1: not a valid requirement 'numpy==='"),
    ],
)
def test_refused_lines_say_why(make_repo: RepoFactory, line: str, message: str) -> None:
    repo = make_repo({"requirements.txt": f"{line}\n"})
    with pytest.raises(EnvironmentRequestError) as caught:
        find_environment(repo, None)
    assert message in caught.value.message


def test_an_include_cannot_escape_through_a_symlink(make_repo: RepoFactory, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("six\n")
    repo = make_repo({"requirements.txt": "-r link.txt\n"})
    (repo / "link.txt").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(EnvironmentRequestError, match="leaves the repository"):
        find_environment(repo, None)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"requirements": "ml/missing.txt"}, "ml/missing.txt: requirements file not found in the repository"),
        ({"pyproject": True}, "environment.pyproject: there is no pyproject.toml at the repository root"),
        ({"packages": ["--index-url=https://x"]}, "environment.packages line 1: --index-url is not allowed"),
    ],
)
def test_a_section_naming_what_is_not_there(make_repo: RepoFactory, section: dict[str, object],
                                            message: str) -> None:
    with pytest.raises(EnvironmentRequestError) as caught:
        find_environment(make_repo({}), EnvironmentSection.model_validate(section))
    assert message in caught.value.message


def test_recorded_pins_make_a_request() -> None:
    assert request_from_pins(["lightgbm==4.7.0", "numpy==2.1.0"], python="3.11") == EnvironmentRequest(
        "recorded requirements", ("lightgbm==4.7.0", "numpy==2.1.0"), (), "3.11")
    with pytest.raises(EnvironmentRequestError, match="--find-links is not allowed"):
        request_from_pins(["--find-links=/tmp"])


LOCK = '''\
version = 1
revision = 3
requires-python = ">=3.11"

[[package]]
name = "demo"
version = "0.1"
source = { virtual = "." }
dependencies = [
    { name = "six" },
]

[package.dev-dependencies]
dev = [
    { name = "iniconfig" },
]

[package.metadata]
requires-dist = [{ name = "six", specifier = "==1.16.0" }]

[package.metadata.requires-dev]
dev = [{ name = "iniconfig", specifier = "==2.0.0" }]

[[package]]
name = "iniconfig"
version = "2.0.0"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://files.pythonhosted.org/packages/d7/4b/iniconfig-2.0.0.tar.gz" }
wheels = [
    { url = "https://files.pythonhosted.org/packages/ef/a6/iniconfig-2.0.0-py3-none-any.whl" },
]

[[package]]
name = "six"
version = "1.16.0"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://files.pythonhosted.org/packages/71/39/six-1.16.0.tar.gz" }
wheels = [
    { url = "https://files.pythonhosted.org/packages/d9/5a/six-1.16.0-py2.py3-none-any.whl" },
]
'''
