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
regard to case, so a prefix must be canonical itself and unique in lower case. Strict: UTF-8, at most 1 MiB, known keys only,
bounded counts. Every failure is a ConfigError naming the file, the line and the problem.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config_values import http_url, parse_duration
from ..errors import ConfigError
from ..verify.sources import read_text_file
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
HOST = re.compile(r"^(\*|[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?|\[[0-9a-f:.]+\])$")
PREFIX = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,=:@/-]{0,1023}$")
WORD = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]{1,256}$")  # an RFC 6749 scope-token


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
            data = tomllib.loads(text)
        except ValueError as exc:  # TOMLDecodeError is a ValueError and names the line
            raise ConfigError(f"{path}: {exc}") from None
        try:
            return cls.from_dict(data)
        except _Problem as problem:
            line = _line_of(text, problem.table, problem.index, problem.key)
            raise ConfigError(f"{path}:{line}: {problem.message}" if line else f"{path}: {problem.message}") from None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GuardConfig:
        _known(data, {"clock_skew", "max_token_lifetime", "require_at_jwt", "honey_kids", "claims_to_headers",
                      "issuer", "route", "verdict_cache"}, None, None)
        issuers = tuple(_issuer(item, i) for i, item in enumerate(_tables(data, "issuer", MAX_ISSUERS)))
        if not issuers:
            raise _Problem("at least one [[issuer]] is required", None, None, None)
        names = [i.issuer for i in issuers]
        if len(set(names)) != len(names):
            raise _Problem("each issuer may be listed once", None, None, None)
        routes = tuple(_route(item, i, set(names)) for i, item in enumerate(_tables(data, "route", MAX_ROUTES)))
        if not routes:
            raise _Problem("at least one [[route]] is required (requests no route matches are denied)",
                           None, None, None)
        for index, route in enumerate(routes):
            reachable = route.issuers or tuple(names)
            silent = [i.issuer for i in issuers if i.issuer in reachable and i.introspection is None]
            if route.introspect and silent:
                raise _Problem(f"route[{index}].introspect: {silent[0]!r} has no introspect_url",
                               "route", index, "introspect")
        if len({(r.host, r.prefix.lower()) for r in routes}) != len(routes):
            raise _Problem("two routes have the same host and prefix (case is ignored)", None, None, None)
        skew = _duration(data, "clock_skew", 60, None, None, allow_zero=True)
        if skew > MAX_SKEW:
            raise _Problem(f"clock_skew must be at most {MAX_SKEW:.0f}s", None, None, "clock_skew")
        honey = _strings(data, "honey_kids", None, None, MAX_HONEY, WORD)
        claims = _strings(data, "claims_to_headers", None, None, len(CLAIM_HEADERS), None,
                          default=("sub", "tid", "scope", "kid", "iss"))
        unknown = [c for c in claims if c not in CLAIM_HEADERS]
        if unknown:
            raise _Problem(f"claims_to_headers: {unknown} are not among {sorted(CLAIM_HEADERS)}",
                           None, None, "claims_to_headers")
        cache = data.get("verdict_cache", 10_000)
        if isinstance(cache, bool) or not isinstance(cache, int) or not 0 <= cache <= MAX_VERDICTS:
            raise _Problem(f"verdict_cache: a count from 0 to {MAX_VERDICTS}", None, None, "verdict_cache")
        return cls(issuers=issuers, routes=routes, clock_skew=skew, verdict_cache=cache,
                   max_token_lifetime=_duration(data, "max_token_lifetime", "1d", None, None),
                   require_at_jwt=_bool(data, "require_at_jwt", True, None, None),
                   honey_kids=honey, claims_to_headers=claims)


class _Problem(Exception):
    def __init__(self, message: str, table: str | None, index: int | None, key: str | None) -> None:
        super().__init__(message)
        self.message, self.table, self.index, self.key = message, table, index, key


def _where(table: str | None, index: int | None, key: str) -> str:
    return f"{table}[{index}].{key}" if table is not None else key


def _known(data: dict[str, Any], allowed: set[str], table: str | None, index: int | None) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise _Problem(f"{_where(table, index, unknown[0])}: unknown key", table, index, unknown[0])


def _tables(data: dict[str, Any], name: str, limit: int) -> list[dict[str, Any]]:
    items = data.get(name, [])
    if not isinstance(items, list) or len(items) > limit or not all(isinstance(i, dict) for i in items):
        raise _Problem(f"{name} must be [[{name}]] tables, at most {limit}", None, None, name)
    return items


def _text(data: dict[str, Any], key: str, table: str, index: int, *, required: bool = True,
          default: str = "") -> str:
    value = data.get(key, None if required else default)
    if not isinstance(value, str) or (required and not value) or len(value) > 2048:
        raise _Problem(f"{_where(table, index, key)}: required, text of at most 2048 characters",
                       table, index, key)
    return value


def _duration(data: dict[str, Any], key: str, default: str | float, table: str | None, index: int | None,
              allow_zero: bool = False) -> float:
    try:
        return parse_duration(data.get(key, default), _where(table, index, key), allow_zero=allow_zero)
    except ConfigError as exc:
        raise _Problem(str(exc), table, index, key) from None


def _bool(data: dict[str, Any], key: str, default: bool, table: str | None, index: int | None) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise _Problem(f"{_where(table, index, key)}: must be true or false", table, index, key)
    return value


def _strings(data: dict[str, Any], key: str, table: str | None, index: int | None, limit: int,
             pattern: re.Pattern[str] | None, default: tuple[str, ...] = ()) -> tuple[str, ...]:
    value = data.get(key, list(default))
    if (not isinstance(value, list) or len(value) > limit
            or not all(isinstance(v, str) and v and (pattern is None or pattern.match(v)) for v in value)):
        raise _Problem(f"{_where(table, index, key)}: must be a list of at most {limit} non-empty words",
                       table, index, key)
    return tuple(value)


def _issuer(item: dict[str, Any], index: int) -> TrustedIssuer:
    _known(item, {"issuer", "jwks", "max_age", "introspect_url", "introspect_client_id", "introspect_secret_env"},
           "issuer", index)
    issuer = _text(item, "issuer", "issuer", index)
    jwks = _text(item, "jwks", "issuer", index)
    if jwks.startswith(("http://", "https://")):
        try:
            http_url(jwks, "jwks")
        except ConfigError as exc:
            raise _Problem(f"issuer[{index}].{exc}", "issuer", index, "jwks") from None
    max_age = _duration(item, "max_age", "15m", "issuer", index)
    if not 1 <= max_age <= 7 * 86400:
        raise _Problem(f"issuer[{index}].max_age: must be between 1s and 7d", "issuer", index, "max_age")
    introspection = None
    named = [k for k in ("introspect_url", "introspect_client_id", "introspect_secret_env") if k in item]
    if named:
        if len(named) != 3:
            raise _Problem(f"issuer[{index}]: introspection needs introspect_url, introspect_client_id and "
                           "introspect_secret_env", "issuer", index, named[0])
        try:
            url = http_url(item["introspect_url"], "introspect_url")
        except ConfigError as exc:
            raise _Problem(f"issuer[{index}].{exc}", "issuer", index, "introspect_url") from None
        introspection = Introspection(url, _text(item, "introspect_client_id", "issuer", index),
                                      _text(item, "introspect_secret_env", "issuer", index))
    return TrustedIssuer(issuer=issuer, jwks=jwks, max_age=max_age, introspection=introspection)


def _route(item: dict[str, Any], index: int, issuers: set[str]) -> Route:
    _known(item, {"host", "prefix", "audience", "scopes", "issuers", "anonymous", "introspect"}, "route", index)
    host = _text(item, "host", "route", index, required=False, default="*").lower()
    if not HOST.match(host):
        raise _Problem(f"route[{index}].host: a host name without port, or \"*\"", "route", index, "host")
    prefix = _text(item, "prefix", "route", index)
    if not PREFIX.match(prefix) or canonical_path(prefix) != prefix:
        raise _Problem(f"route[{index}].prefix: a canonical absolute path (no //, no . or .. segments, "
                       "no segment ending in ., no % or ;)", "route", index, "prefix")
    anonymous = _bool(item, "anonymous", False, "route", index)
    audience = _text(item, "audience", "route", index, required=not anonymous)
    if anonymous and ({"audience", "scopes", "issuers", "introspect"} & set(item)):
        raise _Problem(f"route[{index}]: an anonymous route takes no audience, scopes or issuers",
                       "route", index, "anonymous")
    listed = _strings(item, "issuers", "route", index, MAX_ISSUERS, None)
    strangers = [i for i in listed if i not in issuers]
    if strangers:
        raise _Problem(f"route[{index}].issuers: {strangers[0]!r} is not a trusted [[issuer]]",
                       "route", index, "issuers")
    return Route(prefix=prefix, audience=audience, host=host, anonymous=anonymous, issuers=listed,
                 scopes=_strings(item, "scopes", "route", index, MAX_SCOPES, WORD),
                 introspect=_bool(item, "introspect", False, "route", index))


def _line_of(text: str, table: str | None, index: int | None, key: str | None) -> int | None:
    """The line of `key` in the index-th [[table]] (or among the top-level keys): where the
    problem is, for the message."""
    lines = text.splitlines()
    header = re.compile(r"^\s*\[")
    start, end = 0, len(lines)
    if table is not None and index is not None:
        mine = re.compile(rf"^\s*\[\[\s*{re.escape(table)}\s*\]\]")
        starts = [n for n, line in enumerate(lines) if mine.match(line)]
        if index >= len(starts):
            return None
        start = starts[index]
        end = next((n for n in range(start + 1, len(lines)) if header.match(lines[n])), len(lines))
    else:
        end = next((n for n, line in enumerate(lines) if header.match(line)), len(lines))
    if key is not None:
        assignment = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for n in range(start, end):
            if assignment.match(lines[n]):
                return n + 1
    return start + 1 if table is not None else None
