"""A response in one write: uvicorn writes a response's head when the app starts it and its body when the
app sends it, two sends and, on a local connection, two trips through the kernel's TCP stack (and two
wake-ups of the client) for every webhook answer. ``OneWrite`` is what the request's cycle sees as its
transport: it holds the head until the first body write and sends both at once. Py-spy put the two sends
at a quarter of an intake process's samples under load (bench/README.md)."""

from __future__ import annotations

import asyncio
from typing import Any

_INTERIM = b"HTTP/1.1 1"  # "100 Continue" and other 1xx go out at once: the client waits for them


class OneWrite:
    """``transport`` for one request/response cycle, holding the response head for its body."""

    __slots__ = ("_head", "_transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._head: bytes | None = None

    def write(self, data: bytes) -> None:
        """Hold the response head (the first write); send it with the next write."""
        head = self._head
        if head is not None:
            self._head = None
            self._transport.write(head + data)
        elif data.startswith(b"HTTP/1.1 ") and not data.startswith(_INTERIM):
            self._head = data
        else:
            self._transport.write(data)

    def close(self) -> None:
        """Send a held head (a response the app abandoned), then close."""
        self.flush()
        self._transport.close()

    def flush(self) -> None:
        """Send a held head now."""
        if self._head is not None:
            head, self._head = self._head, None
            self._transport.write(head)

    def is_closing(self) -> bool:
        """As the connection's transport says."""
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
