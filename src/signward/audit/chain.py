"""Audit records and their hash chain.

Each record carries the SHA-256 of the previous record; its own hash covers every field in
a canonical JSON encoding (sorted keys, no spaces, UTF-8), so any change to any byte of any
stored field, a deletion, a reordering or an insertion breaks the chain at a named record.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from ..compact_json import CompactEncoder

GENESIS = "0" * 64
SEVERITIES = ("info", "warning", "alert")


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    time: float
    actor: str
    action: str
    object: str
    severity: str
    details: dict[str, Any]
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "time": self.time, "actor": self.actor, "action": self.action,
                "object": self.object, "severity": self.severity, "details": self.details,
                "prev_hash": self.prev_hash, "hash": self.hash}


# one encoder each, not one built per json.dumps call with these options (issue 39); same text
_DETAILS = CompactEncoder(sort_keys=True, ensure_ascii=False, default=str)  # and one C encoder each (compact_json)
_BODY = CompactEncoder(ensure_ascii=False)


def canonical_details(details: dict[str, Any]) -> str:
    return _DETAILS.encode(details)


def record_body(seq: int, time: float, actor: str, action: str, obj: str, severity: str, details_json: str,
                prev_hash: str) -> bytes:
    """The canonical encoding of every stored field (details as stored text): what the chain
    hashes and what the Merkle tree takes as the record's leaf."""
    return _BODY.encode([seq, repr(float(time)), actor, action, obj, severity, details_json, prev_hash]).encode("utf-8")


def row_body(row: dict[str, Any]) -> bytes:
    return record_body(row["seq"], row["time"], row["actor"], row["action"], row["object"], row["severity"],
                       row["details"], row["prev_hash"])


def record_hash(seq: int, time: float, actor: str, action: str, obj: str, severity: str, details_json: str,
                prev_hash: str) -> str:
    """SHA-256 over the canonical encoding of every stored field (details as stored text)."""
    return hashlib.sha256(record_body(seq, time, actor, action, obj, severity, details_json, prev_hash)).hexdigest()


@dataclass(frozen=True)
class Break:
    """The first place the chain does not hold."""

    seq: int | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "reason": self.reason}


def check_chain(rows: list[dict[str, Any]], anchor_seq: int = 0, anchor_hash: str = GENESIS) -> Break | None:
    """Recompute the chain over stored rows (ordered by seq) from an anchor; the first break or None."""
    expected_seq, prev = anchor_seq + 1, anchor_hash
    for row in rows:
        seq = row["seq"]
        if seq != expected_seq:
            return Break(expected_seq if seq > expected_seq else seq,
                         "gap: record missing" if seq > expected_seq else "sequence out of order")
        if row["prev_hash"] != prev:
            return Break(seq, "previous-hash link broken (reordered, inserted or altered)")
        if row["severity"] not in SEVERITIES:
            return Break(seq, "unknown severity")
        try:
            json.loads(row["details"])
        except (TypeError, ValueError):
            return Break(seq, "details are not JSON")
        try:
            digest = hashlib.sha256(row_body(row)).hexdigest()
        except (TypeError, ValueError):
            return Break(seq, "a field has the wrong type")
        if digest != row["hash"]:
            return Break(seq, "record hash does not match its contents")
        expected_seq, prev = seq + 1, row["hash"]
    return None
