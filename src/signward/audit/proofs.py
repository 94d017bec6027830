"""Offline verification of the audit log's proofs: what an auditor or a relying party runs with
a proof, a checkpoint and the pinned audit public key, without any access to the database.

A proof document is what `signward audit prove` / `audit consistency` print (JSON). Every field
is bounded and type-checked; a malformed document is a `UsageError` (exit 2), a proof that does
not hold is a `ProofCheck` with `ok` false and the reason (exit 1).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from ..errors import UsageError
from ..verify.keyset import KeyDropped, load_key
from .merkle import MAX_PROOF_HASHES, leaf_hash, verify_consistency, verify_inclusion
from .note import Checkpoint, NoteError, open_note

MAX_LEAF_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ProofCheck:
    ok: bool
    kind: str
    reason: str
    tree_size: int = 0
    root: str = ""
    record: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "type": self.kind, "reason": self.reason, "tree_size": self.tree_size,
                "root": self.root, **({"record": self.record} if self.record else {})}


def audit_public_key(jwk: Any) -> ec.EllipticCurvePublicKey:
    if not isinstance(jwk, dict):
        raise UsageError("the audit key is not a JWK object")
    try:
        key = load_key({**jwk, "kid": "audit", "alg": "ES256"}, None).public_key
    except KeyDropped as exc:
        raise UsageError(f"the audit key is not usable: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise UsageError("the audit key is not a P-256 key")
    return key


def _int(doc: dict[str, Any], name: str) -> int:
    value = doc.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
        raise UsageError(f"the proof's {name} is not a non-negative integer")
    return value


def _hashes(doc: dict[str, Any]) -> list[bytes]:
    values = doc.get("hashes")
    if not isinstance(values, list) or len(values) > MAX_PROOF_HASHES:
        raise UsageError(f"the proof's hashes are not a list of at most {MAX_PROOF_HASHES}")
    out = []
    for value in values:
        try:
            digest = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
        except (binascii.Error, ValueError):
            digest = b""
        if len(digest) != 32:
            raise UsageError("a proof hash is not 32 bytes of base64")
        out.append(digest)
    return out


def _open(note: Any, origin: str | None, key: ec.EllipticCurvePublicKey, what: str) -> Checkpoint | str:
    """The checkpoint, or the reason it is not one signed by `key`."""
    if not isinstance(note, str) or not note:
        raise UsageError(f"no {what} to verify against (give it, or a proof that carries one)")
    try:
        return open_note(note, origin or note.split("\n", 1)[0], key)
    except NoteError as exc:
        return f"the {what} is not signed by the audit key: {exc}"


def verify_proof(proof: Any, key_jwk: Any, checkpoint: str | None = None, old_checkpoint: str | None = None,
                 origin: str | None = None) -> ProofCheck:
    """Check an inclusion or consistency proof against signed checkpoints."""
    if not isinstance(proof, dict) or proof.get("type") not in ("inclusion", "consistency"):
        raise UsageError("not a signward audit proof (type inclusion or consistency)")
    kind = str(proof["type"])
    key = audit_public_key(key_jwk)
    head = _open(checkpoint or proof.get("checkpoint"), origin, key, "checkpoint")
    if isinstance(head, str):
        return ProofCheck(False, kind, head)
    size, hashes = _int(proof, "tree_size"), _hashes(proof)
    root = head.root.hex()
    if size != head.size:
        return ProofCheck(False, kind, f"the proof is for a tree of {size}, the checkpoint has {head.size}",
                          head.size, root)
    old_note = old_checkpoint or (proof.get("old_checkpoint") if kind == "consistency" else None)
    old = _open(old_note, origin, key, "old checkpoint") if old_note else None
    if isinstance(old, str):
        return ProofCheck(False, kind, old, size, root)
    if old is not None:
        if old.origin != head.origin:
            return ProofCheck(False, kind, "the two checkpoints are of different logs", size, root)
        if old.size == head.size and old.root != head.root:
            return ProofCheck(False, kind, f"fork: two signed checkpoints of size {size} with different roots",
                              size, root)
        if old.size > head.size:
            return ProofCheck(False, kind, f"the checkpoint ({head.size}) is older than the old one ({old.size}): "
                                           "a rollback", size, root)
    if kind == "inclusion":
        index = _int(proof, "index")
        leaf = proof.get("leaf")
        try:
            body = base64.b64decode(leaf, validate=True) if isinstance(leaf, str) else None
        except (binascii.Error, ValueError):
            body = None
        if body is None or len(body) > MAX_LEAF_BYTES:
            raise UsageError("the proof's leaf is not base64 of at most 1 MiB")
        if not verify_inclusion(index, size, leaf_hash(body), hashes, head.root):
            return ProofCheck(False, kind, f"the inclusion proof of leaf {index} does not reach the signed root",
                              size, root)
        return ProofCheck(True, kind, f"record {index + 1} is in the log of {size} records", size, root,
                          _record(body))
    old_size = _int(proof, "old_size")
    if old is None:
        raise UsageError("a consistency proof needs the old checkpoint (--old-checkpoint)")
    if old.size != old_size:
        return ProofCheck(False, kind, f"the proof starts at {old_size}, the old checkpoint has {old.size}",
                          size, root)
    if not verify_consistency(old.size, size, old.root, head.root, hashes):
        return ProofCheck(False, kind, f"the log of {size} records does not extend the one of {old.size} "
                                       "(consistency proof fails)", size, root)
    return ProofCheck(True, kind, f"the log of {size} records extends the one of {old.size}", size, root)


def _record(body: bytes) -> dict[str, Any]:
    """The record a leaf encodes (for display; the proof is over its bytes)."""
    try:
        seq, time, actor, action, obj, severity, details, prev = json.loads(body)
        return {"seq": seq, "time": float(time), "actor": actor, "action": action, "object": obj,
                "severity": severity, "details": json.loads(details), "prev_hash": prev}
    except (ValueError, TypeError):
        return {}


__all__ = ["ProofCheck", "audit_public_key", "verify_proof"]
