"""The one register of the settings that weaken a control: what each weakens, when, and how.

Every setting of the configuration that can switch a control off or weaken it is one row of
`REGISTER`: `Config.weakened()` (the settings alone), `signward config check` (the settings
with the home: its canary file and its realms' key windows), the warning and the audit record
every start writes, and the configuration reference of the docs (`reference_markdown()`)
all read this table, so none of them can forget a row the others know.

A row either is checked from the configuration alone, or needs the home (`HomeFacts`: whether
the canary file holds canaries, the longest key verify window of its realms; an empty
approvers list, the documented default, is reported only for a home). Settings that
are plainly invalid (a retention below one year, an unknown backend) are refused when the
configuration loads; this register lists what loads but weakens.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .retention import DAY, retention_floor

if TYPE_CHECKING:
    from .audit import AuditLog
    from .home import Config, Home, Weakened

MAX_CANARY_BYTES = 1 << 20  # a canary file is a few KiB; more is not one


@dataclass(frozen=True)
class HomeFacts:
    """What the rows that need the home know of it (None: not known, the row is not checked)."""

    canary_state: str | None = None  # "ok", "missing", "empty" (no canary keys), "unreadable"
    max_verify_window: float | None = None  # seconds, over every realm of the home
    deployed: bool = False  # checked for a home (config check, a start), not the settings alone

    @classmethod
    def of(cls, home: Home, config: Config, max_verify_window: float | None) -> HomeFacts:
        return cls(canary_state(home.canary_path(config)), max_verify_window, True)


def canary_state(path: Path | None) -> str | None:
    """Whether the configured canary file holds canaries (None when no file is configured)."""
    if path is None:
        return None
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_CANARY_BYTES + 1)
    except FileNotFoundError:
        return "missing"
    except OSError:
        return "unreadable"
    if not data.strip():
        return "empty"
    try:
        document = json.loads(data) if len(data) <= MAX_CANARY_BYTES else None
    except ValueError:
        return "unreadable"
    if not isinstance(document, dict):
        return "unreadable"
    # the two kinds every canary file holds (`dumps.canary_kinds` needs at least rsa and aes)
    return "ok" if all(isinstance(document.get(k), str) and document[k] for k in ("rsa", "aes")) else "empty"


@dataclass(frozen=True)
class Row:
    """One setting that weakens a control. `check` returns what it weakens now, or None."""

    setting: str
    control: str
    safe: str  # the default or the safe range, for the reference
    weakens_when: str  # for the reference
    effect: str  # what an attacker gains, for the reference
    check: Callable[[Config, HomeFacts], str | None]


def _flag(section: str, name: str) -> Callable[[Config, HomeFacts], str | None]:
    def check(config: Config, facts: HomeFacts) -> str | None:
        value = getattr(getattr(config, section), name)
        return "" if value else None
    return check


def _software(config: Config, facts: HomeFacts) -> str | None:
    return "" if config.hsm.backend == "software" or config.hsm.allow_insecure_software_keys else None


def _detectors(config: Config, facts: HomeFacts) -> str | None:
    chosen = config.dumps.insecure_detectors
    return f"redaction runs only {chosen!r}, not every detector" if chosen else None


def _no_canary(config: Config, facts: HomeFacts) -> str | None:
    return "" if not config.dumps.canary else None


def _canary_file(config: Config, facts: HomeFacts) -> str | None:
    if not config.dumps.canary or facts.canary_state in (None, "ok"):
        return None
    return f"the canary file {config.dumps.canary!r} is {facts.canary_state}: no dump proves its scan"


def _approvers(config: Config, facts: HomeFacts) -> str | None:
    # the documented defaults leave it empty (a fresh home names nobody); a home in use is told
    if not facts.deployed or config.dumps.approver_set or config.dumps.insecure_self_grant:
        return None
    return ""


def _retention(config: Config, facts: HomeFacts) -> str | None:
    if facts.max_verify_window is None:
        return None
    floor = retention_floor(facts.max_verify_window)
    if config.audit.retention_days * DAY >= floor:
        return None
    return (f"audit.retention_days is {config.audit.retention_days:g}; `audit prune` refuses below "
            f"{math.ceil(floor / DAY - 1e-9)} (the longest key verify window of this home's realms, "
            f"{round(facts.max_verify_window / DAY, 2):g} days, plus 365 days)")


REGISTER: tuple[Row, ...] = (
    Row("hsm.allow_insecure_software_keys", "hsm", "false (backend pkcs11)",
        "true, or hsm.backend = \"software\"",
        "signing keys may live in process memory, where a crash dump captures them", _software),
    Row("dumps.canary", "canary_check", "\"dumps/canary.json\"", "\"\" (no canary material)",
        "no dump carries canaries: a scanner that is blind on a dump still certifies it", _no_canary),
    Row("dumps.canary (file)", "canary_check", "the file `init` made, with every canary kind",
        "the configured file is missing, empty or unreadable",
        "no dump carries canaries: a scanner that is blind on a dump still certifies it", _canary_file),
    Row("dumps.insecure_skip_canary_check", "canary_check", "false", "true",
        "a dump is certified clean without proof that the scanner saw its canaries",
        _flag("dumps", "insecure_skip_canary_check")),
    Row("dumps.insecure_detectors", "redaction", "\"\" (every detector)", "any selection",
        "redaction runs only the detectors named, not every detector", _detectors),
    Row("dumps.insecure_skip_residue_rescan", "redaction", "false", "true",
        "the sanitized result is certified without the re-scan that proves it clean",
        _flag("dumps", "insecure_skip_residue_rescan")),
    Row("dumps.insecure_no_release_gate", "release_gate", "false", "true",
        "unsanitized and refused dumps are released to the debugging store",
        _flag("dumps", "insecure_no_release_gate")),
    Row("dumps.insecure_skip_store_rescan", "store_rescan", "false", "true",
        "the debugging store takes dumps without scanning them itself",
        _flag("dumps", "insecure_skip_store_rescan")),
    Row("dumps.insecure_self_grant", "grant_approval", "false", "true",
        "one account can grant itself a dump, without a request or a second person",
        _flag("dumps", "insecure_self_grant")),
    Row("dumps.approvers", "grant_approval", "the identities who approve grant requests", "\"\" (nobody)",
        "nobody can approve a request: only the home's administrator (--as-admin) enrols identities, and "
        "the pressure is on switching approval off", _approvers),
    Row("audit.retention_days", "audit_retention", "730 (at least the longest key verify window + 365)",
        "below the longest key verify window of the home's realms plus 365 days (below 365: refused at load)",
        "records about a key age out while tokens it signed can still be presented", _retention),
)


def weakened(config: Config, facts: HomeFacts | None = None) -> list[Weakened]:
    """Every row of the register weakened by `config` (and, where known, the home's facts)."""
    from .home import Weakened

    facts = facts or HomeFacts()
    found = []
    for row in REGISTER:
        effect = row.check(config, facts)
        if effect is not None:
            found.append(Weakened(row.setting, row.control, effect or row.effect))
    return found


def reference_markdown() -> str:
    """The configuration reference of the settings that weaken a control, as a markdown table."""
    lines = ["| setting | control | safe value | weakened when | effect |", "|---|---|---|---|---|"]
    for row in REGISTER:
        cells = [f"`{row.setting}`", f"`{row.control}`", row.safe, row.weakens_when, row.effect]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def audit_weakened(audit: AuditLog, actor: str, found: list[Weakened]) -> None:
    """One `config.weakened` record at warning per weakened row: what every start writes."""
    for item in found:
        audit.append(actor, "config.weakened", item.setting, item.to_dict(), severity="warning")


__all__ = ["REGISTER", "HomeFacts", "Row", "audit_weakened", "canary_state", "reference_markdown", "weakened"]
