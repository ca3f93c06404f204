"""Installation tokens through the GitHub stand-in: threads that need a token together get one minted
once (not once each), and a mint GitHub refuses does not block the next caller."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from githubkit.exception import GitHubException

from bot.github.api import Repo
from bot.github.app import GitHubApp
from tests.fixtures.standin import SandboxHandle
from tests.fixtures.standin_repos import NAME, OWNER, seed

MINT = "apps/create-installation-access-token"
REPO = Repo(OWNER, NAME)


def _mints(sandbox: SandboxHandle) -> int:
    return sum(r["operationId"] == MINT for r in sandbox.client.state()["requests"])


def _together(count: int, call: Callable[[], object]) -> list[BaseException]:
    """Run ``call`` on ``count`` threads released at once; the errors they raised."""
    barrier, errors = threading.Barrier(count), []

    def one() -> None:
        barrier.wait()
        try:
            call()
        except BaseException as exc:  # collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return errors


@pytest.mark.parametrize("threads", [2, 8])
def test_threads_asking_together_share_one_minted_token(sandbox: SandboxHandle, threads: int) -> None:
    seeded = seed(sandbox)
    app = GitHubApp(sandbox.app_id, sandbox.private_key_pem, base_url=sandbox.url)
    assert _together(threads, lambda: app.installation(sandbox.installation_id).get_pull(
        REPO, seeded.number)) == []
    assert _mints(sandbox) == 1
    app.installation(sandbox.installation_id).get_pull(REPO, seeded.number)
    assert _mints(sandbox) == 1  # later calls use the cached token


def test_a_refused_mint_fails_its_caller_and_the_next_one_mints(sandbox: SandboxHandle) -> None:
    seeded = seed(sandbox)
    app = GitHubApp(sandbox.app_id, sandbox.private_key_pem, base_url=sandbox.url)
    sandbox.client.add_fault(MINT, 500)
    with pytest.raises(GitHubException):
        app.installation(sandbox.installation_id).get_pull(REPO, seeded.number)
    pull = app.installation(sandbox.installation_id).get_pull(REPO, seeded.number)
    assert pull["number"] == seeded.number and _mints(sandbox) == 2
