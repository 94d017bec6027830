"""Where an issuer's keys come from: a file, or an http(s) URL fetched only from that address.

URL sources are cached per Cache-Control max-age, refreshed on an unknown kid at most once
per cooldown, and fail closed: past the max age a failed fetch raises JwksUnavailable and
the validator rejects; the stale set is never used beyond its age.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from pathlib import Path
from typing import Any, Protocol

import httpx

from ..clock import Clock, SystemClock
from ..errors import SignwardError
from ..safefile import read_text_file
from .bounded import read_limited
from .keyset import TrustedKey, load_jwks

log = logging.getLogger("signward.verify.sources")
MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d+)\s*(?:,|$)", re.I)
MAX_JWKS_BYTES = 512 * 1024


class JwksUnavailable(SignwardError):
    """An issuer's key set could not be loaded: the validator rejects (fail closed)."""


class JwksSource(Protocol):
    location: str

    def keys(self, refresh_for_kid: str | None = None) -> dict[str, TrustedKey]:
        """The issuer's trusted keys; may refetch when `refresh_for_kid` is unknown."""
        ...


def read_json_file(path: str | Path, limit: int) -> Any:
    """A JSON document from a bounded regular file (`read_text_file`); too deep is a ValueError."""
    text = read_text_file(path, limit)
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


class FileSource:
    """A JWKS file, re-read when it changes on disk."""

    def __init__(self, issuer: str, path: str | Path, recheck: float = 1.0) -> None:
        self.issuer = issuer
        self.path = Path(path)
        self.recheck = recheck
        self._checked = float("-inf")
        self.location = str(self.path)
        self._stamp: tuple[float, int] | None = None
        self._keys: dict[str, TrustedKey] = {}
        self._lock = threading.Lock()

    def keys(self, refresh_for_kid: str | None = None) -> dict[str, TrustedKey]:
        now = time.monotonic()
        if self._stamp is not None and now - self._checked < self.recheck and refresh_for_kid in (None, *self._keys):
            return self._keys
        self._checked = now
        try:
            stat = self.path.stat()
            stamp = (stat.st_mtime, stat.st_size)
            with self._lock:
                if stamp != self._stamp:
                    document = read_json_file(self.path, MAX_JWKS_BYTES)
                    self._keys = load_jwks(document, self.issuer, self.location)
                    self._stamp = stamp
                return self._keys
        except (OSError, ValueError) as exc:
            raise JwksUnavailable(f"cannot load JWKS for {self.issuer} from {self.path}: {exc}") from exc


class UrlSource:
    """A JWKS URL: no redirects, a size limit, cached per Cache-Control, fail closed."""

    def __init__(self, issuer: str, url: str, *, clock: Clock | None = None, cooldown: float = 30.0,
                 default_max_age: float = 300.0, max_max_age: float = 86400.0, timeout: float = 5.0,
                 client: httpx.Client | None = None) -> None:
        if not url.startswith(("https://", "http://")):
            raise ValueError(f"JWKS URL must be http(s): {url!r}")
        self.issuer = issuer
        self.location = url
        self.clock = clock or SystemClock()
        self.cooldown = cooldown
        self.default_max_age = default_max_age
        self.max_max_age = max_max_age
        self._client = client or httpx.Client(timeout=timeout, follow_redirects=False)
        self._keys: dict[str, TrustedKey] | None = None
        self._fresh_until = 0.0
        self._last_fetch = float("-inf")
        self._lock = threading.Lock()
        self.fetches = 0

    def _max_age(self, header: str | None) -> float:
        if header is None:
            return self.default_max_age
        if "no-store" in header.lower() or "no-cache" in header.lower():
            return 0.0
        match = MAX_AGE.search(header)
        return min(float(match.group(1)), self.max_max_age) if match else self.default_max_age

    def fetch(self) -> tuple[dict[str, TrustedKey], float]:
        """One GET of the key set: its usable keys and the max age its Cache-Control allows.
        Stateless (counts only): a background refresher uses it as well as `keys`."""
        self.fetches += 1
        try:
            with self._client.stream("GET", self.location,
                                     headers={"Accept": "application/jwk-set+json, application/json"}) as resp:
                if resp.status_code != 200:
                    raise ValueError(f"HTTP {resp.status_code}")
                body = read_limited(resp, MAX_JWKS_BYTES)
            try:
                document = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, RecursionError) as exc:
                raise ValueError(f"not a JSON document ({type(exc).__name__})") from None
            keys = load_jwks(document, self.issuer, self.location)
        except (httpx.HTTPError, ValueError) as exc:
            raise JwksUnavailable(f"cannot fetch JWKS for {self.issuer} from {self.location}: {exc}") from exc
        return keys, self._max_age(resp.headers.get("cache-control"))

    def _fetch(self, now: float) -> None:
        self._last_fetch = now
        keys, max_age = self.fetch()
        self._keys = keys
        self._fresh_until = now + max_age

    def keys(self, refresh_for_kid: str | None = None) -> dict[str, TrustedKey]:
        with self._lock:
            now = self.clock.now()
            if self._keys is None or now >= self._fresh_until:
                self._fetch(now)
            elif (refresh_for_kid is not None and refresh_for_kid not in self._keys
                  and now - self._last_fetch >= self.cooldown):
                try:
                    self._fetch(now)
                except JwksUnavailable as exc:  # the cached set is still within its max age
                    log.warning("refresh for unknown kid failed: %s", exc.diagnostics())
            if self._keys is None:
                raise JwksUnavailable(f"no JWKS for {self.issuer}")
            return self._keys

    def close(self) -> None:
        self._client.close()


def source_for(issuer: str, location: str, clock: Clock | None = None) -> JwksSource:
    """A URL source for http(s) locations, a file source otherwise."""
    if location.startswith(("https://", "http://")):
        return UrlSource(issuer, location, clock=clock)
    return FileSource(issuer, location)
