"""ChatOps end to end: comments on the stand-in send real ``issue_comment`` webhooks; the App
reacts, checks the commenter's permission through the collaborator API and dispatches."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import pipelines
from bot.server import Services
from bot.store import TERMINAL, RunRecord, StagingJob
from tests.fixtures.corpus import derive
from tests.fixtures.standin import SandboxHandle, running_app

pytestmark = pytest.mark.e2e

EXAMPLE = Path(pipelines.__file__).parent / "examples" / "wine-classifier"
OWNER, NAME = "acme", "wine-classifier"
FULL = f"{OWNER}/{NAME}"
ALL_COMMANDS = "/retrain\n/rollback\n/modelgate help"
BROKEN_DATA = "def load_staging():\n    raise RuntimeError('no data here')\n"  # staging ends fast


class ChatOps:
    def __init__(self, sandbox: SandboxHandle, services: Services) -> None:
        self.github, self.services = sandbox.client, services
        self.github.create_repo(OWNER, NAME, path=EXAMPLE, files={"data.py": BROKEN_DATA})
        self.github.commit(OWNER, NAME, {"NOTES.md": "x\n"}, branch="change", author="ada")
        self.pr = int(self.github.open_pull(OWNER, NAME, "change", author="ada", title="change")["number"])

    def say(self, body: str, author: str) -> int:
        """Comment on the PR and wait for modelgate's command run; the comment id."""
        before = len(self.command_runs())
        comment = self.github.comment(OWNER, NAME, self.pr, body, author=author)["comment"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            runs = self.command_runs()
            if len(runs) > before and all(r.state in TERMINAL for r in runs):
                return int(comment["id"])
            time.sleep(0.1)
        raise AssertionError(f"no command run finished for {body!r}: {self.command_runs()}")

    def command_runs(self) -> list[RunRecord]:
        return sorted(self.services.runs.list_runs(repository=FULL, kind="command"), key=lambda r: r.id)

    def last(self) -> RunRecord:
        return self.command_runs()[-1]

    def dispatched(self) -> list[bool]:
        return [c["dispatched"] for c in (self.last().result or {})["commands"]]

    def reactions(self, comment_id: int) -> list[str]:
        return [r["content"] for r in self.github.state()["reactions"] if r["comment_id"] == comment_id]

    def replies(self) -> list[str]:
        state = self.github.state()
        return [c["body"] for c in state["comments"] if c["issue_number"] == self.pr and c["via_app"]
                and "modelgate:" not in c["body"]]

    def staging_runs(self) -> list[RunRecord]:
        return self.services.runs.list_runs(repository=FULL, kind="staging")


@pytest.fixture
def chatops(sandbox: SandboxHandle, tmp_path: Path) -> Iterator[ChatOps]:
    with running_app(sandbox, tmp_path) as services:
        yield ChatOps(sandbox, services)


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("read", [False, False, True]),
        ("triage", [False, False, True]),
        ("write", [True, False, True]),
        ("maintain", [True, None, True]),  # None: allowed, but nothing to roll back here
        ("admin", [True, None, True]),
    ],
)
def test_the_permission_matrix(chatops: ChatOps, role: str, expected: list[bool | None]) -> None:
    chatops.github.set_permission(OWNER, NAME, "casey", role)
    staging_before = len(chatops.staging_runs())
    comment = chatops.say(ALL_COMMANDS, "casey")
    commands = (chatops.last().result or {})["commands"]
    assert [c["line"] for c in commands] == ["/retrain", "/rollback", "/modelgate help"]  # in order
    for command, allowed in zip(commands, expected, strict=True):
        denied = "needs" in command["message"] and "permission" in command["message"]
        assert denied is (allowed is False), command
        assert command["dispatched"] is bool(allowed), command
    assert commands[1]["message"] == ("@casey needs maintain permission to run `/rollback` (has "
                                      f"{role}); nothing was changed") or expected[1] is None
    assert len(chatops.staging_runs()) == staging_before + (1 if expected[0] else 0)
    reactions = chatops.reactions(comment)
    assert reactions[0] == "eyes" and "rocket" in reactions and "-1" in reactions  # help always runs
    [reply] = chatops.replies()
    assert "| `/retrain [--force]` |" in reply and "write permission or more" in reply


def test_the_default_branch_sets_who_may_run_a_command(chatops: ChatOps) -> None:
    config = (EXAMPLE / ".modelgate.yml").read_text() + "commands: {retrain: {permission: maintain}}\n"
    chatops.github.commit(OWNER, NAME, {".modelgate.yml": config}, author=OWNER)
    chatops.github.set_permission(OWNER, NAME, "casey", "write")
    chatops.say("/retrain", "casey")
    assert chatops.dispatched() == [False]
    assert "needs maintain permission to run `/retrain` (has write)" in str(chatops.last().error)
    # the PR cannot lower the bar for itself: its own .modelgate.yml is not read for the rule
    lowered = (EXAMPLE / ".modelgate.yml").read_text() + "commands: {retrain: {permission: read}}\n"
    chatops.github.commit(OWNER, NAME, {".modelgate.yml": lowered}, branch="change", author="ada")
    chatops.say("/retrain", "casey")
    assert chatops.dispatched() == [False]


def test_retrain_queues_staging_on_the_current_head_with_force(chatops: ChatOps) -> None:
    chatops.github.set_permission(OWNER, NAME, "casey", "write")
    comment = chatops.say("Data changed upstream.\n/retrain --force", "casey")
    assert chatops.dispatched() == [True] and chatops.reactions(comment) == ["eyes", "rocket"]
    retrains = [r for r in chatops.staging_runs() if r.trigger == "issue_comment.retrain"]
    assert len(retrains) == 1
    retrain = retrains[0].job_as(StagingJob)
    assert retrain.force is True and retrain.approved_by == "casey" and retrain.approved_sha
    assert chatops.replies() == []  # a dispatched command needs no reply


def test_help_and_unknown_commands_reply_with_the_table(chatops: ChatOps) -> None:
    comment = chatops.say("/modelgate frobnicate now", "ada")
    assert chatops.reactions(comment) == ["eyes", "-1"]
    [reply] = chatops.replies()
    assert "`/modelgate frobnicate now` was not understood" in reply and "| `/modelgate help` |" in reply
    chatops.say("/modelgate help", "ada")
    assert chatops.dispatched() == [True] and "who may run it" in chatops.replies()[-1]


def test_closed_prs_bots_and_mentions_do_nothing(chatops: ChatOps) -> None:
    chatops.github.set_permission(OWNER, NAME, "casey", "write")
    before = len(chatops.command_runs())
    chatops.github.comment(OWNER, NAME, chatops.pr, "/retrain", author="helper[bot]")
    chatops.github.comment(OWNER, NAME, chatops.pr, "we could /retrain later", author="casey")
    chatops.say("/modelgate help", "casey")  # a later command: the two above were already routed
    assert len(chatops.command_runs()) == before + 1
    chatops.github.set_protection(OWNER, NAME, [])
    chatops.github.merge(OWNER, NAME, chatops.pr, author=OWNER)
    comment = chatops.say("/retrain", "casey")
    assert chatops.reactions(comment) == ["eyes", "-1"]
    assert f"PR #{chatops.pr} is closed: nothing to retrain" in chatops.replies()[-1]


def test_several_commands_in_one_comment_run_in_order(chatops: ChatOps) -> None:
    chatops.github.set_permission(OWNER, NAME, "casey", "write")
    chatops.say("/modelgate help\n/retrain\n/modelgate what", "casey")
    commands: list[dict[str, Any]] = (chatops.last().result or {})["commands"]
    assert [(c["line"], c["dispatched"]) for c in commands] == [
        ("/modelgate help", True), ("/retrain", True), ("/modelgate what", False)]


def test_an_edited_comment_does_nothing(chatops: ChatOps, sandbox: SandboxHandle) -> None:
    """A comment edited to say ``/retrain`` (a corpus-shaped delivery, signed) is not a command."""
    url = f"{chatops.services.settings.public_url}/api/github/webhooks"
    change = {"issue": {"number": chatops.pr, "pull_request": {"url": "u"}},
              "comment": {"body": "/retrain", "user": {"login": "casey", "type": "User"}},
              "sender": {"login": "casey", "type": "User"}, "repository": {"full_name": FULL}}
    answers = []
    for action in ("edited", "created"):  # the same comment as new would be a command
        d = derive("issue_comment.created.4", change, secret=sandbox.webhook_secret, action=action)
        answers.append(httpx.post(url, content=d.body, headers=d.headers).json()["outcome"])
    assert answers == ["ignored", "accepted"]
