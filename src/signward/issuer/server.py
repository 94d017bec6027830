"""The issuer's HTTP server: uvicorn with a deadline and a size bound for each request head.

uvicorn bounds an idle keep-alive connection, but not the time a client takes to send a
request head: a connection that sends nothing, or drips one header byte at a time
(slowloris), is held until `--limit-concurrency` turns everyone away. Here every request head
(from the connection's start, or from the end of the previous response) must be complete
within `head_timeout` seconds, however the bytes arrive; else the connection is closed. A
head is also capped at `MAX_HEAD` bytes (400 and close beyond). The body has its own deadline
in the app (`app.BODY_TIMEOUT`, 408).

The protocol is uvicorn's httptools one (llhttp, in C): h11, in pure Python, took about a
third of the event loop's time per token (issue 39's profile). The h11 protocol with the same
deadline stays for `protocol_with_head_timeout(..., fast=False)`. Its responses leave in one
write per turn of the event loop (`OneWrite`): uvicorn writes a response's head and body
separately, which on loopback was two sends (two TCP segments) for every token.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol  # uvicorn[standard] brings httptools

HEAD_TIMEOUT = 10.0  # seconds for a request head to arrive
MAX_HEAD = 16 * 1024  # bytes of one request head
MAX_READ_SLACK = 16 * 1024  # the token endpoint's largest body, which may arrive with the head


class _HeadDeadline:
    """The deadline for each request head, shared by both protocols below."""

    head_timeout = HEAD_TIMEOUT
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    _head_deadline: asyncio.TimerHandle | None

    def _head_waiting(self) -> bool:
        """Whether no complete request head arrived since the deadline was armed."""
        raise NotImplementedError

    def _arm_head_deadline(self) -> None:
        self._cancel_head_deadline()
        self._head_deadline = self.loop.call_later(self.head_timeout, self._head_late)

    def _cancel_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_late(self) -> None:
        self._head_deadline = None
        if self._head_waiting() and not self.transport.is_closing():
            self.transport.close()


class OneWrite(asyncio.Transport):
    """A connection's transport as the HTTP protocol and its responses see it: what they write in
    one turn of the event loop goes out in one write at the end of that turn (a response's head
    and body: one send instead of two), and at once when the connection is closed. Nothing is
    held longer than the turn: a `100 Continue` or a streamed part leaves before the loop waits."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.raw = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(bytes(data))

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        for data in list_of_data:
            self.write(data)

    def flush(self) -> None:
        """Hand what is held to the transport, in order."""
        if self._held:
            held, self._held = self._held, []
            self.raw.write(held[0] if len(held) == 1 else b"".join(held))

    def close(self) -> None:
        self.flush()
        self.raw.close()

    def abort(self) -> None:
        self._held = []
        self.raw.abort()

    def is_closing(self) -> bool:
        return self.raw.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.raw.get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.flush()
        self.raw.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self.raw.get_protocol()

    def pause_reading(self) -> None:
        self.raw.pause_reading()

    def resume_reading(self) -> None:
        self.raw.resume_reading()

    def is_reading(self) -> bool:
        return self.raw.is_reading()

    def get_write_buffer_size(self) -> int:
        return self.raw.get_write_buffer_size() + sum(len(data) for data in self._held)


class HeadDeadlineProtocol(_HeadDeadline, H11Protocol):
    """H11Protocol that closes a connection whose request head is late (`head_timeout`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline = None

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

    def _head_waiting(self) -> bool:
        # IDLE: no complete request head since the deadline was armed (one being served is not IDLE)
        return self.conn.their_state is h11.IDLE


class HttpToolsHeadDeadlineProtocol(_HeadDeadline, HttpToolsProtocol):
    """HttpToolsProtocol with the same head deadline, and a request head capped at `MAX_HEAD`
    bytes (llhttp itself has no cap; the bytes are counted until the head is complete, so a
    body that shares the head's reads counts too: `MAX_READ_SLACK`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline = None
        self._in_head = True  # waiting for (the rest of) a request head
        self._head_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = OneWrite(transport, self.loop)  # the responses' writes; reading stays on `flow`
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD + MAX_READ_SLACK:
                self._cancel_head_deadline()
                self.send_400_response("Invalid HTTP request received.")
                return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._cancel_head_deadline()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        self._in_head, self._head_bytes = True, 0
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_deadline()  # the next request head gets the same time, not more

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_deadline()
        super().connection_lost(exc)

    def _head_waiting(self) -> bool:
        return self._in_head


def protocol_with_head_timeout(seconds: float, fast: bool = True) -> type[Any]:
    """The protocol class with its own deadline (uvicorn takes a class, not an instance): the
    httptools one when `fast`, else the h11 one."""
    base: type[Any] = HttpToolsHeadDeadlineProtocol if fast else HeadDeadlineProtocol
    return type(base.__name__, (base,), {"head_timeout": float(seconds)})


def run(app: Any, *, host: str, port: int, limit_concurrency: int, keep_alive: int,
        head_timeout: float = HEAD_TIMEOUT, sock: socket.socket | None = None) -> None:
    """Serve `app` until stopped, with every limit signward sets (DESIGN.md, README's limits);
    on `sock` (a listening socket shared with other workers) instead of host and port."""
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                            http=protocol_with_head_timeout(head_timeout), limit_concurrency=limit_concurrency,
                            timeout_keep_alive=keep_alive, h11_max_incomplete_event_size=MAX_HEAD,
                            proxy_headers=False)  # the issuer never reads a peer's address: no X-Forwarded-* pass
    uvicorn.Server(config).run(sockets=[sock] if sock is not None else None)


__all__ = ["HEAD_TIMEOUT", "MAX_HEAD", "HeadDeadlineProtocol", "HttpToolsHeadDeadlineProtocol", "OneWrite",
           "protocol_with_head_timeout", "run"]
