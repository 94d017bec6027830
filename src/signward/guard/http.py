"""The guard's HTTP face: one check endpoint per proxy, `/healthz` and `/metrics`.

Each proxy says where the original request went in its own way, and each endpoint reads only
its proxy's way, so a header a client could send through one proxy is never read for another:

- `/ext_authz/<original path>`: Envoy's HTTP ext_authz (`path_prefix: /ext_authz`): the path
  (raw, as sent) follows the prefix, the host is the Host header Envoy copies.
- `/auth_request`: nginx `auth_request`: `X-Original-URI`, `X-Original-Method` and
  `X-Original-Host`, which the documented configuration sets with `proxy_set_header` (replacing
  anything the client sent). Missing ones deny.
- `/forward_auth`: Traefik ForwardAuth: `X-Forwarded-Uri`, `-Method`, `-Host`, which Traefik sets
  itself unless `trustForwardHeader` is on (do not turn it on).

2xx allows (claim headers and `x-signward-path`, the canonical path decided on, in the answer);
401/403 deny, with the same body for every reason.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .decision import Attempt, Decision
from .service import GuardService

ENVOY_PREFIX = "/ext_authz"
Headers = dict[str, list[str]]


def _one(headers: Headers, name: str) -> str:
    values = headers.get(name, ())
    return values[0] if len(values) == 1 else ""  # missing or doubled: nothing


def envoy_target(request: Request) -> str:
    """Envoy HTTP ext_authz: the request target after `path_prefix`, raw as Envoy sent it (Envoy
    normalised it first, and sends the upstream the same), with its query."""
    raw = request.scope.get("raw_path") or request.scope["path"].encode()
    path = raw.decode("latin-1")[len(ENVOY_PREFIX):] or "/"
    query = request.scope.get("query_string", b"").decode("latin-1")
    return path + (f"?{query}" if query else "")


def nginx_original(headers: Headers) -> tuple[str, str, str]:
    """nginx auth_request: method, target and host from `X-Original-Method`, `X-Original-URI`
    (`$request_uri`: raw, what `proxy_pass` without a URI sends the upstream) and `X-Original-Host`."""
    return _one(headers, "x-original-method"), _one(headers, "x-original-uri"), _one(headers, "x-original-host")


def traefik_original(headers: Headers) -> tuple[str, str, str]:
    """Traefik ForwardAuth: method, target and host from `X-Forwarded-Method`, `X-Forwarded-Uri`
    (the request URI after Traefik's path sanitising, as the upstream gets it) and `X-Forwarded-Host`."""
    return _one(headers, "x-forwarded-method"), _one(headers, "x-forwarded-uri"), _one(headers, "x-forwarded-host")


ORIGINAL: dict[str, Callable[[Headers], tuple[str, str, str]]] = {"nginx": nginx_original,
                                                                  "traefik": traefik_original}


def _headers(request: Request) -> Headers:
    headers: Headers = {}
    for name, value in request.headers.raw:
        headers.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return headers


def _answer(decision: Decision) -> Response:
    if decision.allowed:
        headers = dict(decision.upstream)
        if decision.remove:  # Envoy's HTTP service removes these from the upstream request
            headers["x-envoy-auth-headers-to-remove"] = ", ".join(decision.remove)
        return Response(status_code=200, headers=headers)
    error = "insufficient_scope" if decision.status == 403 else "invalid_token"
    return Response(json.dumps({"error": error}), status_code=decision.status, media_type="application/json",
                    headers={"www-authenticate": decision.challenge, "cache-control": "no-store"})


def guard_app(service: GuardService) -> Starlette:
    """The Starlette app serving the HTTP check endpoints, health and metrics."""

    async def decide(attempt: Attempt) -> Response:
        # decided on the event loop: no I/O, and a thread hop per check cost 60% of the
        # throughput (bench/guard.py); only a check that may wait for a key refresh goes to a thread
        if service.may_wait(attempt):
            return _answer(await anyio.to_thread.run_sync(service.decide, attempt))
        return _answer(service.decide(attempt))

    async def envoy(request: Request) -> Response:
        headers = _headers(request)
        return await decide(Attempt(method=request.method, host=(headers.get("host") or [""])[0],
                                    path=envoy_target(request), headers=headers, via="envoy-http"))

    def proxied(via: str) -> Callable[[Request], Awaitable[Response]]:
        original = ORIGINAL[via]

        async def check(request: Request) -> Response:
            headers = _headers(request)
            method, target, host = original(headers)
            # a missing (or doubled) original-request header leaves the path empty: denied
            return await decide(Attempt(method=method, host=host, path=target if method and host else "",
                                        headers=headers, via=via))
        return check

    async def healthz(request: Request) -> Response:
        states = service.states()
        body = {"issuers": {s.issuer: {"usable": s.usable, "age": s.age, "keys": s.keys} for s in states}}
        return JSONResponse(body, status_code=200 if all(s.usable for s in states) else 503)

    async def metrics(request: Request) -> Response:
        return Response(service.metrics.render(), media_type="text/plain; version=0.0.4")

    methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
    return Starlette(routes=[
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/auth_request", proxied("nginx"), methods=methods),
        Route("/forward_auth", proxied("traefik"), methods=methods),
        Route(ENVOY_PREFIX, envoy, methods=methods),
        Route(ENVOY_PREFIX + "/{rest:path}", envoy, methods=methods),
    ])
