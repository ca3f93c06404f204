"""A repository's job secrets: the environment the operator gives its jobs (masked in what a run
publishes by ``pipelines.masking``).

``MODELGATE_JOB_ENV_DIR/<owner>/<repo>.env`` holds what the repository's jobs need to read their
data (a database URL, a bucket's key), in dotenv format: ``KEY=VALUE`` lines, ``#`` comments, an
optional ``export``, values optionally in single or double quotes (double quotes take ``\\n``
escapes and may span lines). Values are taken literally: ``${VAR}`` is not expanded, so nothing of
the App's own environment can be pulled in. Names match case-insensitively, as GitHub's do.

Like GitHub Actions secrets, they reach runs of the repository's own branches and its default
branch, never a fork's pull request, not even one a maintainer approved: the fork's author wrote
that code and could send them anywhere.
"""

from __future__ import annotations

import io
import logging
import os
import re
from pathlib import Path

from dotenv.parser import parse_stream

from pipelines.masking import MIN_MASKED_LENGTH

log = logging.getLogger(__name__)

# Keys a job's environment sets itself (pipelines.job_process) or that change how its Python and
# its dynamic linker start; a file that sets one gets a warning and the key is left out.
RESERVED_KEYS = frozenset({"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "MPLBACKEND"})
RESERVED_PREFIXES = ("PYTHON", "LD_", "MODELGATE_")
_OWNER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
_REPO = re.compile(r"[A-Za-z0-9._-]{1,100}")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LINE_BREAK = re.compile(r"\r\n|\n|\r")


class JobSecretsError(Exception):
    """The repository's environment file exists but cannot be used. The message is published on
    the run (as its error), so it names the file as ``owner/repo.env`` and a line number, never a
    value, the text of a broken line (it may be a pasted secret) or the directory."""


def job_environment(env_dir: Path | None, repository: str, from_fork: bool) -> dict[str, str]:
    """The environment for a job of ``repository`` (``owner/name``); ``{}`` without ``env_dir``,
    for a fork's pull request, or when the repository has no file. JobSecretsError when the file is
    unreadable or broken, or ``repository`` is not a repository name."""
    if env_dir is None or from_fork:
        return {}
    path = _env_file(env_dir, repository)
    if path is None:
        return {}
    shown = f"{path.parent.name}/{path.name}"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:  # removed since we found it
        return {}
    except UnicodeDecodeError:
        raise JobSecretsError(f"the job environment file {shown} is not UTF-8 text") from None
    except OSError as exc:
        log.error("cannot read %s: %s", path, exc)
        raise JobSecretsError(f"the job environment file {shown} cannot be read ({exc.strerror})") from None
    return _parse(text, shown, path)


def _env_file(env_dir: Path, repository: str) -> Path | None:
    """``env_dir/<owner>/<repo>.env`` (matched case-insensitively), None when there is none."""
    owner, slash, name = repository.partition("/")
    if not (slash and _OWNER.fullmatch(owner) and _REPO.fullmatch(name)) or name in {".", ".."}:
        raise JobSecretsError(f"{repository!r} is not a repository name (owner/name)")
    folder = _entry(env_dir, owner)
    return None if folder is None else _entry(folder, f"{name}.env")


def _entry(directory: Path, name: str) -> Path | None:
    """The entry ``name`` of ``directory``, or the one entry that differs from it only in case."""
    try:
        if (directory / name).exists():
            return directory / name
        matches = sorted(entry for entry in os.listdir(directory) if entry.lower() == name.lower())
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        log.error("cannot look up %s in %s: %s", name, directory, exc)
        message = f"cannot look up {name} among the job environment files ({exc.strerror})"
        raise JobSecretsError(message) from None
    if len(matches) > 1:
        raise JobSecretsError(f"several job environment entries match {name}: {', '.join(matches)}")
    return directory / matches[0] if matches else None


def _parse(text: str, shown: str, path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for binding in parse_stream(io.StringIO(text)):
        where = f"{shown}, line {_first_line(binding.original.string, binding.original.line)}"
        if binding.error:
            raise JobSecretsError(f"{where}: not KEY=VALUE (or a quote is left open)")
        key, value = binding.key, binding.value
        if key is None:  # a blank line or a comment
            continue
        if not _KEY.fullmatch(key):
            raise JobSecretsError(f"{where}: not a variable name (letters, digits and _) before '='")
        if value is None:
            raise JobSecretsError(f"{where}: no '=' (write KEY= for an empty value)")
        if "\0" in value:
            raise JobSecretsError(f"{where}: the value of {key} holds a NUL character")
        if key.upper() in RESERVED_KEYS or key.upper().startswith(RESERVED_PREFIXES):
            log.warning("%s: %s is left out of the job's environment (jobs set it themselves, or it "
                        "changes how their Python starts)", path, key)
            continue
        if 0 < len(value) < MIN_MASKED_LENGTH:
            log.warning("%s: the value of %s is shorter than %d characters: jobs get it, but logs do not "
                        "mask it", path, key, MIN_MASKED_LENGTH)
        values[key] = value
    return values


def _first_line(original: str, line: int) -> int:
    """The line a binding's text starts on (the parser counts the blank lines before it as its own)."""
    leading = original[: len(original) - len(original.lstrip())]
    return line + len(_LINE_BREAK.findall(leading))


