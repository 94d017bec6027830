"""Values every configuration file and option shares: durations ('15m', '1h') and http(s) URLs.

One parser for each, so `WATCH.toml`, `GUARD.toml` and the CLI options accept the same forms and
refuse bad ones with the same ConfigError.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigError

# matched whole (fullmatch) on the stripped text, after the length bound: linear, ASCII digits only
DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([smhd]?)")
UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
MAX_URL = 2048
_URL_HOST = re.compile(r"[a-z0-9_.-]{1,253}|[0-9a-f:.]{2,45}")  # urlsplit lowercases; [::1] unbracketed
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


def identity_problem(value: str) -> str | None:
    """Why a text that must equal a token's claim exactly (an issuer, an audience, a client id)
    cannot: whitespace at either end, or anywhere a control, format (zero-width, bidi) or line or
    paragraph separator character, which no one sees in the file and no token carries (None: fine)."""
    if value != value.strip():
        return "has whitespace at its start or end (it would match no token)"
    odd = next((c for c in value if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")), None)
    if odd is not None:
        return f"holds the invisible or control character U+{ord(odd):04X} (it would match no token)"
    return None


def http_url(value: Any, what: str, *, query: bool = False) -> str:
    """An http or https URL: at most 2048 characters on one line (no whitespace or control
    character anywhere: urlsplit would drop a tab or a line break), an ASCII host name or IP
    literal, a port (if any) in 1-65535, no user information, no fragment, and no query unless
    `query` (a webhook's token is often one). Every refusal one ConfigError line naming `what`."""
    if not isinstance(value, str) or len(value) > MAX_URL:
        raise ConfigError(f"{what}: must be a URL of at most {MAX_URL} characters")
    odd = next((c for c in value if c.isspace() or unicodedata.category(c) in ("Cc", "Cf")), None)
    if odd is not None:
        raise ConfigError(f"{what}: must be an http or https URL without whitespace or control characters "
                          f"(holds U+{ord(odd):04X})")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:  # a port out of range or not a number, a bad IPv6 literal
        words = "its port must be a number between 1 and 65535" if "Port" in str(exc) else "not a valid URL"
        raise ConfigError(f"{what}: {words} ({str(exc)[:120]})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{what}: must be an http or https URL with a host")
    if parts.username is not None or parts.password is not None:
        raise ConfigError(f"{what}: must not carry user information (user@ or user:password@)")
    if parts.fragment or "#" in value:
        raise ConfigError(f"{what}: must not have a fragment ('#')")
    if not query and (parts.query or "?" in value):
        raise ConfigError(f"{what}: must not have a query ('?')")
    if port is not None and not 1 <= port <= 65535:
        raise ConfigError(f"{what}: its port must be between 1 and 65535, not {port}")
    if not _URL_HOST.fullmatch(parts.hostname):
        raise ConfigError(f"{what}: its host must be an ASCII host name (IDNA) or an IP address")
    return value
