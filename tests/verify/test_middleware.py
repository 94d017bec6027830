"""The ASGI middleware in front of a small protected API, over real HTTP."""

from __future__ import annotations

import logging

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from signward.verify import BearerTokenMiddleware
from tests.helpers import ThreadedServer
from tests.verify.conftest import ENTERPRISE, World


def mail_api(world: World, rejected: list[dict[str, object]]) -> BearerTokenMiddleware:
    async def inbox(request: Request) -> Response:
        claims = request.state.claims
        return JSONResponse({"tenant": claims["tid"], "messages": ["hello"]})

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/mail/inbox", inbox), Route("/health", health)])
    return BearerTokenMiddleware(app, world.validator(on_reject=rejected.append), protect=("/mail",))


def test_protected_route(world: World, caplog: pytest.LogCaptureFixture) -> None:
    """Every denial is the same 401 to the client; the reason of each is the validator's own."""
    rejected: list[dict[str, object]] = []
    with ThreadedServer(mail_api(world, rejected)) as srv:
        assert httpx.get(srv.base + "/health").status_code == 200
        none = httpx.get(srv.base + "/mail/inbox")
        assert none.status_code == 401 and none.headers["www-authenticate"] == 'Bearer realm="signward"'
        assert none.json() == {}  # RFC 6750 3.1: no token, no error code
        ok = httpx.get(srv.base + "/mail/inbox",
                       headers={"Authorization": f"Bearer {world.enterprise.token(world.claims())}"})
        assert ok.status_code == 200 and ok.json()["tenant"] == "contoso"
        with caplog.at_level(logging.WARNING):
            forged = world.consumer.token(world.claims(ENTERPRISE))
            denied = httpx.get(srv.base + "/mail/inbox", headers={"Authorization": f"Bearer {forged}"})
        assert denied.status_code == 401 and denied.json() == {"error": "invalid_token"}  # uniform
        assert "key_not_bound_to_issuer" in caplog.text  # the precise reason is logged
        expired = world.old_enterprise.token(world.claims())
        assert httpx.get(srv.base + "/mail/inbox",
                         headers={"Authorization": f"Bearer {expired}"}).json() == {"error": "invalid_token"}
        garbage = httpx.get(srv.base + "/mail/inbox", headers={"Authorization": "Bearer not.a.token"})
        assert garbage.status_code == 401 and 'error="invalid_token"' in garbage.headers["www-authenticate"]
    assert [r["reason"] for r in rejected] == ["key_not_bound_to_issuer", "key_expired", "malformed"]
