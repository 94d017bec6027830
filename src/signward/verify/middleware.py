"""ASGI middleware: routes under the protected prefixes need a valid bearer token.

A caller gets a uniform 401 (`invalid_token`, RFC 6750); the precise reason goes to the log
(and to the alert hook for alert reasons). Verified claims are put on the request as
`request.state.claims` (and `scope["signward.claims"]`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio.to_thread

from .validator import Validator

log = logging.getLogger("signward.verify.middleware")
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BearerTokenMiddleware:
    """Put a `Validator` in front of an ASGI app: requests under `protect` need a valid bearer token.

        app = BearerTokenMiddleware(app, Validator(trust={ISSUER: JWKS_URL}, audience="mail"),
                                    protect=("/mail",))

    A valid token's claims reach the app as `request.state.claims` (a read-only mapping made
    only by the validator); any other request gets 401 with a `WWW-Authenticate: Bearer`
    challenge: `error="invalid_token"` for a token that was refused (the precise reason goes to
    the log), no error code for a request without one (RFC 6750 section 3.1)."""

    def __init__(self, app: ASGIApp, validator: Validator, protect: tuple[str, ...] = ("/",),
                 realm: str = "signward") -> None:
        self.app = app
        self.validator = validator
        self.protect = protect
        self.realm = realm

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not any(scope["path"].startswith(p) for p in self.protect):
            await self.app(scope, receive, send)
            return
        token = None
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                scheme, _, rest = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer" and rest.strip():
                    token = rest.strip()
                break
        if token is None:
            await self._deny(send, None)
            return
        verdict = await anyio.to_thread.run_sync(self.validator.verify, token)
        if not verdict.valid:
            log.warning("bearer token rejected on %s: %s (kid %s, issuer %s)", scope["path"],
                        verdict.reason.value if verdict.reason else "?", verdict.kid, verdict.issuer)
            await self._deny(send, "invalid_token")
            return
        scope.setdefault("state", {})["claims"] = verdict.claims
        scope["signward.claims"] = verdict.claims
        await self.app(scope, receive, send)

    async def _deny(self, send: Send, error: str | None) -> None:
        challenge = f'Bearer realm="{self.realm}"' + (f', error="{error}"' if error else "")
        body = json.dumps({"error": error} if error else {}).encode()
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"www-authenticate", challenge.encode()),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
