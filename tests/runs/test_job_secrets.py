"""A repository's job secrets: which runs get them, what a file may say, and masking them."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.runs.job_secrets import JobSecretsError, job_environment
from pipelines.masking import mask_secrets

REPO = "acme/wine"


def _env_dir(tmp_path: Path, text: str | bytes, name: str = "acme/wine.env") -> Path:
    env_dir = tmp_path / "job-env"
    path = env_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return env_dir


# (file, the environment jobs get)
FILES = [
    ("DATABASE_URL=postgresql://ro:pw@db/sales\n", {"DATABASE_URL": "postgresql://ro:pw@db/sales"}),
    ("# read-only replica\n\nA_KEY=value1\n   \nB_KEY=value2", {"A_KEY": "value1", "B_KEY": "value2"}),
    ("export BUCKET=s3://acme-data\n", {"BUCKET": "s3://acme-data"}),
    ("TOKEN=abcd1234 # rotated monthly\n", {"TOKEN": "abcd1234"}),
    ("QUOTED='a b # not a comment'\n", {"QUOTED": "a b # not a comment"}),
    ('ESCAPED="line1\\nline2"\n', {"ESCAPED": "line1\nline2"}),
    ('PEM="-----BEGIN KEY-----\nMIIEabcd\n-----END KEY-----"\n',
     {"PEM": "-----BEGIN KEY-----\nMIIEabcd\n-----END KEY-----"}),
    ("LITERAL=${MODELGATE_WEBHOOK_SECRET}\n", {"LITERAL": "${MODELGATE_WEBHOOK_SECRET}"}),  # never expanded
    ("EMPTY=\n", {"EMPTY": ""}),
    ("SAME=first\nSAME=second\n", {"SAME": "second"}),
    ("WINDOWS=crlf\r\nNEXT=line\r\n", {"WINDOWS": "crlf", "NEXT": "line"}),
    ("\ufeffBOM=ignored-bom\n", {"BOM": "ignored-bom"}),
    ("", {}),
]


@pytest.mark.parametrize(("text", "expected"), FILES)
def test_the_file_is_the_environment_of_the_repositorys_own_runs(
    text: str, expected: dict[str, str], tmp_path: Path
) -> None:
    env_dir = _env_dir(tmp_path, text)
    assert job_environment(env_dir, REPO, from_fork=False) == expected


def test_a_fork_pull_request_gets_nothing(tmp_path: Path) -> None:
    env_dir = _env_dir(tmp_path, "DATABASE_URL=postgresql://ro:pw@db/sales\n")
    assert job_environment(env_dir, REPO, from_fork=True) == {}


# (env dir folders and files, repository): no file for the repository means no secrets
NOTHING = [
    ([], REPO),
    (["acme/other.env"], REPO),
    (["other/wine.env"], REPO),
    (["acme/wine.env.bak"], REPO),
]


@pytest.mark.parametrize(("files", "repository"), NOTHING)
def test_no_file_no_environment(files: list[str], repository: str, tmp_path: Path) -> None:
    env_dir = tmp_path / "job-env"
    env_dir.mkdir()
    for name in files:
        (env_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (env_dir / name).write_text("SECRET=do-not-use\n")
    assert job_environment(env_dir, repository, from_fork=False) == {}
    assert job_environment(None, repository, from_fork=False) == {}
    assert job_environment(tmp_path / "missing", repository, from_fork=False) == {}


@pytest.mark.parametrize(("file", "repository"), [
    ("Acme/Wine.env", "acme/wine"), ("acme/wine.env", "ACME/Wine"), ("acme/.github.env", "acme/.github"),
    ("my-org_emu/wine.classifier.env", "my-org_emu/wine.classifier"),
])
def test_names_match_as_on_github(file: str, repository: str, tmp_path: Path) -> None:
    env_dir = _env_dir(tmp_path, "FOUND=it-is-me\n", name=file)
    assert job_environment(env_dir, repository, from_fork=False) == {"FOUND": "it-is-me"}


def test_two_files_that_differ_only_in_case_are_refused(tmp_path: Path) -> None:
    env_dir = _env_dir(tmp_path, "A_KEY=one1\n", name="acme/wine.env")
    _env_dir(tmp_path, "A_KEY=two2\n", name="acme/WINE.env")
    with pytest.raises(JobSecretsError, match="several job environment entries match"):
        job_environment(env_dir, "acme/Wine", from_fork=False)


@pytest.mark.parametrize("repository", [
    "../outside", "acme/../../outside", "acme/..", "acme/.", "../acme/wine", "acme", "acme/wine/extra",
    "/etc/passwd", "acme/", "/wine", ".acme/wine", "acme/wine\0", "acme/wi ne", "",
])
def test_repository_names_cannot_leave_the_directory(repository: str, tmp_path: Path) -> None:
    env_dir = _env_dir(tmp_path, "A_KEY=inside\n")
    (tmp_path / "outside.env").write_text("STOLEN=outside-secret\n")
    with pytest.raises(JobSecretsError, match="is not a repository name"):
        job_environment(env_dir, repository, from_fork=False)


# (file, what the error says); the error is published on the run, so it never shows a value
BROKEN = [
    ('DATABASE_URL="postgresql://ro:hunter22@db\n', "acme/wine.env, line 1: not KEY=VALUE"),
    ('# replica\n\n\r\n  \nURL="postgresql://ro:hunter22@db\n', "acme/wine.env, line 5: not KEY=VALUE"),
    ("OK=fine\nghp_pastedTokenhunter22\n", "acme/wine.env, line 2: no '='"),
    ("OK=fine\n\npostgresql://ro:hunter22@db/sales\n", "acme/wine.env, line 3: not a variable name"),
    ("1ST=hunter22\n", "line 1: not a variable name"),
    ("MY.KEY=hunter22\n", "line 1: not a variable name"),
    ("NUL=hunter22\0x\n", "line 1: the value of NUL holds a NUL character"),
    (b"LATIN1=hunter22\xe9\n", "the job environment file acme/wine.env is not UTF-8 text"),
]


@pytest.mark.parametrize(("text", "message"), BROKEN)
def test_a_broken_file_is_an_error_that_shows_no_value(
    text: str | bytes, message: str, tmp_path: Path
) -> None:
    env_dir = _env_dir(tmp_path, text)
    with pytest.raises(JobSecretsError) as raised:
        job_environment(env_dir, REPO, from_fork=False)
    assert message in str(raised.value)
    assert "hunter22" not in str(raised.value) and str(env_dir) not in str(raised.value)


def test_an_unreadable_file_is_an_error(tmp_path: Path) -> None:
    env_dir = tmp_path / "job-env"
    (env_dir / "acme" / "wine.env").mkdir(parents=True)  # reading a folder fails like a forbidden file
    with pytest.raises(JobSecretsError, match=r"acme/wine.env cannot be read \(Is a directory\)"):
        job_environment(env_dir, REPO, from_fork=False)


@pytest.mark.parametrize("key", [
    "PATH", "HOME", "TMPDIR", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONHOME", "LD_PRELOAD", "LD_LIBRARY_PATH",
    "MODELGATE_WEBHOOK_SECRET", "modelgate_app_id", "Path",
])
def test_keys_that_would_break_the_job_are_left_out_with_a_warning(
    key: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env_dir = _env_dir(tmp_path, f"KEPT=kept-value\n{key}=/evil/value\n")
    with caplog.at_level(logging.WARNING, logger="bot.runs.job_secrets"):
        assert job_environment(env_dir, REPO, from_fork=False) == {"KEPT": "kept-value"}
    assert f"{key} is left out of the job's environment" in caplog.text
    assert "/evil/value" not in caplog.text


def test_short_values_are_passed_with_a_warning_that_logs_will_not_mask_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env_dir = _env_dir(tmp_path, "REGION=eu1\nDEBUG=\n")
    with caplog.at_level(logging.WARNING, logger="bot.runs.job_secrets"):
        assert job_environment(env_dir, REPO, from_fork=False) == {"REGION": "eu1", "DEBUG": ""}
    assert "the value of REGION is shorter than 4 characters" in caplog.text
    assert "DEBUG" not in caplog.text  # an empty value has nothing to leak


PEM = "-----BEGIN KEY-----\nMIIEsecretline\n-----END KEY-----"

# (text, secrets, masked)
MASKING = [
    ("connecting to postgresql://ro:pw1234@db", ["pw1234"], "connecting to postgresql://ro:***@db"),
    ("key=abcd1234 again abcd1234.", ["abcd1234"], "key=*** again ***."),
    ("abcd1234abcd1234", ["abcd1234"], "******"),  # adjacent occurrences each get a mask
    ("no secret here", ["abcd1234"], "no secret here"),
    ("region eu1, eu1", ["eu1"], "region eu1, eu1"),  # shorter than 4: not masked
    ("abcd is masked, abc is not", ["abcd", "abc", ""], "*** is masked, abc is not"),
    ("token: xabcdefghx", ["abcd", "abcdefgh"], "token: x***x"),  # longest first
    ("token: xabcdefghx", ["abcdefgh", "abcd"], "token: x***x"),  # whatever the order given
    ("joined abcdefghi!", ["abcdef", "defghi"], "joined ***!"),  # overlapping: no character shows
    ("aaaaaa", ["aaaa"], "***"),  # overlapping occurrences of one secret
    ("pattern a.b*c+(d) and aXbbc", ["a.b*c+(d)"], "pattern *** and aXbbc"),  # literal, not a regex
    (f"loaded\n{PEM}\ndone", [PEM], "loaded\n***\ndone"),
    ("line 3: MIIEsecretline is not base64", [PEM], "line 3: *** is not base64"),  # each line too
    ("", ["abcd1234"], ""),
    ("nothing to mask", [], "nothing to mask"),
]


@pytest.mark.parametrize(("text", "secrets", "masked"), MASKING)
def test_mask_secrets(text: str, secrets: list[str], masked: str) -> None:
    assert mask_secrets(text, secrets) == masked


def test_mask_secrets_takes_the_environment_values_as_they_come() -> None:
    environment = {"USER_NAME": "reader", "PASSWORD": "s3cr3t-pw"}
    text = "login reader / s3cr3t-pw"
    assert mask_secrets(text, environment.values()) == "login *** / ***"
    assert mask_secrets(text, (value for value in environment.values())) == "login *** / ***"
