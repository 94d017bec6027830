"""The guard's decision on one proxied request: allow (with claim headers) or deny, and why.

Every proxy protocol (Envoy gRPC and HTTP ext_authz, nginx auth_request, Traefik ForwardAuth)
turns its request into an `Attempt` and its answer from a `Decision`; the rules live here once:

1. Client headers named `x-signward-*` are always removed (a client cannot inject a claim). A
   header that is one when `_` is read as `-` (`X_Signward_Sub`) is denied (`spoofed_header`):
   WSGI, CGI and Rack upstreams map both spellings to `HTTP_X_SIGNWARD_SUB`, and not every proxy
   lets the guard remove it (Traefik's regex cannot). A request carrying `X-Original-URL` or
   `X-Rewrite-URL` is denied (`rewrite_header`): legacy Symfony, Zend and IIS upstreams route on
   them, not on the path the guard decided on.
2. The path has one canonical form (`paths.py`) or is denied with the reason it has none: a
   guard that matched a route on one reading of a path while the upstream served another
   would be bypassed. The canonical path goes upstream as `x-signward-path` on every allow. A
   path naming a route with an extension (`/admin.json` for `/admin`) is denied: Spring's suffix
   pattern serves it as that route, other upstreams do not.
3. The most specific route for host and canonical path decides; no route: deny.
4. One bearer token (a second Authorization header, or a list, is refused), checked by the
   strict validator with the route's audience (a valid verdict is remembered, re-checked on
   every use: `verdicts.py`), then the route's issuers and scopes.
5. The claims named in `claims_to_headers` go upstream, only when every value is printable ASCII.

A denial is 401 `invalid_token` whatever the reason (403 `insufficient_scope` for a valid token
without the route's scopes; 401 without an error code when no token was sent, RFC 6750 3.1).
The precise reason goes to the log, the metrics and, with a home, the audit log.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from ..errors import Refusal
from ..verify.reasons import Reason
from ..verify.validator import Validator
from .config import CLAIM_HEADERS, HEADER_PREFIX, PATH_HEADER, GuardConfig, Route
from .paths import PathReason, canonical_path
from .verdicts import VerdictCache

log = logging.getLogger("signward.guard")
MAX_TOKEN = 16 * 1024
HEADER_SAFE = re.compile(r"\A[\x20-\x7e]{0,4096}\Z")
REALM = "signward"
# headers some upstreams route on instead of the request line: the guard would decide on one path,
# the upstream serve another
REWRITE_HEADERS = frozenset({"x-original-url", "x-rewrite-url"})


class GuardReason(StrEnum):
    """The guard's own answers (its values are the metrics labels, log words and audit reasons).
    An Authorization header that is not one bearer token is the validator's `Reason.MALFORMED`,
    a bug in the guard its `Reason.INTERNAL_ERROR`."""

    OK = "ok"  # allowed
    SPOOFED_HEADER = "spoofed_header"  # an x-signward header spelt with `_`
    REWRITE_HEADER = "rewrite_header"  # X-Original-URL or X-Rewrite-URL
    NO_ORIGINAL_REQUEST = "no_original_request"  # the proxy did not say which path (misconfigured)
    HOST_MALFORMED = "host_malformed"
    PATH_ROUTE_EXTENSION = "path_route_extension"  # `/admin.json` for the route `/admin`
    NO_ROUTE = "no_route"
    NO_TOKEN = "no_token"
    ISSUER_NOT_ALLOWED_ON_ROUTE = "issuer_not_allowed_on_route"
    INSUFFICIENT_SCOPE = "insufficient_scope"
    CLAIM_NOT_HEADER_SAFE = "claim_not_header_safe"


DecisionReason = GuardReason | PathReason | Reason


@dataclass(frozen=True)
class Attempt:
    """One request as the proxy saw it; header names lower case, each with all its values."""

    method: str
    host: str
    path: str
    headers: Mapping[str, Sequence[str]]
    via: str  # the protocol: grpc, envoy-http, nginx, traefik


@dataclass(frozen=True)
class Decision:
    allowed: bool
    status: int  # 200, 401 or 403
    reason: DecisionReason  # OK, or why not: the guard's, the path's or the validator's (never sent to the client)
    upstream: dict[str, str] = field(default_factory=dict)  # claim headers to set on the request
    remove: tuple[str, ...] = ()  # client headers to remove (x-signward-* it sent)
    challenge: str = ""  # the WWW-Authenticate value of a denial
    route: str = ""
    kid: str | None = None
    issuer: str | None = None
    detail: str = ""  # the validator's detail (logged and audited, never sent)

    @property
    def refusal(self) -> Refusal | None:
        """Why it was denied (None for an allow)."""
        return None if self.allowed else Refusal(self.reason, self.detail)


def _challenge(error: str | None, scope: str = "") -> str:
    text = f'Bearer realm="{REALM}"'
    if error:
        text += f', error="{error}"'
    if scope:
        text += f', scope="{scope}"'
    return text


def host_of(value: str) -> str:
    """The host of a Host/:authority value, lower case, without the port and without one trailing
    dot (`mail.example.com.` is `mail.example.com`, as nginx and Envoy's strip_trailing_host_dot
    read it: it must get that host's routes, not the laxer `*` ones)."""
    value = value.strip().lower()
    if value.startswith("["):
        return value.split("]", 1)[0] + "]"
    host = value.rsplit(":", 1)[0] if value.count(":") == 1 else value
    return host[:-1] if host.endswith(".") else host


def host_refused(host: str) -> bool:
    """A host (as `host_of` returns it) that names no host unambiguously: still a trailing dot
    (`a.com..`), or an empty label (`a..com`); nginx refuses both with 400."""
    return host.endswith(".") or ".." in host


def spoofed_underscore(name: str) -> bool:
    """A header name with `_` that is an `x-signward-*` name when `_` is read as `-` (CGI's reading)."""
    return "_" in name and name.lower().replace("_", "-").startswith(HEADER_PREFIX)


def bearer_token(value: str) -> str | None:
    """The token of one `Authorization: Bearer` value; None for another scheme, an empty token or
    a list (a space or a comma inside)."""
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token or "," in token:
        return None
    return token


class Guard:
    """The decision for every protocol; `validator` holds the trusted key sets."""

    def __init__(self, config: GuardConfig, validator: Validator) -> None:
        self.config = config
        self.validator = validator
        self.verdicts = VerdictCache(validator, config.verdict_cache)

    def check(self, attempt: Attempt) -> Decision:
        try:
            return self._check(attempt)
        except Exception:  # a bug denies: never an allow, never a 500 the proxy might fail open on
            log.exception("guard error")
            return Decision(False, 401, Reason.INTERNAL_ERROR, remove=self._spoofed(attempt),
                            challenge=_challenge("invalid_token"))

    def _spoofed(self, attempt: Attempt) -> tuple[str, ...]:
        return tuple(sorted(n for n in attempt.headers if n.lower().startswith(HEADER_PREFIX)))

    def _deny(self, reason: DecisionReason, spoofed: tuple[str, ...], route: Route | None, status: int = 401,
              error: str | None = "invalid_token", scope: str = "", kid: str | None = None,
              issuer: str | None = None, detail: str = "") -> Decision:
        return Decision(False, status, reason, remove=spoofed, challenge=_challenge(error, scope),
                        route=route.name if route else "", kid=kid, issuer=issuer, detail=detail)

    def _check(self, attempt: Attempt) -> Decision:
        spoofed = self._spoofed(attempt)
        if any(spoofed_underscore(name) for name in attempt.headers):
            return self._deny(GuardReason.SPOOFED_HEADER, spoofed, None)
        if any(name.lower() in REWRITE_HEADERS for name in attempt.headers):
            return self._deny(GuardReason.REWRITE_HEADER, spoofed, None)
        if not attempt.path:
            return self._deny(GuardReason.NO_ORIGINAL_REQUEST, spoofed, None)  # the proxy did not say (misconfigured)
        path = canonical_path(attempt.path)
        if isinstance(path, PathReason):
            return self._deny(path, spoofed, None)
        host = host_of(attempt.host)
        if host_refused(host):
            return self._deny(GuardReason.HOST_MALFORMED, spoofed, None)
        if self.config.extension_of_route(host, path) is not None:
            return self._deny(GuardReason.PATH_ROUTE_EXTENSION, spoofed, None)
        route = self.config.route_for(host, path)
        if route is None:
            return self._deny(GuardReason.NO_ROUTE, spoofed, None)
        if route.anonymous:
            return Decision(True, 200, GuardReason.OK, upstream={PATH_HEADER: path}, route=route.name,
                            remove=tuple(n for n in spoofed if n != PATH_HEADER))
        values = attempt.headers.get("authorization", ())
        if not values:
            return self._deny(GuardReason.NO_TOKEN, spoofed, route, error=None)
        if len(values) > 1 or len(values[0]) > MAX_TOKEN:
            return self._deny(Reason.MALFORMED, spoofed, route)
        token = bearer_token(values[0])
        if token is None:
            return self._deny(Reason.MALFORMED, spoofed, route)
        verdict = self.verdicts.verify(token, route.audience, route.introspect)
        if not verdict.valid or verdict.claims is None:
            reason = verdict.reason or Reason.INTERNAL_ERROR
            return self._deny(reason, spoofed, route, kid=verdict.kid, issuer=verdict.issuer, detail=verdict.detail)
        claims = verdict.claims
        if route.issuers and verdict.issuer not in route.issuers:
            return self._deny(GuardReason.ISSUER_NOT_ALLOWED_ON_ROUTE, spoofed, route, kid=verdict.kid,
                              issuer=verdict.issuer)
        granted = set(str(claims.get("scope", "")).split())
        missing = [s for s in route.scopes if s not in granted]
        if missing:
            return self._deny(GuardReason.INSUFFICIENT_SCOPE, spoofed, route, status=403, error="insufficient_scope",
                              scope=" ".join(route.scopes), kid=verdict.kid, issuer=verdict.issuer)
        upstream: dict[str, str] = {PATH_HEADER: path}
        for claim in self.config.claims_to_headers:
            value = verdict.kid if claim == "kid" else claims.get(claim)
            if value is None:
                continue
            if not isinstance(value, str) or not HEADER_SAFE.match(value):
                return self._deny(GuardReason.CLAIM_NOT_HEADER_SAFE, spoofed, route, kid=verdict.kid,
                                  issuer=verdict.issuer)
            upstream[CLAIM_HEADERS[claim]] = value
        remove = tuple(n for n in spoofed if n not in upstream)
        return Decision(True, 200, GuardReason.OK, upstream=upstream, remove=remove, route=route.name,
                        kid=verdict.kid, issuer=verdict.issuer)
