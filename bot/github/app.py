"""GitHub App authentication and transport: JWT → installation tokens, retries, metrics,
and per-installation limits (content-creation windows, cached permissions).

githubkit signs the App JWT and caches each installation token until a minute before it
expires. ``RetryPolicy`` bounds retries and never repeats a POST that may have been applied
(a 5xx on a create): those are made idempotent one level up, in ``InstallationAPI``.
"""

from __future__ import annotations

import importlib
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta

import httpx
from githubkit import AppAuthStrategy, GitHub
from githubkit.cache import MemCacheStrategy
from githubkit.exception import GitHubException, RateLimitExceeded, RequestError, RequestFailed
from githubkit.retry import RetryOption

from bot.github.api import InstallationAPI
from bot.github.limits import (
    CONTENT_WAIT_SECONDS,
    DEFAULT_CONTENT_LIMITS,
    PermissionCache,
    SlidingWindowLimiter,
)
from bot.github.token_flight import SingleFlightInstallation
from bot.metrics import GITHUB_CALLS, GITHUB_SECONDS

log = logging.getLogger(__name__)

# the schema models of an acknowledgement's calls: a token, a check run, a commit status
ACKNOWLEDGEMENT_MODELS = (
    "InstallationToken", "AppInstallationsInstallationIdAccessTokensPostBody", "CheckRun",
    "ReposOwnerRepoCheckRunsPostBodyOneof0", "ReposOwnerRepoCheckRunsPostBodyOneof1", "Status",
    "ReposOwnerRepoStatusesShaPostBody",
)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RetryPolicy:
    """githubkit retry decision: bounded, honours Retry-After / x-ratelimit-reset.

    * rate limits (429, 403 secondary/primary): retried, waiting what GitHub asks, if that
      wait is at most ``max_wait`` seconds; the request was refused, so a POST is safe too.
    * 5xx and network errors: retried with exponential backoff and jitter, but only for
      idempotent methods — a POST may have been applied before the error.
    """

    def __init__(self, max_retries: int = 3, base_delay: float = 0.5, max_wait: float = 60.0) -> None:
        self.max_retries = max_retries
        self.base_delay = base_delay
        self.max_wait = max_wait

    def __call__(self, exc: GitHubException, retry_count: int) -> RetryOption:
        if retry_count >= self.max_retries:
            return RetryOption(False)
        if isinstance(exc, RateLimitExceeded):
            wait = exc.retry_after.total_seconds()
            if wait > self.max_wait:
                log.warning("rate limited for %.0fs (> %.0fs): giving up for now", wait, self.max_wait)
                return RetryOption(False)
            return RetryOption(True, timedelta(seconds=max(wait, self.base_delay)))
        if isinstance(exc, RequestFailed):
            retryable = exc.response.status_code >= 500 and exc.request.method in IDEMPOTENT_METHODS
        elif isinstance(exc, RequestError):
            request = getattr(exc.exc, "request", None)
            retryable = request is not None and request.method in IDEMPOTENT_METHODS
        else:
            retryable = False
        if not retryable:
            return RetryOption(False)
        delay = self.base_delay * (2**retry_count) * (1 + random.random() / 4)
        return RetryOption(True, timedelta(seconds=delay))


def _record_request(request: httpx.Request) -> None:
    request.extensions["modelgate_started"] = time.perf_counter()


def _record_response(response: httpx.Response) -> None:
    GITHUB_CALLS.labels(method=response.request.method, status=str(response.status_code)).inc()
    started = response.request.extensions.get("modelgate_started")
    if started is not None:
        GITHUB_SECONDS.observe(time.perf_counter() - started)


class GitHubApp:
    """One GitHub App: hands out per-installation API objects sharing one token cache, and,
    per installation, one content-creation limiter and one permission cache (per process).

    ``content_limits`` are ``(max_calls, seconds)`` windows (default 80/min and 500/h);
    ``permission_ttl`` is how long a collaborator role is reused; ``clock`` and ``sleep``
    drive both (tests inject fakes).
    """

    def __init__(
        self,
        app_id: int,
        private_key: str,
        base_url: str = "https://api.github.com",
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        *,
        content_limits: Sequence[tuple[int, float]] | None = None,
        permission_ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.app_id = app_id
        self._private_key = private_key
        self._strategy = AppAuthStrategy(str(app_id), private_key)
        self._github = GitHub(
            self._strategy,
            base_url=base_url.rstrip("/") + "/",
            auto_retry=retry or RetryPolicy(),
            timeout=timeout,
            http_cache=False,
            cache_strategy=MemCacheStrategy(),  # tokens cached per App object, not per process
            user_agent="modelgate",
            # githubkit opens an httpx client per call; one TLS context for all of them saves
            # loading the CA bundle again on every GitHub call (30-60 ms of CPU each)
            ssl_verify=httpx.create_ssl_context(),
            event_hooks={"request": [_record_request], "response": [_record_response]},
        )
        self._installations: dict[str, int] = {}
        self._lock = threading.Lock()
        self._content_limits = tuple(content_limits or DEFAULT_CONTENT_LIMITS)
        self._permission_ttl = permission_ttl
        self._clock = clock
        self._sleep = sleep
        self._limiters: dict[int, SlidingWindowLimiter] = {}
        self._permissions: dict[int, PermissionCache] = {}
        self._mint_locks: dict[int, threading.Lock] = {}

    def warm(self) -> None:
        """Import what githubkit imports on a first call: the REST namespace and the schema models it
        parses answers with (1.8 s on an idle machine, several on a busy one). Done at start by the process
        that acknowledges, so its first acknowledgement does not wait for it."""
        namespace = type(self._github.rest.checks).__module__  # githubkit_schemas.<version>.rest.checks
        models = importlib.import_module(namespace.rsplit(".rest.", 1)[0] + ".models")
        for name in ACKNOWLEDGEMENT_MODELS:  # lazily imported, a module each
            getattr(models, name, None)

    def limiter(self, installation_id: int) -> SlidingWindowLimiter:
        """The content-creation limiter shared by every API object of one installation."""
        with self._lock:
            limiter = self._limiters.get(installation_id)
            if limiter is None:
                limiter = self._limiters[installation_id] = SlidingWindowLimiter(
                    self._content_limits, clock=self._clock, sleep=self._sleep,
                    observe=CONTENT_WAIT_SECONDS.observe)
            return limiter

    def permissions(self, installation_id: int) -> PermissionCache:
        """The collaborator-permission cache shared by every API object of one installation."""
        with self._lock:
            cache = self._permissions.get(installation_id)
            if cache is None:
                cache = self._permissions[installation_id] = PermissionCache(
                    self._permission_ttl, clock=self._clock)
            return cache

    def installation(self, installation_id: int) -> InstallationAPI:
        """API bound to one installation (tokens cached by githubkit, minted once however many threads
        ask together)."""
        with self._lock:
            mint_lock = self._mint_locks.setdefault(installation_id, threading.Lock())
        auth = SingleFlightInstallation(str(self.app_id), self._private_key, installation_id, lock=mint_lock)
        return InstallationAPI(
            self._github.with_auth(auth),
            limiter=self.limiter(installation_id),
            permissions=self.permissions(installation_id),
        )

    def installation_id_for(self, full_name: str) -> int:
        """Find the installation covering ``owner/repo`` (GET /repos/{o}/{r}/installation)."""
        with self._lock:
            cached = self._installations.get(full_name)
        if cached is not None:
            return cached
        owner, repo = full_name.split("/", 1)
        found = int(self._github.rest.apps.get_repo_installation(owner, repo).json()["id"])
        with self._lock:
            self._installations[full_name] = found
        return found

    def for_repository(self, full_name: str, installation_id: int | None) -> InstallationAPI:
        """API for a repository, looking the installation up when a payload had none."""
        return self.installation(installation_id or self.installation_id_for(full_name))
