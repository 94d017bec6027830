"""Envoy ext_authz over gRPC on the guard's event loop: HTTP/2 framed by nghttp2 (the compiled
`_h2grpc` session, one per connection), each Check decided where the HTTP checks are decided.

grpcio spends about 300 us of Python per unary call on its completion queues and thread
hand-offs; here a call costs the protobuf parse, the decision and one nghttp2 pass (bench/guard.py
compares the two). What is read and answered is the same as `grpc_service.GrpcGuard` (grpcio),
which stays as the reference and the fallback where the extension could not be built, or when
SIGNWARD_GUARD_GRPCIO=1: the same `attempt_of` and `response_of`, tested to give the same bytes.

Bounds: concurrent streams per connection (HTTP/2 SETTINGS), header bytes and message bytes per
call, message bytes held per connection (a stream over any is reset; at most 1,024 x 2 MiB in
all), buffered output (reading pauses while the peer does not read). Connection slots
(`SlotLimits`), so that idle or hostile peers cannot lock Envoy out:

- a connection that has not sent the client preface and its SETTINGS within
  `handshake_seconds` (5 s) is closed;
- a connection is idle from its last complete call (a Check that ended and was answered), or
  from its start if it made none, not from its last byte: one idle for `idle_seconds` (300 s)
  is sent GOAWAY and closed, whatever it trickles; Envoy opens another when it needs one;
- at most `connections` (1,024) in all and `per_peer` (128) per peer address; a new connection
  over either bound closes the connection that yields least (in that peer's, or in all): first
  the oldest that never completed a call, then the one whose last call is oldest; a connection
  with a call in a thread is never closed for a newcomer. Only when every slot holds such a
  call is the newcomer refused. An attacker's connections therefore displace each other, and
  Envoy's, which complete calls, are the last to go; a displaced Envoy connection is reopened
  on Envoy's next check.

A call on another method answers UNIMPLEMENTED; a body that is not one
uncompressed gRPC message, or not a CheckRequest, answers INVALID_ARGUMENT; a decision that fails
answers INTERNAL. Envoy denies on every error status (`failure_mode_allow: false`), so no error
path lets a request through. Only a check that may wait for a key refresh goes to a thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from google.protobuf.message import DecodeError

from ..errors import ConfigError
from .decision import Decision
from .grpc_service import MAX_MESSAGE, attempt_of, response_of
from .messages import SERVICE, CheckRequest
from .service import GuardService

_built: ModuleType | None
try:
    from . import _h2grpc as _built
except ImportError:  # no compiler or libnghttp2 at install: grpcio serves gRPC
    _built = None

log = logging.getLogger("signward.guard")
AVAILABLE = _built is not None
GRPCIO_ENV = "SIGNWARD_GUARD_GRPCIO"
CHECK_PATH = f"/{SERVICE}/Check".encode()
MAX_CONNECTIONS = 1024
MAX_STREAMS = 256  # concurrent calls per connection
MAX_HEADERS = 16 * 1024  # header bytes of one call (RFC 7540's accounting: name + value + 32 each)
MAX_BUFFERED = 2 * 1024 * 1024  # request bytes held per connection (a CheckRequest is a few KiB)
MAX_PER_PEER = 128  # connections from one peer address
HANDSHAKE_SECONDS = 5.0  # to send the client preface and SETTINGS
IDLE_SECONDS = 300.0  # a connection that completed no call for this long is sent GOAWAY and closed
WARN_EVERY = 60.0  # seconds between two warnings that connections were displaced or refused
OK, INVALID_ARGUMENT, UNIMPLEMENTED, INTERNAL = 0, 3, 12, 13


@dataclass(frozen=True)
class SlotLimits:
    """How the nghttp2 server shares its connection slots (the module docstring says how)."""

    connections: int = MAX_CONNECTIONS
    per_peer: int = MAX_PER_PEER
    handshake_seconds: float = HANDSHAKE_SECONDS
    idle_seconds: float = IDLE_SECONDS

    def __post_init__(self) -> None:
        if not 1 <= self.connections <= 65536:
            raise ConfigError("gRPC connections must be between 1 and 65536")
        if not 1 <= self.per_peer <= self.connections:
            raise ConfigError("gRPC connections per peer must be between 1 and the connections")
        if not 0.05 <= self.handshake_seconds <= 300:
            raise ConfigError("the gRPC handshake time must be between 0.05 and 300 seconds")
        if not 0.1 <= self.idle_seconds <= 86400:
            raise ConfigError("the gRPC idle time must be between 0.1 and 86400 seconds")


def compiled() -> bool:
    """Whether this process serves gRPC on nghttp2 (else grpcio)."""
    return _built is not None and os.environ.get(GRPCIO_ENV, "") in ("", "0")


def unframe(body: bytes) -> bytes | None:
    """The one uncompressed gRPC message of a request body, or None (RFC-less gRPC framing:
    a compressed-flag byte, a 4-byte big-endian length, the message)."""
    if len(body) < 5 or body[0] != 0 or int.from_bytes(body[1:5], "big") != len(body) - 5:
        return None
    return body[5:]


class _Connection(asyncio.Protocol):
    def __init__(self, server: H2GrpcGuard) -> None:
        assert _built is not None
        self.server = server
        self.session = _built.Session(max_body=MAX_MESSAGE + 5, max_headers=MAX_HEADERS, max_streams=MAX_STREAMS,
                                      max_buffered=MAX_BUFFERED)
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.settled = False  # the preface and SETTINGS arrived
        self.called = False  # a call completed (a Check answered) on this connection
        self.last_call = server.clock()  # when the last call completed, or the connection opened
        self.pending = 0  # calls decided in a thread, not answered yet
        self.deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        peer = transport.get_extra_info("peername")
        self.peer = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        if not self.server.admit(self):
            transport.abort()
            return
        self.transport = transport
        self.deadline = asyncio.get_running_loop().call_later(self.server.limits.handshake_seconds, self.handshake_late)
        self.flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.forget(self)
        if self.deadline is not None:
            self.deadline.cancel()
        self.transport = None

    def handshake_late(self) -> None:
        if not self.settled and self.transport is not None:
            log.info("gRPC connection from %s closed: no preface and SETTINGS within %.1f s", self.peer,
                     self.server.limits.handshake_seconds)
            self.server.closed("handshake")
            self.drop()

    def drop(self) -> None:
        """Close now and free the slot: GOAWAY after a handshake, a reset before one, and never
        wait on a peer that does not read."""
        self.server.forget(self)
        transport = self.transport
        if transport is None:
            return
        if self.settled:
            self.goaway()
        if not self.settled or transport.get_write_buffer_size():
            transport.abort()

    def pause_writing(self) -> None:  # the peer is not reading: stop reading its calls
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None:
            self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        try:
            calls = self.session.feed(data)
        except ValueError as exc:  # a protocol error: GOAWAY queued, then close
            log.info("gRPC connection closed: %s", exc)
            self.flush(close=True)
            return
        if not self.settled and self.session.settled():
            self.settled = True
            if self.deadline is not None:
                self.deadline.cancel()
        for stream_id, path, is_grpc, body in calls:
            self.call(stream_id, path, is_grpc, body)
        self.flush()

    def call(self, stream_id: int, path: bytes, is_grpc: bool, body: bytes) -> None:
        if not is_grpc:
            self.session.respond(stream_id, UNIMPLEMENTED, http_status=415)
            return
        if path != CHECK_PATH:
            self.session.respond(stream_id, UNIMPLEMENTED, grpc_message="unknown method")
            return
        message = unframe(body)
        try:
            request = CheckRequest.FromString(message) if message is not None else None
        except DecodeError:
            request = None
        if request is None:
            self.session.respond(stream_id, INVALID_ARGUMENT, grpc_message="not one CheckRequest")
            return
        service = self.server.service
        try:
            attempt = attempt_of(request)
            if service.may_wait(attempt):
                loop = asyncio.get_running_loop()
                later = self.server.executor.submit(service.decide, attempt)
                self.pending += 1
                later.add_done_callback(lambda done: loop.call_soon_threadsafe(self.answer_later, stream_id, done))
                return
            decision = service.decide(attempt)
        except Exception:
            self.failed(stream_id)
            return
        self.answer(stream_id, decision)

    def answer(self, stream_id: int, decision: Decision) -> None:
        self.session.respond(stream_id, OK, response_of(decision).SerializeToString())
        self.called, self.last_call = True, self.server.clock()  # a complete call: not idle

    def answer_later(self, stream_id: int, done: Future[Decision]) -> None:
        self.pending -= 1
        if self.transport is None:
            return
        try:
            self.answer(stream_id, done.result())
        except Exception:
            self.failed(stream_id)
        self.flush()

    def failed(self, stream_id: int) -> None:
        """A check that raised: INTERNAL, on which Envoy denies (fail closed)."""
        log.exception("gRPC check failed")
        self.session.respond(stream_id, INTERNAL, grpc_message="check failed")

    def flush(self, close: bool = False) -> None:
        if self.transport is None:
            return
        try:
            out = self.session.output()
        except ValueError as exc:
            log.info("gRPC connection closed: %s", exc)
            out, close = b"", True
        if out:
            self.transport.write(out)
        if close or self.session.done():
            self.transport.close()

    def goaway(self) -> None:
        self.session.terminate()
        self.flush(close=True)


class H2GrpcGuard:
    """The ext_authz gRPC server on the running event loop; `start` binds, `stop` says GOAWAY."""

    def __init__(self, service: GuardService, host: str, port: int, workers: int = 8,
                 slots: SlotLimits | None = None, sock: socket.socket | None = None) -> None:
        if _built is None:
            raise RuntimeError("signward.guard._h2grpc was not built (libnghttp2-dev at install)")
        self.service = service
        self.host, self.port = host, port
        self.limits = slots or SlotLimits()
        self.sock = sock  # a socket bound already (`signward guard` binds before it says it runs)
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="signward-guard-grpc")
        self.connections: set[_Connection] = set()
        self.peers: dict[str, set[_Connection]] = {}
        self.displaced = self.refused = 0  # counted since the last warning
        self.warned = -WARN_EVERY
        self.server: asyncio.Server | None = None
        self.clock = time.monotonic
        self._sweeper: asyncio.TimerHandle | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        address = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        try:
            if self.sock is not None:
                self.server = await loop.create_server(lambda: _Connection(self), sock=self.sock, backlog=1024)
            else:
                self.server = await loop.create_server(lambda: _Connection(self), self.host, self.port, backlog=1024)
        except OSError:
            self.executor.shutdown(wait=False)
            raise OSError(f"cannot listen for gRPC on {address} (in use, or not an address of this host)") from None
        self.port = int(self.server.sockets[0].getsockname()[1])
        self._sweep()

    def admit(self, new: _Connection) -> bool:
        """Give `new` a slot, displacing the connection that yields least where a bound is
        reached (its peer's first, then all); False when every candidate has a call in a thread."""
        same = self.peers.get(new.peer)
        for pool, limit in ((same, self.limits.per_peer), (self.connections, self.limits.connections)):
            if pool is not None and len(pool) >= limit:
                victim = _least(pool)
                if victim is None:
                    self.refused += 1
                    self.closed("refused")
                    self._warn()
                    return False
                victim.drop()
                self.displaced += 1
                self.closed("displaced")
        self._warn()
        self.connections.add(new)
        self.peers.setdefault(new.peer, set()).add(new)
        return True

    def forget(self, connection: _Connection) -> None:
        self.connections.discard(connection)
        same = self.peers.get(connection.peer)
        if same is not None:
            same.discard(connection)
            if not same:
                del self.peers[connection.peer]

    def closed(self, why: str) -> None:
        self.service.metrics.grpc_closed.labels(why).inc()

    def _warn(self) -> None:
        if (self.displaced or self.refused) and self.clock() - self.warned >= WARN_EVERY:
            log.warning("gRPC slots: %d connection(s) displaced, %d refused (bounds: %d in all, %d per peer)",
                        self.displaced, self.refused, self.limits.connections, self.limits.per_peer)
            self.displaced = self.refused = 0
            self.warned = self.clock()

    def _sweep(self) -> None:
        """Close the connections idle (no complete call) for idle_seconds; again in a quarter of that."""
        now, idle = self.clock(), self.limits.idle_seconds
        for connection in [c for c in self.connections if not c.pending and now - c.last_call > idle]:
            log.info("gRPC connection from %s closed: no complete call for %.0f s", connection.peer,
                     now - connection.last_call)
            self.closed("idle")
            connection.drop()
        self._sweeper = asyncio.get_running_loop().call_later(idle / 4, self._sweep)

    async def stop(self, grace: float = 2.0) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self.server is not None:
            self.server.close()
        for connection in list(self.connections):
            connection.goaway()
        self.executor.shutdown(wait=False, cancel_futures=True)


def _least(pool: set[_Connection]) -> _Connection | None:
    """The connection to displace: never completed a call before completed one, then the
    oldest last call (or start); none with a call in a thread."""
    candidates = [c for c in pool if not c.pending]
    return min(candidates, key=lambda c: (c.called, c.last_call)) if candidates else None


def grpc_guard(service: GuardService, host: str, port: int, slots: SlotLimits | None = None) -> Any:
    """The gRPC server this process uses: nghttp2 when built (and not turned off), else grpcio
    (whose own transport has none of the slot rules of `SlotLimits`)."""
    if compiled():
        return H2GrpcGuard(service, host, port, slots=slots)
    from .grpc_service import GrpcGuard

    return GrpcGuard(service, host, port)


__all__ = ["AVAILABLE", "GRPCIO_ENV", "H2GrpcGuard", "SlotLimits", "compiled", "grpc_guard", "unframe"]
