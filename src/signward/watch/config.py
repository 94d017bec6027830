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
relying parties. Every failure is a ConfigError naming the file and the problem.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config_values import http_url as _url
from ..config_values import parse_duration
from ..errors import ConfigError
from ..verify.sources import read_text_file

MAX_FILE = 1 << 20
MAX_RELYING_PARTIES = 64
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
METHODS = ("GET", "POST", "PUT", "DELETE", "HEAD", "PATCH")
@dataclass(frozen=True)
class RelyingParty:
    """One deployed service that takes the realm's tokens."""

    name: str
    url: str
    realm: str
    audience: str
    method: str = "GET"
    refused: tuple[int, ...] = (401, 403)

    @classmethod
    def from_dict(cls, data: Any, where: str) -> RelyingParty:
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: must be a table")
        unknown = set(data) - {"name", "url", "realm", "audience", "method", "refused"}
        if unknown:
            raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
        for key in ("name", "url", "realm", "audience"):
            if not isinstance(data.get(key), str) or not data[key]:
                raise ConfigError(f"{where}: {key} is required (text)")
        if not NAME.match(data["name"]):
            raise ConfigError(f"{where}: name must be 1-64 letters, digits, '.', '_' or '-'")
        method = str(data.get("method", "GET")).upper()
        if method not in METHODS:
            raise ConfigError(f"{where}: method must be one of {', '.join(METHODS)}")
        refused = data.get("refused", [401, 403])
        if (not isinstance(refused, list) or not refused or len(refused) > 16
                or not all(isinstance(s, int) and not isinstance(s, bool) and 400 <= s <= 599 for s in refused)):
            raise ConfigError(f"{where}: refused must list 1-16 HTTP error statuses (400-599)")
        return cls(name=data["name"], url=_url(data["url"], f"{where}.url"), realm=data["realm"],
                   audience=data["audience"][:1024], method=method, refused=tuple(refused))


@dataclass(frozen=True)
class WatchConfig:
    every: float = 900.0
    probe_timeout: float = 120.0
    max_signing_lifetime: float = 30 * 86400.0
    webhook: str = ""
    relying_parties: tuple[RelyingParty, ...] = field(default_factory=tuple)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "watch config") -> WatchConfig:
        unknown = set(data) - {"every", "probe_timeout", "webhook", "relying_party", "max_signing_lifetime"}
        if unknown:
            raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
        parties = data.get("relying_party", [])
        if not isinstance(parties, list) or len(parties) > MAX_RELYING_PARTIES:
            raise ConfigError(f"{where}: relying_party must be a list of at most {MAX_RELYING_PARTIES} tables")
        made = tuple(RelyingParty.from_dict(p, f"{where}: relying_party[{i}]") for i, p in enumerate(parties))
        if len({p.name for p in made}) != len(made):
            raise ConfigError(f"{where}: relying party names must be unique")
        timeout = parse_duration(data.get("probe_timeout", 120), f"{where}: probe_timeout")
        if timeout > 3600:
            raise ConfigError(f"{where}: probe_timeout must be at most 1h")
        webhook = data.get("webhook", "")
        return cls(every=parse_duration(data.get("every", "15m"), f"{where}: every"), probe_timeout=timeout,
                   max_signing_lifetime=parse_duration(data.get("max_signing_lifetime", "30d"),
                                                       f"{where}: max_signing_lifetime"),
                   webhook=_url(webhook, f"{where}: webhook") if webhook else "", relying_parties=made)

    @classmethod
    def load(cls, path: str | Path) -> WatchConfig:
        try:
            text = read_text_file(path, MAX_FILE)
            data = tomllib.loads(text)
        except ValueError as exc:  # TOMLDecodeError is a ValueError too
            raise ConfigError(f"{path}: {exc}") from None
        return cls.from_dict(data, str(path))


__all__ = ["RelyingParty", "WatchConfig", "parse_duration"]
