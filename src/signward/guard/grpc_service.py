"""Envoy ext_authz over gRPC: what a Check reads and answers (`attempt_of`, `response_of`), and
the grpcio server (`GrpcGuard`, handlers in a thread pool) that is the reference for the
nghttp2 transport in `grpc_h2.py` and serves gRPC where that extension was not built.

Allowed: status OK and `ok_response` setting the claim headers (overwriting) and removing the
client's other `x-signward-*` headers. Denied: status UNAUTHENTICATED (PERMISSION_DENIED for a
missing scope) and `denied_response` with 401/403, `WWW-Authenticate` and the same body for
every reason. A request Envoy could not describe (no http attributes) is denied.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc

from .decision import Attempt, Decision
from .messages import (
    GRPC_OK,
    GRPC_PERMISSION_DENIED,
    GRPC_UNAUTHENTICATED,
    OVERWRITE_IF_EXISTS_OR_ADD,
    SERVICE,
    CheckRequest,
    CheckResponse,
)
from .service import GuardService

MAX_MESSAGE = 256 * 1024  # a CheckRequest carries headers (and a body only if Envoy is told to send one)


def attempt_of(request: Any) -> Attempt:
    """The Attempt an Envoy CheckRequest describes (headers from `headers` or raw `header_map`)."""
    http = request.attributes.request.http
    headers: dict[str, list[str]] = {}
    for entry in http.headers:
        headers.setdefault(entry.key.lower(), []).append(entry.value)
    for value in http.header_map.headers:
        text = value.value or value.raw_value.decode("latin-1")
        headers.setdefault(value.key.lower(), []).append(text)
    return Attempt(method=http.method, host=http.host, path=http.path, headers=headers, via="grpc")


def response_of(decision: Decision) -> Any:
    response = CheckResponse()
    if decision.allowed:
        response.status.code = GRPC_OK
        for name, value in decision.upstream.items():
            option = response.ok_response.headers.add()
            option.header.key = name
            option.header.value = value
            option.append_action = OVERWRITE_IF_EXISTS_OR_ADD
        response.ok_response.headers_to_remove.extend(decision.remove)
        return response
    forbidden = decision.status == 403
    response.status.code = GRPC_PERMISSION_DENIED if forbidden else GRPC_UNAUTHENTICATED
    denied = response.denied_response
    denied.status.code = decision.status
    for name, value in (("www-authenticate", decision.challenge), ("content-type", "application/json"),
                        ("cache-control", "no-store")):
        option = denied.headers.add()
        option.header.key = name
        option.header.value = value
        option.append_action = OVERWRITE_IF_EXISTS_OR_ADD
    denied.body = json.dumps({"error": "insufficient_scope" if forbidden else "invalid_token"})
    return response


class GrpcGuard:
    """The ext_authz gRPC server; `start` and `stop` from the event loop that serves HTTP."""

    def __init__(self, service: GuardService, host: str, port: int, workers: int = 8) -> None:
        self.service = service
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="signward-guard-grpc")
        self.server = grpc.server(self.executor, options=[("grpc.max_receive_message_length", MAX_MESSAGE),
                                                          ("grpc.max_send_message_length", MAX_MESSAGE)])
        handler = grpc.method_handlers_generic_handler(SERVICE, {"Check": grpc.unary_unary_rpc_method_handler(
            self.check, request_deserializer=CheckRequest.FromString,
            response_serializer=CheckResponse.SerializeToString)})
        self.server.add_generic_rpc_handlers((handler,))
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        try:
            self.port = self.server.add_insecure_port(address)
        except RuntimeError:  # grpcio's way of saying the bind failed
            self.port = 0
        if not self.port:
            self.executor.shutdown(wait=False)
            raise OSError(f"cannot listen for gRPC on {address} (in use, or not an address of this host)")

    def check(self, request: Any, context: grpc.ServicerContext) -> Any:
        return response_of(self.service.decide(attempt_of(request)))

    async def start(self) -> None:
        self.server.start()

    async def stop(self, grace: float = 2.0) -> None:
        self.server.stop(grace).wait()
        self.executor.shutdown(wait=False)


__all__ = ["GrpcGuard", "attempt_of", "response_of"]
