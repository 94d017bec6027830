"""Injectable time. Every clock read in signward goes through a `Clock`, so tests can walk
a key's lifecycle across months in milliseconds (the `*_at_time` idea of Fernet)."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch, UTC."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> float:
        return time.time()


class FixedClock:
    """A clock that moves only when told to; thread-safe."""

    def __init__(self, start: float | datetime) -> None:
        self._t = start.timestamp() if isinstance(start, datetime) else float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._t

    def advance(self, delta: float | timedelta) -> float:
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
        with self._lock:
            self._t += seconds
            return self._t

    def set(self, when: float | datetime) -> None:
        with self._lock:
            self._t = when.timestamp() if isinstance(when, datetime) else float(when)


def iso(ts: float | None) -> str | None:
    """An epoch second as ISO 8601 UTC, for humans and JSON."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat().replace("+00:00", "Z")
