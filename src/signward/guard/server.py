"""Run one guard process: the HTTP endpoints (uvicorn) and the gRPC service in one event loop.

The guard's ports are for the proxies in front of the relying parties, not for clients: bind
them to loopback or a private network (`--host`). A SIGTERM or SIGINT stops both servers, then
the refreshers, then writes what the audit queue still holds.
"""

from __future__ import annotations

import asyncio
import logging

import uvicorn

from .grpc_h2 import grpc_guard as make_grpc_guard
from .http import guard_app
from .service import GuardService

log = logging.getLogger("signward.guard")
LIMIT_CONCURRENCY = 4096
HEAD_LIMIT = 16 * 1024


async def serve(service: GuardService, *, host: str, port: int, grpc_port: int | None) -> None:
    """Serve until a signal stops uvicorn; the gRPC server stops with it."""
    config = uvicorn.Config(guard_app(service), host=host, port=port, log_level="warning", access_log=False,
                            lifespan="off", limit_concurrency=LIMIT_CONCURRENCY, timeout_keep_alive=30,
                            h11_max_incomplete_event_size=HEAD_LIMIT)
    server = uvicorn.Server(config)
    grpc_guard = make_grpc_guard(service, host, grpc_port) if grpc_port is not None else None
    if grpc_guard is not None:
        await grpc_guard.start()
        log.info("ext_authz gRPC on %s:%s (%s)", host, grpc_guard.port, type(grpc_guard).__name__)
    try:
        await server.serve()
    finally:
        if grpc_guard is not None:
            await grpc_guard.stop()


def run(service: GuardService, *, host: str, port: int, grpc_port: int | None) -> None:
    """Start the service's key sets, serve, and close everything on the way out."""
    service.start()
    try:
        asyncio.run(serve(service, host=host, port=port, grpc_port=grpc_port))
    finally:
        service.close()
