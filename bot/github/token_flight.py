"""One installation token at a time: githubkit checks its token cache and, on a miss, mints a token in
the same request. Threads that miss together (the acknowledger and a worker, or two workers, on an
installation's first call) would each mint one. ``SingleFlightInstallation`` lets one of them mint while
the others wait for it, then read the cached token; calls with a cached token take no lock.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx
from githubkit.auth.app import AppAuth, AppInstallationAuthStrategy

if TYPE_CHECKING:
    from githubkit import GitHubCore


@dataclass
class SingleFlightAuth(httpx.Auth):
    """githubkit's installation auth flow, with a token mint under ``lock``."""

    inner: AppAuth
    lock: threading.Lock

    def _token_cached(self) -> bool:
        cache = self.inner.github.config.cache_strategy.get_cache_storage()
        return cache.get(self.inner._get_installation_cache_key()) is not None

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Send ``request``; when no token is cached, mint one while holding the lock."""
        if self._token_cached():
            yield from self.inner.sync_auth_flow(request)
            return
        flow = self.inner.sync_auth_flow(request)
        with self.lock:  # the thread that waited here finds the token cached: no second mint
            outgoing = next(flow)
            while outgoing is not request:  # the token request: answered under the lock
                outgoing = flow.send((yield outgoing))
        response = yield outgoing
        with contextlib.suppress(StopIteration):  # the flow ends after the authenticated request
            flow.send(response)


@dataclass
class SingleFlightInstallation(AppInstallationAuthStrategy):
    """``AppInstallationAuthStrategy`` whose token is minted once however many threads ask together."""

    lock: threading.Lock = field(default_factory=threading.Lock)

    def get_auth_flow(self, github: GitHubCore) -> httpx.Auth:
        inner = super().get_auth_flow(github)
        assert isinstance(inner, AppAuth)
        return SingleFlightAuth(inner, self.lock)
