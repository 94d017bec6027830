"""Run one guard process: the HTTP endpoints (uvicorn) and the gRPC service in one event loop.

The guard's ports are for the proxies in front of the relying parties, not for clients: bind
them to loopback or a private network (`--host`). Both are bound (`listen`) before anything
says the guard runs, so a busy port is a usage error naming it. A SIGTERM or SIGINT stops both
servers, then the refreshers, then writes what the audit queue still holds.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import socket
from dataclasses import dataclass

import uvicorn

from ..errors import UsageError
from .grpc_h2 import H2GrpcGuard, SlotLimits, compiled
from .grpc_h2 import grpc_guard as make_grpc_guard
from .http import guard_app
from .service import GuardService

log = logging.getLogger("signward.guard")
LIMIT_CONCURRENCY = 4096
HEAD_LIMIT = 16 * 1024
BACKLOG = 1024


@dataclass
class Listening:
    """The guard's bound sockets: HTTP always, gRPC when asked for."""

    http: socket.socket
    grpc: socket.socket | None = None

    @property
    def http_port(self) -> int:
        return int(self.http.getsockname()[1])

    @property
    def grpc_port(self) -> int | None:
        return int(self.grpc.getsockname()[1]) if self.grpc is not None else None

    def close(self) -> None:
        for sock in (self.http, self.grpc):
            if sock is not None:
                sock.close()


def _bind(host: str, port: int, what: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        raise UsageError(f"cannot listen for {what} on {address}: {exc.strerror or exc}") from None
    sock.setblocking(False)
    return sock


def listen(host: str, port: int, grpc_port: int | None) -> Listening:
    """Bind the HTTP port and the gRPC port (if any); UsageError naming the one that is busy or
    not an address of this host."""
    http = _bind(host, port, "HTTP")
    try:
        return Listening(http, _bind(host, grpc_port, "gRPC") if grpc_port is not None else None)
    except UsageError:
        http.close()
        raise


async def serve(service: GuardService, *, host: str, port: int, grpc_port: int | None,
                listening: Listening | None = None, slots: SlotLimits | None = None) -> None:
    """Serve until a signal stops uvicorn; the gRPC server stops with it."""
    listening = listening or listen(host, port, grpc_port)
    config = uvicorn.Config(guard_app(service), host=host, port=port, log_level="warning", access_log=False,
                            lifespan="off", limit_concurrency=LIMIT_CONCURRENCY, timeout_keep_alive=30,
                            h11_max_incomplete_event_size=HEAD_LIMIT)
    server = uvicorn.Server(config)
    grpc_guard = None
    if listening.grpc is not None:
        grpc_port = listening.grpc_port or 0
        if not compiled():  # grpcio binds its own port (as it is constructed): free ours just before
            listening.grpc.close()
        grpc_guard = make_grpc_guard(service, host, grpc_port, slots=slots)
        if isinstance(grpc_guard, H2GrpcGuard):
            grpc_guard.sock = listening.grpc
        await grpc_guard.start()
        log.info("ext_authz gRPC on %s:%s (%s)", host, grpc_guard.port, type(grpc_guard).__name__)
    try:
        await server.serve(sockets=[listening.http])
    finally:
        if grpc_guard is not None:
            await grpc_guard.stop()


def enough_files(slots: SlotLimits | None) -> None:
    """Raise this process's open-file limit (soft, up to the hard one) to hold every HTTP and gRPC
    connection: at the limit asyncio stops accepting for a second, which would lock Envoy out."""
    needed = LIMIT_CONCURRENCY + (slots or SlotLimits()).connections + 256
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        if target < needed:
            log.warning("open-file limit %d is under the %d the guard's connections need", target, needed)


def run(service: GuardService, *, host: str, port: int, grpc_port: int | None,
        listening: Listening | None = None, slots: SlotLimits | None = None) -> None:
    """Start the service's key sets, serve, and close everything on the way out."""
    listening = listening or listen(host, port, grpc_port)
    enough_files(slots)
    service.start()
    try:
        asyncio.run(serve(service, host=host, port=port, grpc_port=grpc_port, listening=listening, slots=slots))
    finally:
        service.close()
        listening.close()


__all__ = ["Listening", "listen", "run", "serve"]
