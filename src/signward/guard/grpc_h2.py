"""Envoy ext_authz over gRPC on the guard's event loop: HTTP/2 framed by nghttp2 (the compiled
`_h2grpc` session, one per connection), each Check decided where the HTTP checks are decided.

grpcio spends about 300 us of Python per unary call on its completion queues and thread
hand-offs; here a call costs the protobuf parse, the decision and one nghttp2 pass (bench/guard.py
compares the two). What is read and answered is the same as `grpc_service.GrpcGuard` (grpcio),
which stays as the reference and the fallback where the extension could not be built, or when
SIGNWARD_GUARD_GRPCIO=1: the same `attempt_of` and `response_of`, tested to give the same bytes.

Bounds: connections, concurrent streams per connection (HTTP/2 SETTINGS), header bytes and
message bytes per call, message bytes held per connection (a stream over any is reset; at most
1,024 x 2 MiB in all), buffered output (reading pauses while the peer does not read), time (a
connection silent for IDLE_SECONDS is closed; Envoy opens another when it needs one). A call on another method answers UNIMPLEMENTED; a body that is not one
uncompressed gRPC message, or not a CheckRequest, answers INVALID_ARGUMENT; a decision that fails
answers INTERNAL. Envoy denies on every error status (`failure_mode_allow: false`), so no error
path lets a request through. Only a check that may wait for a key refresh goes to a thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from types import ModuleType
from typing import Any

from google.protobuf.message import DecodeError

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
IDLE_SECONDS = 300.0  # a connection that sent nothing for this long is sent GOAWAY and closed
OK, INVALID_ARGUMENT, UNIMPLEMENTED, INTERNAL = 0, 3, 12, 13


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
        self.heard = server.clock()  # when the peer last sent anything

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if len(self.server.connections) >= MAX_CONNECTIONS:
            log.warning("gRPC: %d connections open, refusing another", MAX_CONNECTIONS)
            transport.close()
            return
        self.server.connections.add(self)
        self.flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self.transport = None

    def pause_writing(self) -> None:  # the peer is not reading: stop reading its calls
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None:
            self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        self.heard = self.server.clock()
        try:
            calls = self.session.feed(data)
        except ValueError as exc:  # a protocol error: GOAWAY queued, then close
            log.info("gRPC connection closed: %s", exc)
            self.flush(close=True)
            return
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
                later.add_done_callback(lambda done: loop.call_soon_threadsafe(self.answer_later, stream_id, done))
                return
            decision = service.decide(attempt)
        except Exception:
            self.failed(stream_id)
            return
        self.answer(stream_id, decision)

    def answer(self, stream_id: int, decision: Decision) -> None:
        self.session.respond(stream_id, OK, response_of(decision).SerializeToString())

    def answer_later(self, stream_id: int, done: Future[Decision]) -> None:
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

    def __init__(self, service: GuardService, host: str, port: int, workers: int = 8) -> None:
        if _built is None:
            raise RuntimeError("signward.guard._h2grpc was not built (libnghttp2-dev at install)")
        self.service = service
        self.host, self.port = host, port
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="signward-guard-grpc")
        self.connections: set[_Connection] = set()
        self.server: asyncio.Server | None = None
        self.clock = time.monotonic
        self._sweeper: asyncio.TimerHandle | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        address = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        try:
            self.server = await loop.create_server(lambda: _Connection(self), self.host, self.port, backlog=1024)
        except OSError:
            self.executor.shutdown(wait=False)
            raise OSError(f"cannot listen for gRPC on {address} (in use, or not an address of this host)") from None
        self.port = int(self.server.sockets[0].getsockname()[1])
        self._sweep()

    def _sweep(self) -> None:
        """Close the connections silent for IDLE_SECONDS; again in a quarter of that."""
        now = self.clock()
        for connection in [c for c in self.connections if now - c.heard > IDLE_SECONDS]:
            log.info("gRPC connection closed: silent for %.0f s", now - connection.heard)
            connection.goaway()
        self._sweeper = asyncio.get_running_loop().call_later(IDLE_SECONDS / 4, self._sweep)

    async def stop(self, grace: float = 2.0) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self.server is not None:
            self.server.close()
        for connection in list(self.connections):
            connection.goaway()
        self.executor.shutdown(wait=False, cancel_futures=True)


def grpc_guard(service: GuardService, host: str, port: int) -> Any:
    """The gRPC server this process uses: nghttp2 when built (and not turned off), else grpcio."""
    if compiled():
        return H2GrpcGuard(service, host, port)
    from .grpc_service import GrpcGuard

    return GrpcGuard(service, host, port)


__all__ = ["AVAILABLE", "GRPCIO_ENV", "H2GrpcGuard", "compiled", "grpc_guard", "unframe"]
