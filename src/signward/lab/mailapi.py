"""The lab's protected "mail" API: an ASGI app behind the validator middleware, served on loopback.

It trusts the consumer issuer for consumer mailboxes and the enterprise issuer for enterprise
tenants' mailboxes, and serves one enterprise tenant's messages. Its key documents are files
it syncs from the issuers' JWKS endpoints and never prunes (the 2023 mail service kept an
expired key too): refusing a key past its window is the validator's job. Its honey list holds
the canary keys' kids. With the issuance check it asks the token's issuer (RFC 7662
introspection) whether it issued each token that passed every local check. Every rejection
is written to the service's own audit log; alert reasons are recorded with severity `alert`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..audit import AuditLog
from ..clock import FixedClock
from ..store import store_for
from ..verify import BearerTokenMiddleware, FileSource, Validator
from .loopback import ThreadedServer

AUDIENCE = "mail"
ACTOR = "mail-api"


def sync_keys(path: Path, document: Mapping[str, Any]) -> int:
    """Merge the keys of a JWKS document into the key file at `path` (by kid); returns the count kept."""
    kept: dict[str, Any] = {}
    if path.exists():
        kept = {k["kid"]: k for k in json.loads(path.read_text())["keys"]}
    for jwk in document.get("keys", []):
        kept[jwk["kid"]] = jwk
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"keys": list(kept.values())}, indent=1))
    os.replace(temporary, path)
    return len(kept)


def create_mail_app(validator: Validator, consumer_issuer: str, enterprise_issuer: str, tenant: str,
                    messages: list[dict[str, str]]) -> BearerTokenMiddleware:
    """The mail API: /mail/tenants/{tid}/messages (enterprise) and /mail/consumers/{sub}/messages."""

    def claims(request: Request) -> Mapping[str, Any]:
        return request.scope["signward.claims"]  # type: ignore[no-any-return]

    async def tenant_messages(request: Request) -> JSONResponse:
        token = claims(request)
        if token.get("iss") != enterprise_issuer or token.get("tid") != request.path_params["tid"]:
            return JSONResponse({"error": "forbidden"}, status_code=403)
        if request.path_params["tid"] != tenant:
            return JSONResponse({"error": "no such tenant"}, status_code=404)
        return JSONResponse({"tenant": tenant, "messages": messages})

    async def consumer_messages(request: Request) -> JSONResponse:
        token = claims(request)
        if token.get("iss") != consumer_issuer or token.get("sub") != request.path_params["sub"]:
            return JSONResponse({"error": "forbidden"}, status_code=403)
        return JSONResponse({"mailbox": token["sub"], "messages": []})

    app = Starlette(routes=[Route("/mail/tenants/{tid}/messages", tenant_messages),
                            Route("/mail/consumers/{sub}/messages", consumer_messages)])
    return BearerTokenMiddleware(app, validator, protect=("/mail/",), realm="mail")


class MailService:
    """The mail API with its own clock, key files and audit log, served by uvicorn in a thread."""

    def __init__(self, directory: Path, consumer_issuer: str, enterprise_issuer: str, tenant: str,
                 messages: list[dict[str, str]], *, key_expiry: bool, issuer_binding: bool, now: float,
                 honey: list[str] | None = None, introspect: dict[str, tuple[str, str, str]] | None = None,
                 honey_keys: list[dict[str, Any]] | None = None) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.clock = FixedClock(now)
        self.audit = AuditLog(store_for("", directory / "mail-audit.db"), None, self.clock)
        self.key_files = {consumer_issuer: directory / "consumer-keys.json",
                          enterprise_issuer: directory / "enterprise-keys.json"}
        self.validator = Validator(
            trust={issuer: FileSource(issuer, path) for issuer, path in self.key_files.items()},
            audience=AUDIENCE, clock=self.clock, on_reject=self._record, honey=honey or (),
            honey_keys=honey_keys or (),
            insecure_ignore_key_validity=not key_expiry, insecure_shared_keyset=not issuer_binding,
            introspect=introspect)
        self.app = create_mail_app(self.validator, consumer_issuer, enterprise_issuer, tenant, messages)
        self.server: ThreadedServer | None = None
        self.base = ""

    def _record(self, event: dict[str, Any]) -> None:
        severity = "alert" if event["severity"] == "alert" else "warning"
        self.audit.append(ACTOR, "token.rejected", event.get("kid") or "", event, severity=severity)

    def sync(self, issuer: str, document: Mapping[str, Any]) -> None:
        sync_keys(self.key_files[issuer], document)

    def start(self) -> "MailService":
        self.server = ThreadedServer(self.app).start()
        self.base = self.server.base
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
        self.validator.close()
        self.audit.store.close()


__all__ = ["AUDIENCE", "MailService", "create_mail_app", "sync_keys"]
