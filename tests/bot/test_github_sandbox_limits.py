"""Through the GitHub stand-in: content-creating calls wait on the per-installation limiter
(nothing is dropped), reads do not, and collaborator permissions are cached briefly."""

from __future__ import annotations

import threading
import time
from typing import Any

from bot.github.api import InstallationAPI, Repo
from bot.github.app import GitHubApp
from bot.github.limits import SlidingWindowLimiter
from tests.fixtures.clocks import FakeClock
from tests.fixtures.standin import SandboxHandle
from tests.fixtures.standin_repos import seed

REPO = Repo("octo", "hello")
PERMISSION_OP = "repos/get-collaborator-permission-level"


class CountingLimiter(SlidingWindowLimiter):
    """A limiter that counts acquisitions."""

    def __init__(self) -> None:
        super().__init__(((1000, 60.0),))
        self.count = 0

    def acquire(self) -> float:
        self.count += 1
        return super().acquire()


def app_for(sandbox: SandboxHandle, **options: Any) -> GitHubApp:
    """A GitHubApp pointed at the sandbox."""
    return GitHubApp(sandbox.app_id, sandbox.private_key_pem, base_url=sandbox.url, **options)


def calls(sandbox: SandboxHandle, operation: str) -> int:
    """How many requests of ``operation`` the sandbox has seen."""
    return sum(r["operationId"] == operation for r in sandbox.client.state()["requests"])


def test_one_limiter_and_one_cache_per_installation(sandbox: SandboxHandle) -> None:
    seed(sandbox)
    app = app_for(sandbox)
    first, second = app.installation(sandbox.installation_id), app.for_repository("octo/hello", None)
    assert first.limiter is second.limiter and first.permissions is second.permissions
    assert first.limiter is not None and first.limiter.windows == ((80, 60.0), (500, 3600.0))
    assert app.installation(sandbox.installation_id + 1).limiter is not first.limiter
    assert app_for(sandbox).installation(sandbox.installation_id).limiter is not first.limiter


def test_a_burst_waits_for_the_window_and_nothing_is_dropped(sandbox: SandboxHandle) -> None:
    seeded = seed(sandbox)
    clock = FakeClock(1000.0)
    app = app_for(sandbox, content_limits=[(3, 10.0)], clock=clock, sleep=clock.sleep)
    statuses = app.installation(sandbox.installation_id)
    comments = app.for_repository("octo/hello", None)  # another object, the same limiter
    for i in range(5):
        statuses.set_status(REPO, seeded.head_sha, state="pending", context=f"ctx-{i}", description="d")
    ids = [comments.create_comment(REPO, seeded.number, f"reply {i}") for i in range(4)]
    for _ in range(3):
        statuses.get_pull(REPO, seeded.number)  # reads never wait
    assert clock.sleeps == [10.0, 10.0]  # 9 calls at 3 per 10 s: two more windows
    limiter = app.limiter(sandbox.installation_id)
    assert (limiter.waits, limiter.waited) == (2, 20.0)
    state = sandbox.client.state()
    assert sorted(s["context"] for s in state["statuses"]) == [f"ctx-{i}" for i in range(5)]
    replies = [c for c in state["comments"] if c["issue_number"] == seeded.number]
    assert [c["body"] for c in replies] == [f"reply {i}" for i in range(4)]
    assert [c["id"] for c in replies] == ids and len(set(ids)) == 4


def test_a_short_real_window_spreads_threads_out(sandbox: SandboxHandle) -> None:
    seeded = seed(sandbox)
    app = app_for(sandbox, content_limits=[(3, 0.25)])
    errors: list[BaseException] = []

    def post(i: int) -> None:
        try:
            app.installation(sandbox.installation_id).create_comment(REPO, seeded.number, f"t{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    started = time.monotonic()
    threads = [threading.Thread(target=post, args=(i,)) for i in range(7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    elapsed = time.monotonic() - started
    assert not errors
    bodies = sorted(c["body"] for c in sandbox.client.state()["comments"])
    assert bodies == sorted(f"t{i}" for i in range(7))
    assert elapsed >= 0.5 and app.limiter(sandbox.installation_id).waits >= 4  # 7 calls: 3 windows


def test_every_content_creating_method_goes_through_the_limiter(sandbox: SandboxHandle) -> None:
    seeded = seed(sandbox)
    api = app_for(sandbox).for_repository("octo/hello", None)
    limiter = api.limiter = CountingLimiter()
    api.set_status(REPO, seeded.head_sha, state="success", context="c", description="d")
    run = api.create_check_run(REPO, name="n", head_sha=seeded.head_sha, external_id="e")
    api.update_check_run(REPO, run, status="completed", conclusion="success")
    comment = api.upsert_comment(REPO, seeded.number, "<!-- m -->", "one")  # create
    api.upsert_comment(REPO, seeded.number, "<!-- m -->", "two")  # update
    deployment = api.create_deployment(REPO, seeded.head_sha, environment="staging", payload={},
                                       description="d")
    api.set_deployment_status(REPO, deployment, "success", description="ok")
    api.react(REPO, comment, "rocket")
    api.create_comment(REPO, seeded.number, "plain")
    assert limiter.count == 9
    api.get_pull(REPO, seeded.number)
    api.find_check_run(REPO, seeded.head_sha, "n", "e")
    api.permission(REPO, "octo")
    api.get_file(REPO, "README.md", "main")
    assert limiter.count == 9  # reads are not limited
    writes = [r for r in sandbox.client.state()["requests"]
              if r["method"] != "GET" and r["operationId"] != "apps/create-installation-access-token"]
    assert len(writes) == 9


def test_an_installation_api_without_a_limiter_or_cache_still_works(sandbox: SandboxHandle) -> None:
    seeded = seed(sandbox)
    api = app_for(sandbox).for_repository("octo/hello", None)
    bare = InstallationAPI(api._gh)
    assert bare.create_comment(REPO, seeded.number, "hi") > 0
    bare.permission(REPO, "octo")
    bare.permission(REPO, "octo")
    bare.forget_permission(REPO, "octo")
    assert calls(sandbox, PERMISSION_OP) == 2


def test_permissions_are_cached_per_login_until_they_expire(sandbox: SandboxHandle) -> None:
    seed(sandbox)
    sandbox.client.set_permission("octo", "hello", "bob", "write")
    clock = FakeClock()
    app = app_for(sandbox, clock=clock, sleep=clock.sleep)
    api = app.for_repository("octo/hello", None)
    assert api.permission(REPO, "bob") == "write"
    assert api.permission(REPO, "bob") == "write"
    assert app.installation(sandbox.installation_id).permission(Repo("Octo", "Hello"), "BOB") == "write"
    assert calls(sandbox, PERMISSION_OP) == 1
    assert api.permission(REPO, "ghost") == "none"  # another login: another GET (404, cached too)
    assert api.permission(REPO, "ghost") == "none"
    assert calls(sandbox, PERMISSION_OP) == 2
    sandbox.client.set_permission("octo", "hello", "bob", "admin")
    clock.advance(59.0)
    assert api.permission(REPO, "bob") == "write"  # still fresh
    clock.advance(1.0)
    assert api.permission(REPO, "bob") == "admin"  # expired: asked again
    assert calls(sandbox, PERMISSION_OP) == 3
    sandbox.client.set_permission("octo", "hello", "bob", "read")
    api.forget_permission(REPO, "bob")
    assert api.permission(REPO, "bob") == "read"
    assert calls(sandbox, PERMISSION_OP) == 4
    assert app_for(sandbox).for_repository("octo/hello", None).permission(REPO, "bob") == "read"
    assert calls(sandbox, PERMISSION_OP) == 5  # another App object has its own cache


def test_the_permission_ttl_is_configurable(sandbox: SandboxHandle) -> None:
    seed(sandbox)
    clock = FakeClock()
    api = app_for(sandbox, permission_ttl=5.0, clock=clock).for_repository("octo/hello", None)
    api.permission(REPO, "octo")
    clock.advance(5.0)
    api.permission(REPO, "octo")
    assert calls(sandbox, PERMISSION_OP) == 2
