"""What changes an environment's key and what does not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pipelines.environments import EnvironmentRequest, environment_key
from pipelines.environments.uvtool import uv_message
from tests.fixtures.environments import RepoFactory

BASE = EnvironmentRequest("requirements.txt", ("lightgbm==4.7.0", "numpy>=1"), (), None)
LOCAL = EnvironmentRequest("requirements.txt", ("six==1.16.0",), (".",), None)
Change = Callable[[Path], None]


def nothing(repo: Path) -> None:
    pass


def write(relative: str, text: str) -> Change:
    def change(repo: Path) -> None:
        (repo / relative).parent.mkdir(parents=True, exist_ok=True)
        (repo / relative).write_text(text)

    return change


@pytest.mark.parametrize(
    ("request_", "scope", "change", "same"),
    [
        (EnvironmentRequest("other source text", ("numpy>=1", "lightgbm==4.7.0")), "base", nothing, True),
        (EnvironmentRequest("requirements.txt", ("LightGBM == 4.7.0", "NumPy>=1")), "base", nothing, True),
        (EnvironmentRequest("requirements.txt", BASE.requirements, (), "3.11"), "base", nothing, True),
        (BASE, "base", write("model.py", "changed = True\n"), True),  # no repository path installed
        (BASE, "base", write(".git/HEAD", "ref: other\n"), True),
        (EnvironmentRequest("requirements.txt", ("lightgbm==4.6.0", "numpy>=1")), "base", nothing, False),
        (EnvironmentRequest("requirements.txt", ("lightgbm[dask]==4.7.0", "numpy>=1")), "base", nothing,
         False),
        (EnvironmentRequest("requirements.txt", (*BASE.requirements, "six")), "base", nothing, False),
        (BASE, "fork:someone/fork", nothing, False),
    ],
    ids=["order and source", "spelling", "default python named", "unrelated file", "git", "pin",
         "extra", "added line", "fork scope"],
)
def test_what_changes_the_key(make_repo: RepoFactory, request_: EnvironmentRequest, scope: str,
                              change: Change, same: bool) -> None:
    repo = make_repo({"model.py": "changed = False\n"})
    before = environment_key(BASE, repo, "base")
    change(repo)
    assert (environment_key(request_, repo, scope) == before) is same


@pytest.mark.parametrize(
    ("change", "same"),
    [
        (nothing, True),
        (write(".git/index", "x"), True),
        (write("pkg/__init__.py", "VERSION = 2\n"), False),
        (write("pkg/data.csv", "a,b\n"), False),  # every file under an installed path counts
    ],
    ids=["nothing", "git", "source file", "new file"],
)
def test_installed_repository_paths_count_by_content(make_repo: RepoFactory, change: Change,
                                                     same: bool) -> None:
    repo = make_repo({"setup.py": "", "pkg/__init__.py": "VERSION = 1\n"})
    before = environment_key(LOCAL, repo, "base")
    change(repo)
    assert (environment_key(LOCAL, repo, "base") == before) is same


def test_forks_do_not_share_keys_with_each_other(make_repo: RepoFactory) -> None:
    repo = make_repo({})
    keys = {environment_key(BASE, repo, scope) for scope in ("base", "fork:a/x", "fork:b/x")}
    assert len(keys) == 3 and all(len(key) == 64 for key in keys)


def test_a_symlink_counts_as_its_target_text(make_repo: RepoFactory, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("one")
    repo = make_repo({"setup.py": ""})
    (repo / "link").symlink_to(outside)
    before = environment_key(LOCAL, repo, "base")
    outside.write_text("two")  # never read: the link is not followed out of the repository
    assert environment_key(LOCAL, repo, "base") == before


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["Using Python 3.11.7", "error: No solution found when resolving dependencies",
          "  cause: Because x was not found, we can conclude that your requirements are unsatisfiable.", "",
          "hint: Wheels are required for `x`"],
         "No solution found when resolving dependencies: Because x was not found, we can conclude that your "
         "requirements are unsatisfiable. (hint: Wheels are required for `x`)"),
        (["error: Failed to read `uv.lock`"], "Failed to read `uv.lock`"),
        (["some output", "", "Killed"], "some output Killed"),
        ([], "uv failed without a message"),
    ],
)
def test_uvs_message_on_one_line(lines: list[str], message: str) -> None:
    assert uv_message(lines) == message
