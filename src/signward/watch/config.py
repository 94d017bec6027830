"""The watch configuration (`signward watch --watch-config WATCH.toml`): the relying parties to
probe where they are deployed, the schedule, the probe timeout and an optional webhook.

    every = "15m"
    probe_timeout = 120                                  # seconds per probe; the drills scan real cores
    max_signing_lifetime = "30d"                         # the rotation policy the served keys must meet
    webhook = "https://alerts.example.com/signward"     # optional; alerts are POSTed as JSON

    [[relying_party]]
    name = "mail-api"
    url = "https://mail.example.com/api/inbox"           # a URL that needs a valid token
    method = "GET"
    realm = "enterprise"                                 # whose tokens it takes
    audience = "mail"
    refused = [401, 403]                                 # the statuses that mean "refused"

Strict: UTF-8, at most 1 MiB, known keys only, http(s) URLs, finite numbers, at most 64
relying parties. Every failure is a ConfigError naming the file, the line and the problem
(`signward.config_schema`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config_schema import Rule, SchemaError, build, check_fields, load, setting
from ..config_values import http_url as _url
from ..config_values import parse_duration
from ..errors import ConfigError
from ..safefile import read_text_file

MAX_FILE = 1 << 20
MAX_RELYING_PARTIES = 64
NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
METHODS = ("GET", "POST", "PUT", "DELETE", "HEAD", "PATCH")


@dataclass(frozen=True)
class RelyingParty:
    """One deployed service that takes the realm's tokens."""

    name: str = setting(doc="1-64 letters, digits, '.', '_' or '-'", pattern=NAME, max_len=64)
    url: str = setting(doc="a URL that needs a valid token (http or https; no user or fragment)",
                       max_len=2048)
    realm: str = setting(doc="whose tokens it takes", max_len=256)
    audience: str = setting(doc="the audience its tokens carry", max_len=1024)
    method: str = setting("GET", "GET, POST, PUT, DELETE, HEAD or PATCH (any case)", max_len=8)
    refused: tuple[int, ...] = setting((401, 403), "the HTTP error statuses (400-599) that mean \"refused\"",
                                       min=400, max=599, max_len=16)

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", self.method.upper())
        check_fields(self)
        for key in ("name", "url", "realm", "audience"):
            if not getattr(self, key):
                raise SchemaError(Rule.MISSING, (key,), "required (text)")
        if self.method not in METHODS:
            raise SchemaError(Rule.OUT_OF_BOUNDS, ("method",), f"must be one of {', '.join(METHODS)}")
        if not self.refused:
            raise SchemaError(Rule.OUT_OF_BOUNDS, ("refused",), "must list 1-16 HTTP error statuses (400-599)")
        try:
            _url(self.url, "url", query=True)
        except ConfigError as exc:
            raise SchemaError(Rule.INVALID, ("url",), str(exc).removeprefix("url: ")) from None

    @classmethod
    def from_dict(cls, data: Any, where: str) -> RelyingParty:
        try:
            return build(cls, data)
        except SchemaError as error:
            raise ConfigError(f"{where}: {error}") from None


@dataclass(frozen=True)
class WatchConfig:
    every: float = setting(900.0, "how often a round runs", duration=True, allow_zero=False)
    probe_timeout: float = setting(120.0, "seconds per probe; the drills scan real cores", duration=True,
                                   allow_zero=False, max=3600)
    max_signing_lifetime: float = setting(30 * 86400.0, "the rotation policy the served keys must meet",
                                          duration=True, allow_zero=False)
    webhook: str = setting("", "optional; alerts are POSTed to it as JSON (http or https; no user or "
                                "fragment)", max_len=2048)
    relying_parties: tuple[RelyingParty, ...] = setting((), "the deployed services to probe", key="relying_party",
                                                        max_len=MAX_RELYING_PARTIES)

    def __post_init__(self) -> None:
        check_fields(self)
        if self.webhook:
            try:
                _url(self.webhook, "webhook", query=True)
            except ConfigError as exc:
                raise SchemaError(Rule.INVALID, ("webhook",), str(exc).removeprefix("webhook: ")) from None
        names = [p.name for p in self.relying_parties]
        for index, name in enumerate(names):
            if name in names[:index]:
                raise SchemaError(Rule.INVALID, ("relying_party", index, "name"),
                                  f"relying party names must be unique ({name!r} twice)")

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "watch config") -> WatchConfig:
        """The watch configuration from parsed TOML (no line numbers: `load` names them)."""
        try:
            return build(cls, data)
        except SchemaError as error:
            raise ConfigError(f"{where}: {error}") from None

    @classmethod
    def load(cls, path: str | Path) -> WatchConfig:
        try:
            text = read_text_file(path, MAX_FILE)
        except ValueError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        return load(cls, text, str(path))


__all__ = ["RelyingParty", "WatchConfig", "parse_duration"]
