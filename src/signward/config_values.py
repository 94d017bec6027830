"""Values every configuration file and option shares: durations ('15m', '1h') and http(s) URLs.

One parser for each, so `WATCH.toml`, `GUARD.toml` and the CLI options accept the same forms and
refuse bad ones with the same ConfigError.
"""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigError

# matched whole (fullmatch) on the stripped text, after the length bound: linear, ASCII digits only
DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([smhd]?)")
UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
MAX_URL = 2048
MAX_DURATION_TEXT = 64  # characters of a duration, before any regex
MAX_DAYS = 100 * 365  # every duration and day count: at most 100 years
MAX_DURATION = MAX_DAYS * 86400.0


class OutOfRange(ConfigError):
    """A duration of the right form whose value is out of range (negative, zero, past 100 years)."""


def parse_duration(text: str | float | int, what: str, *, allow_zero: bool = False) -> float:
    """'15m', '1h', '90s', '30d' or seconds: finite and positive (or zero where `allow_zero`), at most
    100 years. Text is bounded before the regex (64 characters) and its digits are ASCII."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        try:
            seconds = float(text)
        except OverflowError:  # an integer past a float's range
            raise ConfigError(f"{what}: must be a finite duration, not an integer this large") from None
    else:
        text = str(text)
        match = DURATION.fullmatch(text.strip()) if len(text) <= MAX_DURATION_TEXT else None
        if not match:
            raise ConfigError(f"{what}: bad duration {text[:MAX_DURATION_TEXT]!r} (use e.g. 90s, 15m, 1h, 30d)")
        seconds = float(match.group(1)) * UNITS[match.group(2)]
    if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not allow_zero):
        raise OutOfRange(f"{what}: must be a {'non-negative' if allow_zero else 'positive'}, finite duration")
    if seconds > MAX_DURATION:
        raise OutOfRange(f"{what}: must be at most {MAX_DAYS} days (100 years), not {seconds:.6g}s")
    return seconds


def http_url(value: Any, what: str) -> str:
    """An http or https URL with a host, at most 2048 characters, no whitespace."""
    if not isinstance(value, str) or len(value) > MAX_URL:
        raise ConfigError(f"{what}: must be a URL of at most {MAX_URL} characters")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ConfigError(f"{what}: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        raise ConfigError(f"{what}: must be an http or https URL")
    return value
