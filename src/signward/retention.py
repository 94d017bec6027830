"""The audit retention floor: one rule and one message, wherever it is checked.

The audit log must outlive every key: a record about a key has to be there as long as a
token signed by that key can still be presented, plus a year to investigate. So the
retention must be at least the longest key verify window (signing lifetime, pre-publication
lead and token lifetime) plus 365 days. The configuration checks it with no realm known
(the floor is then 365 days), realm creation and pruning check it with the realms' windows.
"""

from __future__ import annotations

import math

from .errors import ConfigError

DAY = 86400.0
INVESTIGATION = 365 * DAY


def retention_floor(max_verify_window: float) -> float:
    """The shortest retention allowed (seconds): the longest key verify window plus one year."""
    return max_verify_window + INVESTIGATION


def _days(seconds: float) -> str:
    return f"{round(seconds / DAY, 2):g}"


def check_retention(retention_seconds: float, max_verify_window: float | None = None) -> None:
    """ConfigError with the number needed when `retention_seconds` is below the floor.
    `max_verify_window` None: the realms are not known here (the configuration alone), so only
    the year is checked and the message does not pretend to know the window."""
    floor = retention_floor(max_verify_window or 0.0)
    if retention_seconds < floor:
        needed = math.ceil(floor / DAY - 1e-9)
        if max_verify_window is None:
            raise ConfigError(f"audit.retention_days is {_days(retention_seconds)}; it must be at least {needed} "
                              f"plus the longest key verify window of the home's realms (`signward config check` "
                              f"names the floor)")
        raise ConfigError(f"audit.retention_days is {_days(retention_seconds)}; it must be at least {needed} "
                          f"(the longest key verify window, {_days(max_verify_window)} days, plus 365 days)")


__all__ = ["DAY", "check_retention", "retention_floor"]
