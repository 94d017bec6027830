"""The controls the lab can switch off, what switching each off changes, and the 2021 preset."""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import UsageError

CONTROLS: dict[str, str] = {
    "hsm": "the consumer issuer signs in the HSM (off: the hazmat software signer holds the key in memory)",
    "redaction": "the sender's sanitizer runs every key detector (off: only the AES detector, which misses the key)",
    "canary_check": "sanitize refuses a dump whose canaries it did not find, and the mail API treats the canary "
                    "keys as honey keys (off: neither)",
    "release_gate": "only a sanitized, attested dump is released (off: whatever is in quarantine goes)",
    "store_rescan": "the debugging store re-scans every arriving dump (off: it takes what it is given)",
    "key_expiry": "the mail API's validator refuses keys outside their window (off: insecure_ignore_key_validity)",
    "rotation": "consumer keys sign for 30 days (off: one five-year key, still valid at attack time)",
    "issuer_binding": "the validator looks a kid up only under the token's issuer (off: insecure_shared_keyset)",
    "audit_retention": "the audit log outlives every key (off: 30 days, so the fetch is gone at investigation)",
    "grant_approval": "a dump grant needs a request and a second person's approval (off: "
                      "dumps.insecure_self_grant, the engineer account grants itself)",
    "issuance_check": "the mail API asks the issuer whether it issued each token (RFC 7662 introspection; off: "
                      "it checks signatures and claims only)",
}

# 2021: the key was in process memory, redaction failed (a race), nothing checked the scanner,
# the dump went to the debugging environment unchecked, the mail service accepted an expired
# five-year consumer key for enterprise tenants, and the logs had aged out.
PRESETS: dict[str, frozenset[str]] = {"2021": frozenset(CONTROLS)}


def parse_disabled(names: Iterable[str], preset: str | None = None) -> frozenset[str]:
    """The controls to switch off: names (repeated or comma-separated) plus a preset's."""
    wanted: set[str] = set()
    if preset is not None:
        if preset not in PRESETS:
            raise UsageError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
        wanted |= PRESETS[preset]
    for item in names:
        wanted |= {n.strip() for n in item.split(",") if n.strip()}
    unknown = sorted(wanted - set(CONTROLS))
    if unknown:
        raise UsageError(f"unknown control(s) {', '.join(unknown)}; choose from {', '.join(CONTROLS)}")
    return frozenset(wanted)


__all__ = ["CONTROLS", "PRESETS", "parse_disabled"]
