"""Dump states and refusal reasons as enums: every "no" of the dump path names one of these.

The values are what the database, the audit log and `--json` carry; `StrEnum` members
compare equal to them, so a stored state reads back as the same member.
"""

from __future__ import annotations

from enum import StrEnum


class DumpState(StrEnum):
    """Where a captured dump is in the pipeline."""

    QUARANTINED = "quarantined"  # captured and sealed, not yet certified
    SANITIZED = "sanitized"  # a redacted copy with a valid attestation exists in quarantine
    RELEASING = "releasing"  # claimed by one release command (no second one can move it)
    RELEASED = "released"  # in at least one debugging store, behind grants
    REFUSED = "refused"  # a control said no; it stays in quarantine with the reason
    DELETED = "deleted"  # retention removed every copy


class DumpReason(StrEnum):
    """Why the dump path said no (sanitizer, gate, debugging store, grants, attestation)."""

    # the sanitizer
    INPUT_CHANGED = "input_changed"  # the input changed while it was sealed or sanitized
    SCAN_INCOMPLETE = "scan_incomplete"  # a bounded pass was cut short: not proven clean
    CANARY_MISSED = "canary_missed"  # the scanner did not find every canary: it is blind on this dump
    NO_CANARY = "no_canary"  # the canary check is on but the home has no canary material: nothing to prove with
    FINDING_IN_METADATA = "finding_in_metadata"  # a key inside headers that cannot be blanked
    RESIDUE = "residue"  # the re-scan of the result still finds keys
    RECHECK = "recheck"  # the independent reader (recheck.py) finds a key in the result
    RECHECK_INCOMPLETE = "recheck_incomplete"  # ... or cannot read a layer of it to its end
    UNREADABLE = "unreadable"  # not a dump the scanner can read
    ERROR = "error"  # the sanitizer failed: fail closed
    # the pipeline and the release gate
    QUARANTINE_CHANGED = "quarantine_changed"  # the sealed core no longer matches its capture hash
    NOT_SANITIZED = "not_sanitized"  # the gate releases only sanitized dumps
    ATTESTATION_MISMATCH = "attestation_mismatch"  # the bytes are not the bytes attested
    # the debugging store's own scan
    STORE_UNREADABLE = "store_unreadable"
    STORE_RESCAN = "store_rescan"  # the store's re-scan found keys
    # grants and fetches
    NO_GRANT = "no_grant"
    GRANT_EXPIRED = "grant_expired"
    RATE_LIMIT = "rate_limit"
    SELF_APPROVAL = "self_approval"  # a request approved by its own requester
    NOT_AN_APPROVER = "not_an_approver"  # the approver is not in dumps.approvers
    NEEDS_APPROVAL = "needs_approval"  # a direct grant where grants need a second person
    NOT_LINKED = "not_linked"  # the dump's crash is not linked to the incident named
    REQUEST_CLOSED = "request_closed"  # the request was decided already or expired
    ENROLLED_AFTER_REQUEST = "enrolled_after_request"  # the approver's identity is newer than the request
    ENROLLED_BY_REQUESTER = "enrolled_by_requester"  # the approver's credential was made by the requester
    FOREIGN_CONFIG = "foreign_config"  # a debug command under a configuration that is not the home's own
    # identities (enrolment is an administrative act)
    NOT_AN_ADMINISTRATOR = "not_an_administrator"  # neither an approver nor the home's owner with --as-admin
    IDENTITY_EXISTS = "identity_exists"  # enrolled already: revoke it first, never replaced silently
    NO_SUCH_IDENTITY = "no_such_identity"  # nothing enrolled (or already revoked) to revoke
    # attestation checks
    NO_ATTESTATION = "no_attestation"
    UNREADABLE_ATTESTATION = "unreadable_attestation"
    NO_ATTESTATION_KEY = "no_attestation_key"
    BAD_MAC = "bad_mac"
    UNREADABLE_OUTPUT = "unreadable_output"
    OUTPUT_MISMATCH = "output_mismatch"
    NOT_CLEAN = "not_clean"


__all__ = ["DumpReason", "DumpState"]
