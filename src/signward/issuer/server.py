"""The issuer's HTTP server: uvicorn's h11 protocol with a deadline for each request head.

uvicorn bounds an idle keep-alive connection and the size of a request head, but not the
time a client takes to send one: a connection that sends nothing, or drips one header byte
at a time (slowloris), is held until `--limit-concurrency` turns everyone away. Here every
request head (from the connection's start, or from the end of the previous response) must
be complete within `head_timeout` seconds, however the bytes arrive; else the connection is
closed. The body has its own deadline in the app (`app.BODY_TIMEOUT`, 408).
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

HEAD_TIMEOUT = 10.0  # seconds for a request head to arrive


class HeadDeadlineProtocol(H11Protocol):
    """H11Protocol that closes a connection whose request head is late (`head_timeout`)."""

    head_timeout = HEAD_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_deadline()  # the next request head gets the same time, not more

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_deadline()
        super().connection_lost(exc)

    def _arm_head_deadline(self) -> None:
        self._cancel_head_deadline()
        self._head_deadline = self.loop.call_later(self.head_timeout, self._head_late)

    def _cancel_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_late(self) -> None:
        self._head_deadline = None
        # IDLE: no complete request head since the deadline was armed (one being served is not IDLE)
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def protocol_with_head_timeout(seconds: float) -> type[HeadDeadlineProtocol]:
    """A `HeadDeadlineProtocol` class with its own deadline (uvicorn takes a class, not an instance)."""
    return type("HeadDeadlineProtocol", (HeadDeadlineProtocol,), {"head_timeout": float(seconds)})


def run(app: Any, *, host: str, port: int, limit_concurrency: int, keep_alive: int,
        head_timeout: float = HEAD_TIMEOUT, sock: socket.socket | None = None) -> None:
    """Serve `app` until stopped, with every limit signward sets (DESIGN.md, README's limits);
    on `sock` (a listening socket shared with other workers) instead of host and port."""
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                            http=protocol_with_head_timeout(head_timeout), limit_concurrency=limit_concurrency,
                            timeout_keep_alive=keep_alive, h11_max_incomplete_event_size=16 * 1024)
    uvicorn.Server(config).run(sockets=[sock] if sock is not None else None)


__all__ = ["HEAD_TIMEOUT", "HeadDeadlineProtocol", "protocol_with_head_timeout", "run"]
