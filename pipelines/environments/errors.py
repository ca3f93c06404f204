"""What goes wrong when an environment is requested or built; messages are for the check run."""

from __future__ import annotations

from collections.abc import Sequence


class EnvironmentRequestError(Exception):
    """The repository's declared dependencies cannot be used as they are (the message says why)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EnvironmentBuildError(Exception):
    """Building the environment failed; ``message`` carries uv's own error, ``log`` the build output."""

    def __init__(self, message: str, log: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.log = list(log)
