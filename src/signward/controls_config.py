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
import sqlite3
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

    canary_state: str | None = None  # "ok", "missing", "empty" (no canary keys), "unreadable", "without ..."
    max_verify_window: float | None = None  # seconds, over every realm of the home
    deployed: bool = False  # checked for a home (config check, a start), not the settings alone
    audit_anchored: bool | None = None  # False: the log has records but no audit key and no checkpoint

    @classmethod
    def of(cls, home: Home, config: Config, max_verify_window: float | None) -> HomeFacts:
        return cls(canary_state(home.canary_path(config), config.dumps.canary_kinds), max_verify_window, True,
                   audit_anchored(home, config))


def audit_anchored(home: Home, config: Config) -> bool | None:
    """Whether anything outside the rows holds the home's audit log: a pinned audit key (made
    with the first checkpoint), or, for a log without records, nothing needed yet. None for a
    PostgreSQL store (not read from here: `audit verify` says)."""
    from .audit import Anchors

    if Anchors(home.root / "audit").pinned_key() is not None:
        return True
    if config.store.url or not home.db_path.is_file():
        return None if config.store.url else True
    try:
        db = sqlite3.connect(f"file:{home.db_path}?mode=ro", uri=True, timeout=5)
        try:
            records = db.execute("SELECT COUNT(*) FROM (SELECT 1 FROM audit_records LIMIT 1)").fetchone()[0]
            signed = db.execute("SELECT (SELECT COUNT(*) FROM audit_checkpoints) + "
                                "(SELECT COUNT(*) FROM audit_keys)").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return None
    return not records or bool(signed)


def canary_state(path: Path | None, kinds: str | None = None) -> str | None:
    """Whether the configured canary file holds canaries, loaded as the sanitizer loads them,
    of every kind `kinds` (`dumps.canary_kinds`) asks for (None when no file is configured)."""
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
    if not all(isinstance(document.get(k), str) and document[k] for k in ("rsa", "aes")):
        return "empty"
    from .dumps.canary import Canary, canary_kinds
    from .errors import SignwardError

    try:  # junk where the keys should be is no canary
        held = set(Canary.from_document(document, str(path)).kinds)
    except SignwardError:
        return "unreadable"
    try:
        wanted = set(canary_kinds(kinds)) if kinds is not None else set()
    except SignwardError:
        return "unreadable"
    missing = sorted(wanted - held)
    return f"without {', '.join(missing)} canaries (dumps.canary_kinds asks for them)" if missing else "ok"


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


def _unanchored(config: Config, facts: HomeFacts) -> str | None:
    return "" if facts.audit_anchored is False else None


def _above(section: str, name: str, bound: float) -> Callable[[Config, HomeFacts], str | None]:
    def check(config: Config, facts: HomeFacts) -> str | None:
        value = getattr(getattr(config, section), name)
        return f"{section}.{name} is {value:g}, above the safe bound {bound:g}" if value > bound else None
    return check


def _approver_names(config: Config, facts: HomeFacts) -> str | None:
    from .home import valid_identity

    bad = sorted(name for name in config.dumps.approver_set if not valid_identity(name))
    return (f"dumps.approvers names {', '.join(repr(n) for n in bad)}: never an identity (1 to 64 ASCII letters, "
            f"digits, '.', '_' or '-'), so nobody can approve as them" if bad else None)


MAX_FETCHES_PER_HOUR = 20  # the documented safe bounds of the rows below
MAX_CHECKPOINT_EVERY = 10_000
MAX_DUMP_RETENTION_DAYS = 90.0


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
    Row("dumps.approvers (names)", "grant_approval", "identity names: ASCII letters, digits, '.', '_', '-'",
        "a name that can never be an identity (spaces, look-alike letters, '@')",
        "the approvers the configuration names cannot approve; the control is not what it reads",
        _approver_names),
    Row("dumps.max_fetches_per_hour", "fetch_rate", f"5 (at most {MAX_FETCHES_PER_HOUR})",
        f"above {MAX_FETCHES_PER_HOUR}", "one account with a grant can pull many dumps an hour without an alert",
        _above("dumps", "max_fetches_per_hour", MAX_FETCHES_PER_HOUR)),
    Row("dumps.retention_days", "dump_retention", f"30 (at most {MAX_DUMP_RETENTION_DAYS:g})",
        f"above {MAX_DUMP_RETENTION_DAYS:g} days", "released dumps (memory of production processes) stay in the "
        "debugging store long after the incident", _above("dumps", "retention_days", MAX_DUMP_RETENTION_DAYS)),
    Row("audit.checkpoint_every", "audit_integrity", f"1000 (at most {MAX_CHECKPOINT_EVERY})",
        f"above {MAX_CHECKPOINT_EVERY}", "that many records can stand unsigned: a database writer rewrites the tail "
        "past the last checkpoint undetected", _above("audit", "checkpoint_every", MAX_CHECKPOINT_EVERY)),
    Row("audit (anchor)", "audit_integrity", "a pinned audit key and signed checkpoints (start the HSM, "
        "`audit checkpoint`)", "the home's log has records but no audit key and no checkpoint",
        "nothing outside the database holds the log: whoever can write it can rewrite the whole chain and "
        "`audit verify` cannot tell (it says `unanchored`)", _unanchored),
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


__all__ = ["REGISTER", "HomeFacts", "Row", "audit_anchored", "audit_weakened", "canary_state", "reference_markdown",
           "weakened"]
