"""What modelgate answers to PR commands (``/retrain``, ``/rollback``, ``/modelgate …``): why a
command was refused, what a dispatched one queued, the help table, the one reply comment that
sums up a comment's commands, and the reply a ``/rollback`` run posts when it is done. One pure
function per message; a refusal says what was refused, why, and what to do instead.
"""

from __future__ import annotations

from collections.abc import Sequence

# -- the comment's commands ---------------------------------------------------------------------


def not_understood(text: str) -> str:
    """A ``/modelgate <something>`` line that names no command (the help table follows)."""
    return f"`{text}` was not understood"


def arguments_unreadable(error: str, usage: str) -> str:
    """A command line whose arguments could not be read (``error``: e.g. an unclosed quote)."""
    return f"{error}; usage: `{usage}`"


def permission_refused(author: str, need: str, have: str, command: str) -> str:
    """The commenter's role is below what the command needs here: nothing was changed."""
    return f"@{author} needs {need} permission to run `/{command}` (has {have}); nothing was changed"


def command_failed(line: str, error: str) -> str:
    """A command raised (``error``: the exception's type and message); the others still ran."""
    return f"`{line}` failed: {error}"


def command_reply(refused: Sequence[tuple[str, str]], table: str | None, replies: Sequence[str]) -> str:
    """The one reply to a comment: each refused command line with why (``(line, message)``), then the
    help table (when a line was not understood), then what dispatched commands answer; each part
    once. Empty when there is nothing to say."""
    parts = ["\n".join(f"- `{line}`: {message}" for line, message in refused if message), table or "",
             *replies]
    return "\n\n".join(dict.fromkeys(part for part in parts if part))


def commands_table(rows: Sequence[tuple[str, str, str]]) -> str:
    """The help table: one ``(usage, what it does, permission needed here)`` row per command."""
    lines = ["| command | what it does | who may run it |", "|---|---|---|"]
    for usage, text, need in rows:
        who = "anyone" if need == "none" else f"{need} permission or more"
        lines.append(f"| `{usage}` | {text} | {who} |")
    return "**modelgate commands** (one per line, at the start of a line):\n\n" + "\n".join(lines)


def help_shown() -> str:
    """What ``/modelgate help`` records as done (its reply is the table)."""
    return "help shown"


def unexpected_arguments(command: str, extra: Sequence[str], usage: str) -> str:
    """A command given arguments it does not take (``extra``), with its usage."""
    return f"`/{command}` does not take `{' '.join(extra)}`; usage: `{usage}`"


# -- /retrain -----------------------------------------------------------------------------------


def retrain_pr_closed(number: int | None) -> str:
    """``/retrain`` on a closed PR: there is no head to run staging on."""
    return f"PR #{number} is closed: nothing to retrain"


def retrain_queued(sha: str, run_id: int, forced: bool) -> str:
    """``/retrain`` queued a staging run of the head ``sha`` (``forced``: without the result cache)."""
    return f"staging queued{' without the cache' if forced else ''} for `{sha[:7]}` (run {run_id})"


def retrain_head_moved(author: str, seen: str, head: str) -> str:
    """A maintainer's ``/retrain`` on untrusted code whose PR moved on after the comment: it approved
    only ``seen``, the head that waited then; the newer ``head`` is not approved and waits."""
    return (f"@{author} `/retrain` approves the commit that was the head when you commented, `{seen[:7]}`, "
            f"but the pull request has moved on to `{head[:7]}` since. `{head[:7]}` is **not** approved: it "
            "waits for a maintainer. Review it, then comment `/retrain` again or press **Retrain** on its "
            "check.")


def retrain_head_unknown(author: str, head: str) -> str:
    """A maintainer's ``/retrain`` on untrusted code when modelgate saw no head of the PR before the
    comment (e.g. the App was installed after the PR was opened): nothing is approved."""
    return (f"@{author} modelgate has not seen which commit was the head when you commented, so "
            f"`/retrain` approved nothing. `{head[:7]}` waits for a maintainer: review it, then comment "
            "`/retrain` again or press **Retrain** on its check.")


# -- /rollback ----------------------------------------------------------------------------------


def rollback_bad_arguments(args: Sequence[str], usage: str) -> str:
    """``/rollback`` given more than one argument, or one that is not a version number."""
    return (f"`/rollback` does not take `{' '.join(args)}`; usage: `{usage}` (VERSION is a registered "
            "version number)")


def rollback_no_config() -> str:
    """``/rollback`` where the default branch's ``.modelgate.yml`` is missing or invalid."""
    return "the default branch has no valid `.modelgate.yml`: no model to roll back"


def rollback_no_champion(model: str) -> str:
    """``/rollback`` of a model that has no champion."""
    return f"`{model}` has no champion: nothing to roll back"


def rollback_not_owned(model: str, version: int) -> str:
    """``/rollback`` from a repository that did not promote the model's champion."""
    return (f"`{model}` version {version} was not promoted from this repository: roll it back from the "
            "repository that promoted it, or with `modelgate rollback`")


def rollback_queued(model: str, from_version: int, to_version: int | None, run_id: int) -> str:
    """``/rollback`` queued a rollback run (``to_version`` None: to the previous champion)."""
    target = "the previous champion" if to_version is None else f"version {to_version}"
    return f"rollback of `{model}` from version {from_version} to {target} queued (run {run_id})"


def rollback_done(model: str, from_version: int, to_version: int, detail: str) -> str:
    """The reply of a finished ``/rollback``: which versions, and how the restored one serves."""
    return f"Rolled back `{model}` from version {from_version} to version {to_version}: {detail}."


def rollback_failed(model: str, error: str) -> str:
    """The reply of a ``/rollback`` that did not happen, or was undone (``error``: why)."""
    return f"Rollback of `{model}` failed: {error}"


def redeploy_failed(error: str) -> str:
    """A rollback whose restored version did not deploy: the aliases went back."""
    return f"redeploy failed, champion restored: {error}"
