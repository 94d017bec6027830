"""The controls the lab can switch off, what switching each off changes, the 2021 preset, and the
hostile input classes the ablation adds beside them.

An input class is an explicit switch, not a crafted artifact: the lab cannot build an input that
its own parsers really miss (that would be a bug to fix, not a fixture). `input:undecoded_encoding`
stands for a crash dump delivered inside a layer the sanitizer's parsers do not decode; in a run
it switches off, as one failure, every control whose scan reads with those parsers: redaction
always, and the debugging store's re-scan while the store's intake reads with the sanitizer's
scanner (no independent reader, `signward.scan.recheck`, in `signward.dumps.debugstore`). The
canary check is not among them: the canaries live in the dump beside the key, so a layer the
parsers cannot read hides them too and the check refuses the dump."""

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


INPUTS: dict[str, str] = {
    "input:undecoded_encoding": "the crash dump arrives inside a layer the sanitizer's parsers do not decode (one "
                                "failure: every scan that reads with those parsers passes the key)",
}
RECHECK = "signward.scan.recheck"  # the store's independent reader, where the deployment has it


def store_reads_independently() -> bool:
    """Whether the debugging store's intake re-scan reads with the independent reader rather than
    the sanitizer's scanner: asked of the store's own module (what it imported)."""
    from ..dumps import debugstore

    used = {getattr(v, "__module__", None) or getattr(v, "__name__", None) for v in vars(debugstore).values()}
    return RECHECK in used


def defeated_by(input_class: str) -> frozenset[str]:
    """The controls an input class switches off in this deployment."""
    if input_class != "input:undecoded_encoding":
        raise UsageError(f"unknown input class {input_class!r}; choose from {', '.join(INPUTS)}")
    return frozenset({"redaction"} if store_reads_independently() else {"redaction", "store_rescan"})


def effective(failures: Iterable[str]) -> frozenset[str]:
    """The controls off in a run: the controls named and those the input classes named defeat."""
    out: set[str] = set()
    for name in failures:
        out |= defeated_by(name) if name in INPUTS else {name}
    return frozenset(out)


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


__all__ = ["CONTROLS", "INPUTS", "PRESETS", "defeated_by", "effective", "parse_disabled",
           "store_reads_independently"]
