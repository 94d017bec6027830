"""Key sets kept fresh in the background: a check never waits on the network for a known key.

`RefreshingSource` is a JwksSource for the validator. A thread fetches the issuer's JWKS at the
interval its Cache-Control allows (at most the configured max age, at least every few seconds)
and retries after a failure; `keys()` returns the last good set. An unknown kid wakes a refresh
and waits for it (bounded), at most once per cooldown, so a stream of made-up kids cannot make
the guard hammer the issuer. A set older than the issuer's `max_age` (no successful refresh for
that long) is never used: that issuer fails closed (JwksUnavailable), the others go on.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from ..clock import Clock, SystemClock
from ..verify.keyset import TrustedKey
from ..verify.sources import FileSource, JwksUnavailable, UrlSource

log = logging.getLogger("signward.guard.keysets")
MIN_INTERVAL = 2.0  # never refetch more often than this, whatever Cache-Control says
RETRY = 2.0  # after a failed fetch


@dataclass(frozen=True)
class KeySetState:
    issuer: str
    usable: bool
    age: float | None  # seconds since the last successful fetch; None: never fetched
    keys: int
    failures: int


class RefreshingSource:
    """An issuer's JWKS URL, refreshed by a background thread; fail closed past `max_age`."""

    def __init__(self, issuer: str, url: str, *, max_age: float, clock: Clock | None = None,
                 cooldown: float = 30.0, timeout: float = 5.0, unknown_kid_wait: float = 2.0) -> None:
        self.issuer = issuer
        self.location = url
        self.clock = clock or SystemClock()
        self.max_age = max_age
        self.cooldown = cooldown
        self.unknown_kid_wait = unknown_kid_wait
        self._remote = UrlSource(issuer, url, clock=self.clock, default_max_age=min(300.0, max_age),
                                 max_max_age=max_age, timeout=timeout)
        self._keys: dict[str, TrustedKey] | None = None
        self._fetched_at: float | None = None
        self._next = 0.0
        self._last_unknown = float("-inf")
        self.failures = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._done = threading.Condition(self._lock)
        self._generation = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"signward-guard-jwks-{issuer}")

    def start(self) -> RefreshingSource:
        """The first fetch, then the refresher; a failed first fetch leaves the issuer closed
        until a retry succeeds."""
        self._refresh()
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._remote.close()

    def _refresh(self) -> None:
        try:
            keys, max_age = self._remote.fetch()
        except JwksUnavailable as exc:
            with self._lock:
                self.failures += 1
                self._next = self.clock.now() + RETRY
                self._generation += 1
                self._done.notify_all()
            log.warning("%s", exc.diagnostics())
            return
        now = self.clock.now()
        with self._lock:
            self._keys = keys
            self._fetched_at = now
            self._next = now + max(MIN_INTERVAL, min(max_age, self.max_age / 2))
            self._generation += 1
            self._done.notify_all()

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                wait = self._next - self.clock.now()
            if wait > 0 and self._wake.wait(timeout=min(wait, 60.0)):
                self._wake.clear()
            elif wait > 0:
                continue  # woke for no reason but the 60 s cap (or a clock that moved): re-evaluate
            if not self._stop.is_set():
                self._refresh()

    def _usable(self, now: float) -> dict[str, TrustedKey]:
        if self._keys is None or self._fetched_at is None:
            raise JwksUnavailable(f"no JWKS for {self.issuer} yet (fetch from {self.location} failed)")
        if now - self._fetched_at >= self.max_age:
            raise JwksUnavailable(f"the JWKS of {self.issuer} was last refreshed {now - self._fetched_at:.0f}s ago,"
                                  f" over its max age of {self.max_age:.0f}s: closed until a refresh succeeds")
        return self._keys

    def keys(self, refresh_for_kid: str | None = None) -> dict[str, TrustedKey]:
        with self._lock:
            now = self.clock.now()
            keys = self._usable(now)
            if refresh_for_kid is None or refresh_for_kid in keys or now - self._last_unknown < self.cooldown:
                return keys
            self._last_unknown = now  # an unknown kid: one refresh per cooldown, and wait for it
            generation = self._generation
            self._next = now
            self._wake.set()
            self._done.wait_for(lambda: self._generation != generation, timeout=self.unknown_kid_wait)
            return self._usable(self.clock.now())

    def state(self) -> KeySetState:
        with self._lock:
            now = self.clock.now()
            age = None if self._fetched_at is None else now - self._fetched_at
            usable = age is not None and age < self.max_age
            return KeySetState(self.issuer, usable, age, len(self._keys or {}), self.failures)


class WatchedFile:
    """A JWKS file (re-read when it changes): the same interface as RefreshingSource."""

    def __init__(self, issuer: str, path: str) -> None:
        self.issuer = issuer
        self.location = path
        self._file = FileSource(issuer, path)
        self.failures = 0

    def start(self) -> WatchedFile:
        return self

    def close(self) -> None:
        pass

    def keys(self, refresh_for_kid: str | None = None) -> dict[str, TrustedKey]:
        try:
            return self._file.keys(refresh_for_kid)
        except JwksUnavailable:
            self.failures += 1
            raise

    def state(self) -> KeySetState:
        try:
            count, usable = len(self._file.keys()), True
        except JwksUnavailable:
            count, usable = 0, False
        return KeySetState(self.issuer, usable, 0.0 if usable else None, count, self.failures)
