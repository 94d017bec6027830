"""GUARD.toml: the issuers a guard trusts, the routes it protects and what it passes upstream.

    clock_skew = "60s"
    max_token_lifetime = "1h"
    require_at_jwt = true                                # RFC 9068 access tokens only
    honey_kids = ["..."]                                 # `signward keys honey`; with --home, added
    claims_to_headers = ["sub", "tid", "scope", "kid", "iss"]
    verdict_cache = 10000                                # valid verdicts remembered (0: none)

    [[issuer]]
    issuer = "https://login.example.com/realms/enterprise"
    jwks = "https://login.example.com/realms/enterprise/jwks"   # or a file
    max_age = "15m"     # past this without a successful refresh, this issuer fails closed
    introspect_url = "https://login.example.com/realms/enterprise/introspect"   # optional (RFC 7662)
    introspect_client_id = "mail-guard"                  # a client with the introspect scope
    introspect_secret_env = "SIGNWARD_GUARD_INTROSPECT_SECRET"   # its secret, from the environment

    [[route]]
    host = "mail.example.com"                            # or "*" (the default)
    prefix = "/api/mail"                                 # matches /api/mail and /api/mail/..., not /api/mailbox
                                                         # (on the canonical path, in any case: guard/paths.py)
    audience = "mail"
    scopes = ["mail.read"]                               # all of them, in the token's scope claim
    issuers = ["https://login.example.com/realms/enterprise"]   # default: every trusted issuer
    introspect = true                                    # ask the issuer whether it issued each token

    [[route]]
    prefix = "/healthz"
    anonymous = true                                     # no token; x-signward-* still stripped

A request that no route matches is denied. Routes match the canonical path (`paths.py`) without
regard to case, so a prefix must be canonical itself and unique in lower case. Strict: UTF-8, at
most 1 MiB, known keys only, bounded counts. Every failure is a ConfigError naming the file, the line and the problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config_schema import Rule, SchemaError, build, load, quoted, setting
from ..config_values import http_url, identity_problem
from ..errors import ConfigError
from ..safefile import read_text_file
from ..verify.validator import MAX_SKEW
from .paths import canonical_path

MAX_FILE = 1 << 20
MAX_ISSUERS = 64
MAX_ROUTES = 1024
MAX_HONEY = 100_000
MAX_SCOPES = 64
MAX_VERDICTS = 1_000_000
HEADER_PREFIX = "x-signward-"
PATH_HEADER = "x-signward-path"  # the canonical path the guard decided on, on every allowed request
CLAIM_HEADERS = {"sub": "x-signward-sub", "tid": "x-signward-tid", "scope": "x-signward-scope",
                 "kid": "x-signward-kid", "iss": "x-signward-iss", "client_id": "x-signward-client-id",
                 "jti": "x-signward-jti"}
HOST = re.compile(r"(\*|[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?|\[[0-9a-f:.]+\])")  # fullmatch: `$` takes "x\n"
PREFIX = re.compile(r"/[A-Za-z0-9._~!$&'()*+,=:@/-]{0,1023}")
WORD = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,256}")  # an RFC 6749 scope-token
_WORD = WORD.pattern


@dataclass(frozen=True)
class Introspection:
    url: str
    client_id: str
    secret_env: str  # the name of the environment variable holding the client secret


@dataclass(frozen=True)
class TrustedIssuer:
    issuer: str
    jwks: str  # an http(s) URL or a file path
    max_age: float = 900.0
    introspection: Introspection | None = None

    @property
    def remote(self) -> bool:
        return self.jwks.startswith(("http://", "https://"))


@dataclass(frozen=True)
class Route:
    prefix: str
    audience: str = ""
    host: str = "*"
    scopes: tuple[str, ...] = ()
    issuers: tuple[str, ...] = ()  # empty: every trusted issuer
    anonymous: bool = False
    introspect: bool = False  # every token of this route is introspected at its issuer

    @property
    def name(self) -> str:
        return f"{self.host}{self.prefix}"

    def matches(self, host: str, path: str) -> bool:
        """Whether this route covers `path`, a canonical path in lower case."""
        if self.host != "*" and self.host != host:
            return False
        prefix = self.prefix.lower()
        base = prefix.rstrip("/")
        return path == prefix or path == base or path.startswith(base + "/")

    def named_with_extension(self, host: str, path: str) -> bool:
        """Whether the last segment of `path` (canonical, lower case) is this route's last one with
        an extension: `/admin.json` for `/admin`, which Spring's suffix pattern serves as `/admin`."""
        if self.host != "*" and self.host != host:
            return False
        base = self.prefix.lower().rstrip("/")
        return bool(base) and path.startswith(base + ".") and "/" not in path[len(base):]


@dataclass(frozen=True)
class GuardConfig:
    issuers: tuple[TrustedIssuer, ...]
    routes: tuple[Route, ...]
    clock_skew: float = 60.0
    max_token_lifetime: float = 86400.0
    require_at_jwt: bool = True
    honey_kids: tuple[str, ...] = ()
    claims_to_headers: tuple[str, ...] = ("sub", "tid", "scope", "kid", "iss")
    verdict_cache: int = 10_000

    def route_for(self, host: str, path: str) -> Route | None:
        """The most specific route for a canonical path: an exact host before "*", then the longest
        prefix; case is ignored (IIS and ASP.NET route without it)."""
        path = path.lower()
        found = [r for r in self.routes if r.matches(host, path)]
        return max(found, key=lambda r: (r.host != "*", len(r.prefix)), default=None)

    def extension_of_route(self, host: str, path: str) -> Route | None:
        """A route that `path` names with an extension (`/admin.json` for `/admin`): upstreams
        differ on whether it is that route, so the guard denies it."""
        if "." not in path.rpartition("/")[2]:
            return None
        path = path.lower()
        return next((r for r in self.routes if r.named_with_extension(host, path)), None)

    @classmethod
    def load(cls, path: str | Path) -> GuardConfig:
        try:
            text = read_text_file(path, MAX_FILE)
        except ValueError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        try:
            return _config(load(GuardFile, text, str(path)))
        except SchemaError as error:
            if error.source:
                raise
            raise error.located(str(path), text) from None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GuardConfig:
        """The guard configuration from parsed TOML (SchemaError without a line: `load` names it)."""
        return _config(build(GuardFile, data))


# --- the file's schema (`signward.config_schema`), then the checks across keys ---

@dataclass(frozen=True)
class IssuerEntry:
    """One [[issuer]] as the file writes it."""

    issuer: str = setting(doc="the issuer URL (the tokens' iss), no whitespace at its ends", max_len=2048)
    jwks: str = setting(doc="its key set: an http(s) URL (no user, query or fragment) or a file", max_len=2048)
    max_age: float = setting(900.0, "past this without a successful refresh, this issuer fails closed",
                             duration=True, min=1, max=7 * 86400)
    introspect_url: str = setting("", "optional RFC 7662 introspection endpoint (with the two below; no user, "
                                      "query or fragment)", max_len=2048)
    introspect_client_id: str = setting("", "a client with the introspect scope", max_len=2048)
    introspect_secret_env: str = setting("", "the environment variable holding its secret", max_len=2048)


@dataclass(frozen=True)
class RouteEntry:
    """One [[route]] as the file writes it."""

    prefix: str = setting(doc="a canonical absolute path; matches itself and what is below it", max_len=1024)
    host: str = setting("*", "a host name without port, or \"*\"", max_len=253)
    audience: str = setting("", "the audience tokens must carry (required unless anonymous)", max_len=2048)
    scopes: tuple[str, ...] = setting((), "every one of them in the token's scope claim", pattern=_WORD,
                                      max_len=MAX_SCOPES)
    issuers: tuple[str, ...] = setting((), "the trusted issuers it takes (default: every one)", max_len=MAX_ISSUERS)
    anonymous: bool = setting(False, "no token; x-signward-* still stripped")
    introspect: bool = setting(False, "ask the issuer whether it issued each token")


@dataclass(frozen=True)
class GuardFile:
    """GUARD.toml as the file writes it."""

    clock_skew: float = setting(60.0, "tolerated clock difference", duration=True, max=MAX_SKEW)
    max_token_lifetime: float = setting(86400.0, "tokens living longer (exp - iat) are refused", duration=True,
                                        allow_zero=False)
    require_at_jwt: bool = setting(True, "RFC 9068 access tokens only")
    honey_kids: tuple[str, ...] = setting((), "`signward keys honey`; with --home, added", pattern=_WORD,
                                          max_len=MAX_HONEY)
    claims_to_headers: tuple[str, ...] = setting(("sub", "tid", "scope", "kid", "iss"),
                                                 "claims passed upstream as x-signward-* headers",
                                                 choices=tuple(CLAIM_HEADERS), max_len=len(CLAIM_HEADERS))
    verdict_cache: int = setting(10_000, "valid verdicts remembered (0: none)", min=0, max=MAX_VERDICTS)
    issuer: tuple[IssuerEntry, ...] = setting((), "the issuers this guard trusts", max_len=MAX_ISSUERS)
    route: tuple[RouteEntry, ...] = setting((), "the routes it protects; a request none matches is denied",
                                            max_len=MAX_ROUTES)


def _config(data: GuardFile) -> GuardConfig:
    issuers = tuple(_issuer(item, i) for i, item in enumerate(data.issuer))
    if not issuers:
        raise SchemaError(Rule.MISSING, ("issuer",), "at least one [[issuer]] is required")
    names = [i.issuer for i in issuers]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise SchemaError(Rule.INVALID, ("issuer", index, "issuer"), "each issuer may be listed once")
    routes = tuple(_route(item, i, set(names)) for i, item in enumerate(data.route))
    if not routes:
        raise SchemaError(Rule.MISSING, ("route",),
                          "at least one [[route]] is required (requests no route matches are denied)")
    for index, route in enumerate(routes):
        reachable = route.issuers or tuple(names)
        silent = [i.issuer for i in issuers if i.issuer in reachable and i.introspection is None]
        if route.introspect and silent:
            raise SchemaError(Rule.INVALID, ("route", index, "introspect"),
                              f"route[{index}].introspect: {silent[0]!r} has no introspect_url")
    seen: list[tuple[str, str]] = []
    for index, route in enumerate(routes):
        if (route.host, route.prefix.lower()) in seen:
            raise SchemaError(Rule.INVALID, ("route", index, "prefix"),
                              "two routes have the same host and prefix (case is ignored)")
        seen.append((route.host, route.prefix.lower()))
    return GuardConfig(issuers=issuers, routes=routes, clock_skew=data.clock_skew, verdict_cache=data.verdict_cache,
                       max_token_lifetime=data.max_token_lifetime, require_at_jwt=data.require_at_jwt,
                       honey_kids=data.honey_kids, claims_to_headers=data.claims_to_headers)


def _required(value: str, path: tuple[str | int, ...]) -> str:
    if not value:
        raise SchemaError(Rule.MISSING, path, "required, text of at most 2048 characters")
    return value


def _url(value: str, path: tuple[str | int, ...]) -> str:
    try:
        return http_url(value, "url")
    except ConfigError as exc:
        raise SchemaError(Rule.INVALID, path, str(exc).removeprefix("url: ")) from None


def _identity(value: str, path: tuple[str | int, ...]) -> str:
    """A text compared with a token's claim as it is: refused where it could never be equal to one."""
    problem = identity_problem(value)
    if problem is not None:
        raise SchemaError(Rule.INVALID, path, f"{quoted(value)} {problem}")
    return value


def _issuer(item: IssuerEntry, index: int) -> TrustedIssuer:
    where = ("issuer", index)
    for key in ("issuer", "introspect_client_id", "introspect_secret_env"):
        _identity(getattr(item, key), (*where, key))
    issuer = _required(item.issuer, (*where, "issuer"))
    jwks = _required(item.jwks, (*where, "jwks"))
    if jwks.startswith(("http://", "https://")):
        _url(jwks, (*where, "jwks"))
    introspection = None
    named = [k for k in ("introspect_url", "introspect_client_id", "introspect_secret_env") if getattr(item, k)]
    if named:
        if len(named) != 3:
            raise SchemaError(Rule.MISSING, (*where, named[0]), f"issuer[{index}]: introspection needs "
                              "introspect_url, introspect_client_id and introspect_secret_env")
        introspection = Introspection(_url(item.introspect_url, (*where, "introspect_url")),
                                      item.introspect_client_id, item.introspect_secret_env)
    return TrustedIssuer(issuer=issuer, jwks=jwks, max_age=item.max_age, introspection=introspection)


def _route(item: RouteEntry, index: int, issuers: set[str]) -> Route:
    where = ("route", index)
    host = item.host.lower()
    if not HOST.fullmatch(host):
        raise SchemaError(Rule.INVALID, (*where, "host"), "a host name without port, or \"*\"")
    prefix = _required(item.prefix, (*where, "prefix"))
    if not PREFIX.fullmatch(prefix) or canonical_path(prefix) != prefix:
        raise SchemaError(Rule.INVALID, (*where, "prefix"), "a canonical absolute path (no //, no . or .. "
                          "segments, no segment ending in ., no % or ;)")
    if item.anonymous and (item.audience or item.scopes or item.issuers or item.introspect):
        raise SchemaError(Rule.INVALID, (*where, "anonymous"),
                          f"route[{index}]: an anonymous route takes no audience, scopes or issuers")
    audience = item.audience if item.anonymous else _required(item.audience, (*where, "audience"))
    _identity(audience, (*where, "audience"))
    for n, name in enumerate(item.issuers):
        _identity(name, (*where, "issuers", n))
        if name not in issuers:
            raise SchemaError(Rule.INVALID, (*where, "issuers", n), f"{name!r} is not a trusted [[issuer]]")
    return Route(prefix=prefix, audience=audience, host=host, anonymous=item.anonymous, issuers=item.issuers,
                 scopes=item.scopes, introspect=item.introspect)
