"""The audit log: append-only hash-chained records in the store, checkpoints signed in the HSM.

Appends take the store's write lock (BEGIN IMMEDIATE), read the head and insert the next
record in one transaction, so concurrent writers (threads or processes) extend one linear
chain. If the write fails, `append` raises and the caller's action must fail with it.
Checkpoints sign the chain head with an audit key generated in the signing backend.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from ..algorithms import Alg, signature_ok
from ..clock import Clock, SystemClock
from ..errors import AuditIntegrityError, ConfigError, HsmError
from ..hsm.base import CheckedSigner, SigningBackend
from ..keys.jwk import public_jwk
from ..retention import check_retention
from ..store.base import Store, Transaction
from ..verify.keyset import load_key
from .anchors import Anchors, canonical
from .batch import GroupCommit, Pending, Statement
from .chain import GENESIS, SEVERITIES, AuditRecord, Break, canonical_details, check_chain, record_body, row_body
from .merkle import ProofError, Tree, extend, leaf_hash, root_of
from .note import Checkpoint, NoteError, der_signature, key_id, open_note, signed_note

log = logging.getLogger("signward.audit")
_INSERT_RECORD = ("INSERT INTO audit_records (seq, time, actor, action, object, severity, details, prev_hash, hash) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    records: int
    checkpoints: int
    head_seq: int
    broken: Break | None
    # a home's log with records but no audit key and no checkpoint: nothing outside the rows
    # holds it, so whoever can write the database can rewrite the whole chain undetected
    unanchored: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "records": self.records, "checkpoints": self.checkpoints, "head_seq": self.head_seq,
                "broken": self.broken.to_dict() if self.broken else None, "unanchored": self.unanchored}


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint `AuditLog.checkpoint` signed: the chain head (record `seq`, its hash) and the
    Merkle tree head's root and C2SP signed note (both None when the records before it are
    incomplete)."""

    seq: int
    head_hash: str
    root_hash: str | None
    note: str | None

    def to_dict(self) -> dict[str, Any]:
        """The JSON of `audit checkpoint`."""
        return {"seq": self.seq, "head_hash": self.head_hash, "root_hash": self.root_hash, "note": self.note}


def _details(row: dict[str, Any]) -> dict[str, Any]:
    try:
        value = json.loads(row["details"])
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _decode_frontier(text: str | None) -> list[bytes]:
    return [bytes.fromhex(h) for h in json.loads(text)] if text else []


def _ec_key(jwk: dict[str, Any], alg: str) -> ec.EllipticCurvePublicKey:
    key = load_key({**jwk, "kid": "audit", "alg": alg}, None).public_key
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise AuditIntegrityError("the audit key is not an EC key")
    return key


def _open_note(note: str, public: ec.EllipticCurvePublicKey) -> Checkpoint:
    """A note of this log signed by `public`, under the origin its first line names."""
    return open_note(note, note.split("\n", 1)[0], public)


class AuditLog:
    def __init__(self, store: Store, backend: SigningBackend | None = None, clock: Clock | None = None,
                 checkpoint_every: int = 1000, anchors: Anchors | None = None, *, origin: str = "",
                 batch_max: int = 256, batch_wait: float = 0.0,
                 observe_batch: Callable[[int, float], None] | None = None) -> None:
        """`anchors`: where the pinned audit key and the latest checkpoint are kept outside the
        database (`signward.services` gives the home's); without them the log trusts its rows.
        `origin`: the checkpoints' log name (default: derived from the audit key). Appends made
        outside a caller's transaction are group-committed (`batch_max`, `batch_wait`)."""
        if checkpoint_every < 1:
            raise ConfigError("checkpoint_every must be at least 1")
        self.anchors = anchors
        self.store = store
        self.backend = backend
        self.clock = clock or SystemClock()
        self.checkpoint_every = checkpoint_every
        self._origin = origin
        # the compact range of the chain this process extended last: (size, hash of record `size`,
        # frontier); a checkpoint starts from it instead of re-reading every record since the last
        # checkpoint, when the chain still holds that record with that hash (issue 39)
        self._tree: tuple[int, str, tuple[bytes, ...]] | None = None
        self._tree_lock = threading.Lock()
        self._signer: CheckedSigner | None = None
        self.batcher = GroupCommit(self._write_batch, max_batch=batch_max, max_wait=batch_wait,
                                   observe=observe_batch)

    def append(self, actor: str, action: str, obj: str = "", details: dict[str, Any] | None = None,
               severity: str = "info", tx: Transaction | None = None,
               also: Sequence[Statement] = ()) -> AuditRecord:
        """Write one record; raises (StoreError) if it cannot be written: the action must fail.

        Given the caller's write transaction `tx`, the record commits or rolls back with the
        action it records. Otherwise it is group-committed with the appends of other threads,
        together with `also` (statements that must commit with it, as the issued-token row),
        and this returns once it is durable."""
        if severity not in SEVERITIES:
            raise ConfigError(f"severity must be one of {SEVERITIES}")
        details_json = canonical_details(details or {})
        if tx is None:
            record = self.batcher.submit(Pending(actor, action, obj, severity, details_json, tuple(also)))
        else:
            for sql, params in also:
                tx.execute(sql, params)
            record = self._insert(tx, actor, action, obj, severity, details_json)
        if self.backend is not None and tx is None and record.seq % self.checkpoint_every == 0:
            try:
                self.checkpoint()
            except HsmError as exc:  # the record stands; the next checkpoint covers it (or `audit checkpoint`)
                log.error("audit checkpoint at record %s failed: %s", record.seq, exc.diagnostics())
        return record

    def append_batch(self, entries: Sequence[Pending]) -> list[AuditRecord]:
        """Write several records (each with its `also` statements) in one transaction, chained in
        order, now, in the caller's thread; raises (StoreError) if they cannot be written, and then
        none is. The remembered Merkle range grows with them, and a checkpoint is signed when one
        of them lands on a multiple of `checkpoint_every`, as `append` does."""
        records = self.batcher.write_now(list(entries))
        if self.backend is not None and any(r.seq % self.checkpoint_every == 0 for r in records):
            try:
                self.checkpoint()
            except HsmError as exc:  # the records stand; the next checkpoint covers them
                log.error("audit checkpoint at record %s failed: %s", records[-1].seq, exc.diagnostics())
        return records

    @staticmethod
    def _head(tx: Transaction) -> tuple[int, str]:
        head = tx.one("SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1")
        if head is None:  # empty, or everything pruned: continue from the last signed head
            head = tx.one("SELECT seq, head_hash AS hash FROM audit_checkpoints ORDER BY seq DESC LIMIT 1")
        return (int(head["seq"]), str(head["hash"])) if head else (0, GENESIS)

    def _insert(self, tx: Transaction, actor: str, action: str, obj: str, severity: str,
                details_json: str, head: tuple[int, str] | None = None,
                leaves: list[bytes] | None = None) -> AuditRecord:
        """Insert the next record; its Merkle leaf hash is appended to `leaves` when given."""
        last, prev = head if head is not None else self._head(tx)
        seq, now = last + 1, self.clock.now()
        body = record_body(seq, now, actor, action, obj, severity, details_json, prev)
        digest = hashlib.sha256(body).hexdigest()  # chain.record_hash, the body encoded once
        if leaves is not None:
            leaves.append(leaf_hash(body))
        tx.execute(_INSERT_RECORD, (seq, now, actor, action, obj, severity, details_json, prev, digest))
        return AuditRecord(seq, now, actor, action, obj, severity, json.loads(details_json), prev, digest)

    def _write_batch(self, batch: list[Pending]) -> list[AuditRecord]:
        """One transaction: the records' companion statements and the records, chained; with a
        store that has `executemany`, each statement once for the whole batch (issue 39)."""
        records: list[AuditRecord] = []
        leaves: list[bytes] = []
        with self.store.transaction() as tx:
            many = getattr(tx, "executemany", None)
            if many is None or len(batch) < 2:
                start = head = self._head(tx)
                for entry in batch:
                    for sql, params in entry.also:
                        tx.execute(sql, params)
                    record = self._insert(tx, entry.actor, entry.action, entry.obj, entry.severity,
                                          entry.details_json, head, leaves)
                    head = (record.seq, record.hash)
                    records.append(record)
            else:
                start = self._head(tx)
                head = self._write_many(many, start, batch, records, leaves)
        self._grow_tree(start, head, leaves)  # committed: the records are the chain's
        return records

    def _write_many(self, many: Callable[[str, list[Sequence[Any]]], int], head: tuple[int, str],
                    batch: list[Pending], records: list[AuditRecord], leaves: list[bytes]) -> tuple[int, str]:
        """`_write_batch`'s statements grouped: each companion statement's text once with every
        parameter set it has in the batch, then every record in one INSERT; the new head."""
        also: dict[str, list[Sequence[Any]]] = {}
        rows: list[Sequence[Any]] = []
        seq, prev = head
        for entry in batch:
            for sql, params in entry.also:
                also.setdefault(sql, []).append(params)
            seq, now = seq + 1, self.clock.now()
            body = record_body(seq, now, entry.actor, entry.action, entry.obj, entry.severity, entry.details_json,
                               prev)
            digest = hashlib.sha256(body).hexdigest()
            leaves.append(leaf_hash(body))
            rows.append((seq, now, entry.actor, entry.action, entry.obj, entry.severity, entry.details_json, prev,
                         digest))
            details = entry.details if entry.details is not None else json.loads(entry.details_json)
            records.append(AuditRecord(seq, now, entry.actor, entry.action, entry.obj, entry.severity, details, prev,
                                       digest))
            prev = digest
        for sql, params in also.items():
            many(sql, params)
        many(_INSERT_RECORD, rows)
        return seq, prev

    def _grow_tree(self, start: tuple[int, str], head: tuple[int, str], leaves: list[bytes]) -> None:
        """Extend the remembered compact range by a committed batch that follows it directly
        (another process's records in between: it stays where it was, still a valid prefix)."""
        with self._tree_lock:
            tree = self._tree
            if tree is None and start == (0, GENESIS):
                tree = (0, GENESIS, ())  # a new log: its range starts here
            if tree is None or (tree[0], tree[1]) != start:
                return
            frontier, size = extend(tree[2], tree[0], leaves)
            self._tree = (size, head[1], tuple(frontier))

    def _remember_tree(self, size: int, head_hash: str, frontier: list[bytes]) -> None:
        with self._tree_lock:
            if self._tree is None or self._tree[0] < size:
                self._tree = (size, head_hash, tuple(frontier))
    # -- checkpoints ----------------------------------------------------------------------

    def _audit_key(self) -> tuple[str, Alg]:
        if self.backend is None:
            raise ConfigError("checkpoints need a signing backend")
        with self.store.snapshot() as tx:
            row = tx.one("SELECT key_handle, alg, public_jwk FROM audit_keys ORDER BY created_at DESC LIMIT 1")
        if row is not None:
            if self.anchors is not None:  # pinned at creation (or, for an older home, now)
                self.anchors.pin(json.loads(row["public_jwk"]))
            return row["key_handle"], Alg(row["alg"])
        handle, public = self.backend.generate(Alg.ES256, label="signward:audit")
        jwk = public_jwk(public)
        if self.anchors is not None:
            self.anchors.pin(jwk)  # outside the database first: the key the log will be held to
        with self.store.transaction() as tx:
            tx.execute("INSERT INTO audit_keys (key_handle, alg, public_jwk, created_at) VALUES (?, ?, ?, ?)",
                       (handle, Alg.ES256.value, json.dumps(jwk), self.clock.now()))
        return handle, Alg.ES256

    def unsigned_tail(self) -> int:
        """How many records follow the latest checkpoint."""
        with self.store.snapshot() as tx:
            head = tx.one("SELECT MAX(seq) AS seq FROM audit_records")
            last = tx.one("SELECT MAX(seq) AS seq FROM audit_checkpoints")
        return max(0, int((head or {}).get("seq") or 0) - int((last or {}).get("seq") or 0))

    def checkpoint_if_due(self) -> SignedCheckpoint | None:
        """Sign the head when `checkpoint_every` records or more are unsigned (appends made inside
        a caller's transaction cannot checkpoint themselves; services call this when they close
        and the issuer on every rotation check)."""
        if self.backend is None:
            return None
        tail = self.unsigned_tail()
        if tail >= self.checkpoint_every:
            return self.checkpoint()
        if tail and getattr(self.backend, "opened", False) and not self.anchored():
            return self.checkpoint()  # the HSM is open anyway: anchor a log that never was (cheap)
        return None

    def anchored(self) -> bool:
        """Whether anything outside the rows holds this log: a checkpoint, or a pinned audit key."""
        if self.anchors is not None and self.anchors.pinned_key() is not None:
            return True
        with self.store.snapshot() as tx:
            return (tx.one("SELECT 1 AS x FROM audit_checkpoints LIMIT 1") is not None
                    or tx.one("SELECT 1 AS x FROM audit_keys LIMIT 1") is not None)

    def _public(self, handle: str) -> ec.EllipticCurvePublicKey:
        with self.store.snapshot() as tx:
            row = tx.one("SELECT alg, public_jwk FROM audit_keys WHERE key_handle = ?", (handle,))
        if row is None:
            raise AuditIntegrityError(f"audit key {handle} is not registered")
        return _ec_key(json.loads(row["public_jwk"]), row["alg"])

    def origin(self, public: ec.EllipticCurvePublicKey) -> str:
        """The log's name in its checkpoints: `audit.origin`, else one derived from the audit key."""
        return self._origin or f"signward.local/audit/{key_id(public).hex()}"

    def _frontier(self, tx: Transaction, size: int) -> list[bytes] | None:
        """The compact range of the first `size` records, extended from the last checkpoint that
        keeps one, or from the range this process remembers when that one is later and the chain
        still holds its record (same hash, so the same records before it); None when it cannot be
        computed (a gap, or a prefix pruned before frontiers)."""
        prev = tx.one("SELECT seq, frontier FROM audit_checkpoints WHERE frontier IS NOT NULL AND seq <= ? "
                      "ORDER BY seq DESC LIMIT 1", (size,))
        start, frontier = (int(prev["seq"]), _decode_frontier(prev["frontier"])) if prev else (0, [])
        tree = self._tree
        if tree is not None and start < tree[0] <= size:
            at = tx.one("SELECT hash FROM audit_records WHERE seq = ?", (tree[0],))
            if at is not None and at["hash"] == tree[1]:
                start, frontier = tree[0], list(tree[2])
        rows = tx.all("SELECT * FROM audit_records WHERE seq > ? AND seq <= ? ORDER BY seq", (start, size))
        if [r["seq"] for r in rows] != list(range(start + 1, size + 1)):
            return None
        extended, _ = extend(frontier, start, (leaf_hash(row_body(r)) for r in rows))
        if rows:
            self._remember_tree(size, str(rows[-1]["hash"]), extended)
        return extended

    def checkpoint(self) -> SignedCheckpoint | None:
        """Sign the current head with the audit key: the chain head, and the Merkle tree head as
        a C2SP signed note; None when the log is empty."""
        handle, alg = self._audit_key()
        with self.store.snapshot() as tx:
            head = tx.one("SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1")
            frontier = self._frontier(tx, int(head["seq"])) if head is not None else None
        if head is None:
            return None
        message = f"signward-audit:{head['seq']}:{head['hash']}".encode()
        if self.backend is None:
            raise ConfigError("checkpoints need a signing backend")
        if self._signer is None or self._signer.backend is not self.backend:
            self._signer = CheckedSigner(self.backend)  # one per log: the audit key's public key read once
        signer = self._signer
        encoded = base64.b64encode(signer.sign(handle, alg, message)).decode()
        note = root = None
        if frontier is None:
            log.error("audit checkpoint at record %s has no Merkle tree head: the records before it are "
                      "incomplete", head["seq"])
        else:
            public = self._public(handle)
            name = self.origin(public)
            tree_head = Checkpoint(name, int(head["seq"]), root_of(frontier))
            root = tree_head.root.hex()
            note = signed_note(tree_head, name, public,
                               der_signature(signer.sign(handle, alg, tree_head.text().encode())))
        with self.store.transaction() as tx:
            tx.execute("INSERT INTO audit_checkpoints (seq, head_hash, time, key_handle, alg, signature, root_hash, "
                       "frontier, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (seq) DO NOTHING",
                       (head["seq"], head["hash"], self.clock.now(), handle, alg.value, encoded, root,
                        None if frontier is None else json.dumps([h.hex() for h in frontier]), note))
            key_row = tx.one("SELECT public_jwk FROM audit_keys WHERE key_handle = ?", (handle,))
        if self.anchors is not None:
            published = self.anchors.published()
            if published is None or int(published.get("seq", 0)) <= head["seq"]:
                self.anchors.publish({"seq": head["seq"], "head_hash": head["hash"], "alg": alg.value,
                                      "signature": encoded, "key": json.loads(key_row["public_jwk"]) if key_row else {},
                                      **({"note": note} if note else {})})
        return SignedCheckpoint(int(head["seq"]), str(head["hash"]), root, note)

    # -- proofs ---------------------------------------------------------------------------

    def tree(self) -> Tree:
        """The Merkle tree of the retained records, the pruned prefix standing as its checkpoint's
        compact range."""
        with self.store.snapshot() as tx:
            rows = tx.all("SELECT * FROM audit_records ORDER BY seq")
            start = int(rows[0]["seq"]) - 1 if rows else 0
            anchor = tx.one("SELECT frontier FROM audit_checkpoints WHERE seq = ?", (start,)) if start else None
        if start and (anchor is None or anchor["frontier"] is None):
            raise ProofError(f"the records before {start + 1} were pruned without a Merkle compact range")
        return Tree([leaf_hash(row_body(r)) for r in rows], start, _decode_frontier(anchor["frontier"]) if anchor else [])

    def _signed_head(self, size: int | None, covering: int) -> dict[str, Any]:
        """The checkpoint (with a note) of `size`, or the latest; a fresh one when none covers
        `covering` records."""
        with self.store.snapshot() as tx:
            if size is not None:
                row = tx.one("SELECT seq, note FROM audit_checkpoints WHERE seq = ? AND note IS NOT NULL", (size,))
                if row is None:
                    raise ProofError(f"no signed checkpoint of size {size}")
                return row
            row = tx.one("SELECT seq, note FROM audit_checkpoints WHERE note IS NOT NULL ORDER BY seq DESC LIMIT 1")
        if row is None or int(row["seq"]) < covering:
            made = self.checkpoint()
            if made is None or made.note is None:
                raise ProofError("the log has no signed tree head to prove against")
            return {"seq": made.seq, "note": made.note}
        return row

    def prove(self, seq: int, size: int | None = None) -> dict[str, Any]:
        """An inclusion proof of record `seq` in the checkpoint of `size` (default: the latest,
        signed now if none covers the record), with the record and the checkpoint's note."""
        head = self._signed_head(size, seq)
        tree = self.tree()
        hashes = tree.inclusion(seq - 1, int(head["seq"]))
        with self.store.snapshot() as tx:
            row = tx.one("SELECT * FROM audit_records WHERE seq = ?", (seq,))
        if row is None:
            raise ProofError(f"record {seq} is not in the log")
        return {"type": "inclusion", "seq": seq, "index": seq - 1, "tree_size": int(head["seq"]),
                "leaf": base64.b64encode(row_body(row)).decode(), "hashes": [base64.b64encode(h).decode() for h in hashes],
                "checkpoint": head["note"]}

    def consistency(self, old_size: int, size: int | None = None) -> dict[str, Any]:
        """A consistency proof from the tree of `old_size` records to the checkpoint of `size`
        (default: of the current head, signed now unless the latest checkpoint is at the head)."""
        with self.store.snapshot() as tx:
            current = tx.one("SELECT MAX(seq) AS seq FROM audit_records")
        head = self._signed_head(size, max(old_size, int((current or {}).get("seq") or 0)))
        hashes = self.tree().consistency(old_size, int(head["seq"]))
        with self.store.snapshot() as tx:
            old = tx.one("SELECT note FROM audit_checkpoints WHERE seq = ? AND note IS NOT NULL", (old_size,))
        return {"type": "consistency", "old_size": old_size, "tree_size": int(head["seq"]),
                "hashes": [base64.b64encode(h).decode() for h in hashes], "checkpoint": head["note"],
                "old_checkpoint": old["note"] if old else None}

    # -- reading --------------------------------------------------------------------------

    def records(self, action: str | None = None, kid: str | None = None, actor: str | None = None,
                since: float | None = None, severity: str | None = None) -> list[AuditRecord]:
        sql, params = "SELECT * FROM audit_records WHERE 1 = 1", list[Any]()
        for column, value in (("action", action), ("actor", actor), ("severity", severity)):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value)
        if since is not None:
            sql += " AND time >= ?"
            params.append(since)
        with self.store.snapshot() as tx:
            rows = tx.all(sql + " ORDER BY seq", params)
        out = [AuditRecord(r["seq"], r["time"], r["actor"], r["action"], r["object"], r["severity"],
                           json.loads(r["details"]), r["prev_hash"], r["hash"]) for r in rows]
        if kid is not None:
            out = [r for r in out if r.object == kid or r.details.get("kid") == kid]
        return out

    def verify(self, pinned_key: dict[str, Any] | None = None) -> VerifyResult:
        """Recompute the chain from its anchor and every checkpoint signature; name the first break.
        Long: every anchor is checked in one pass (genesis, checkpoints, the pinned key, the
        published head and its history), so the first break is the one named.

        The anchor is the genesis, or after pruning the signed checkpoint just before the
        first retained record, which the retained chain must itself record (`audit.prune`).
        Every checkpoint must be signed by the pinned audit key (`pinned_key`, else the home's
        pinned key file), and the chain must still hold the checkpoint published outside the
        database."""
        if pinned_key is None and self.anchors is not None:
            pinned_key = self.anchors.pinned_key()
        with self.store.snapshot() as tx:
            rows = tx.all("SELECT * FROM audit_records ORDER BY seq")
            checkpoints = tx.all("SELECT * FROM audit_checkpoints ORDER BY seq")
            keys = {r["key_handle"]: r for r in tx.all("SELECT * FROM audit_keys")}
        by_cp = {cp["seq"]: cp for cp in checkpoints}
        broken: Break | None = None
        anchor_seq, anchor_hash = 0, GENESIS
        if rows and rows[0]["seq"] != 1:
            first = rows[0]["seq"]
            cp = by_cp.get(first - 1)
            pruned = [r for r in rows if r["action"] == "audit.prune"
                      and _details(r).get("up_to") == first - 1]
            if cp is None or cp["head_hash"] != rows[0]["prev_hash"]:
                broken = Break(1, "records before the first retained one were removed without a signed anchor")
            elif not pruned:
                broken = Break(first - 1, "records were removed up to a checkpoint without an audit.prune record")
            else:
                anchor_seq, anchor_hash = cp["seq"], cp["head_hash"]
        if broken is None:
            broken = check_chain(rows, anchor_seq, anchor_hash)
        by_seq = {r["seq"]: r for r in rows}
        if broken is None:
            loaded: dict[str, Any] = {}  # each audit key is parsed once, not once per checkpoint
            for cp in checkpoints:
                key_row = keys.get(cp["key_handle"])
                if key_row is None:
                    broken = Break(cp["seq"], "checkpoint signed by an unknown audit key")
                    break
                if pinned_key is not None and canonical(json.loads(key_row["public_jwk"])) != canonical(pinned_key):
                    broken = Break(cp["seq"], "checkpoint signed by a key other than the pinned audit key")
                    break
                if cp["key_handle"] not in loaded:
                    loaded[cp["key_handle"]] = load_key({**json.loads(key_row["public_jwk"]),
                                                         "kid": cp["key_handle"], "alg": key_row["alg"]}, None)
                key = loaded[cp["key_handle"]]
                message = f"signward-audit:{cp['seq']}:{cp['head_hash']}".encode()
                try:
                    signature = base64.b64decode(cp["signature"], validate=True)
                except ValueError:
                    signature = b""
                if not signature_ok(key.public_key, Alg(key_row["alg"]), message, signature):
                    broken = Break(cp["seq"], "checkpoint signature does not verify")
                    break
                if cp["seq"] <= anchor_seq:
                    continue  # its records were pruned; the signature still stands
                row = by_seq.get(cp["seq"])
                if row is None:
                    broken = Break(cp["seq"], "records covered by a signed checkpoint were removed")
                    break
                if row["hash"] != cp["head_hash"]:
                    broken = Break(cp["seq"], "checkpoint does not match the record it signed")
                    break
        head = rows[-1]["seq"] if rows else 0
        published = self.anchors.published() if self.anchors is not None else None
        published_size = int(published.get("seq", 0)) if published and published.get("note") else None
        root_at_published: bytes | None = None
        if broken is None:
            broken, root_at_published = self._check_tree_heads(rows, checkpoints, anchor_seq, keys, published_size)
        if broken is None and self.anchors is not None:
            broken = self._check_published(by_seq, head, anchor_seq, pinned_key, root_at_published)
        if broken is None and self.anchors is not None and self.anchors.pinned_key() is not None:
            broken = self._check_anchored(self.anchors, published, checkpoints)
        if broken is None and self.anchors is not None:
            broken = self._check_history(self.anchors, published, by_seq, head, anchor_seq)
        if broken is None and self.anchors is not None and self.anchors.published() is not None:
            last = max((cp["seq"] for cp in checkpoints), default=anchor_seq)
            if head - last > 2 * self.checkpoint_every:  # a home that signs its log must keep signing it
                broken = Break(last + 1, f"{head - last} records follow the last checkpoint (more than twice "
                                         f"audit.checkpoint_every); run 'signward audit checkpoint'")
        unanchored = (self.anchors is not None and bool(rows) and not checkpoints and not keys
                      and self.anchors.pinned_key() is None and self.anchors.published() is None)
        return VerifyResult(broken is None, len(rows), len(checkpoints), head, broken, unanchored)

    def _check_tree_heads(self, rows: list[dict[str, Any]], checkpoints: list[dict[str, Any]], anchor_seq: int,
                          keys: dict[str, dict[str, Any]], want: int | None) -> tuple[Break | None, bytes | None]:
        """Recompute the Merkle tree over the records and hold every checkpoint's tree head (root,
        compact range, signed note) to it; also return the root at size `want`."""
        heads = {int(cp["seq"]): cp for cp in checkpoints if cp.get("root_hash") and int(cp["seq"]) > anchor_seq}
        if not heads and want is None:
            return None, None
        frontier: list[bytes] = []
        if anchor_seq:
            anchor = next((cp for cp in checkpoints if int(cp["seq"]) == anchor_seq), None)
            if anchor is None or not anchor.get("frontier"):
                return None, None  # pruned before tree heads existed: the chain and signatures stand alone
            frontier = _decode_frontier(anchor["frontier"])
        size, at_want = anchor_seq, None
        for row in rows:
            frontier, size = extend(frontier, size, [leaf_hash(row_body(row))])
            if size == want:
                at_want = root_of(frontier)
            cp = heads.get(size)
            if cp is None:
                continue
            root = root_of(frontier)
            if root.hex() != cp["root_hash"] or _decode_frontier(cp["frontier"]) != frontier:
                return Break(size, "the checkpoint's Merkle tree head does not match the records"), None
            try:
                opened = _open_note(cp["note"] or "", _ec_key(json.loads(keys[cp["key_handle"]]["public_jwk"]),
                                                               cp["alg"]))
            except NoteError as exc:
                return Break(size, f"the checkpoint's signed note does not verify: {exc}"), None
            if opened.size != size or opened.root != root:
                return Break(size, "the checkpoint's signed note is not its tree head"), None
        return None, at_want

    @staticmethod
    def _check_anchored(anchors: Anchors, published: dict[str, Any] | None,
                        checkpoints: list[dict[str, Any]]) -> Break | None:
        """A home whose audit key is pinned has signed its log: the pin is written with the first
        checkpoint, so its published checkpoint and its checkpoint rows must both still be there
        (deleting them is how a rewrite of the whole chain would otherwise verify)."""
        if published is None:
            return Break(0, f"the audit key is pinned ({anchors.key_path}) but the published checkpoint "
                            f"{anchors.checkpoint_path} is gone")
        if not checkpoints:
            return Break(0, f"the audit key is pinned ({anchors.key_path}) but every checkpoint row is gone")
        return None

    @staticmethod
    def _check_history(anchors: Anchors, published: dict[str, Any] | None, by_seq: dict[int, dict[str, Any]],
                       head: int, anchor_seq: int) -> Break | None:
        """The published checkpoint is the newest one ever published (`checkpoint-history`), and
        the chain still holds that one's record: an older checkpoint.json put back is a rollback."""
        newest = anchors.history_head()
        if newest is None:
            return None
        seq, head_hash = newest
        try:
            at = (int(published["seq"]), str(published["head_hash"])) if published is not None else None
        except (KeyError, TypeError, ValueError):
            at = None
        if at != (seq, head_hash):
            return Break(seq, f"the published checkpoint is not the newest one published (at {seq}, "
                              f"{anchors.history_path}): rolled back")
        if seq > head:
            return Break(head + 1, f"the log ends at {head}, before the checkpoint published at {seq} (rolled back)")
        row = by_seq.get(seq)
        if seq > anchor_seq and (row is None or row["hash"] != head_hash):
            return Break(seq, "the chain no longer holds the record of the newest published checkpoint")
        return None

    def _check_published(self, by_seq: dict[int, dict[str, Any]], head: int, anchor_seq: int,
                         pinned_key: dict[str, Any] | None, root: bytes | None = None) -> Break | None:
        """The checkpoint published outside the database: signed by the pinned key, and its
        record still in the chain with the same hash (or pruned behind the anchor)."""
        if self.anchors is None:
            return None
        published = self.anchors.published()
        if published is None:
            return None
        try:
            seq, head_hash = int(published["seq"]), str(published["head_hash"])
            key_jwk = pinned_key if pinned_key is not None else dict(published["key"])
            key = load_key({**key_jwk, "kid": "audit", "alg": str(published["alg"])}, None)
            signature = base64.b64decode(str(published["signature"]), validate=True)
        except (KeyError, TypeError, ValueError):
            return Break(0, f"the published checkpoint {self.anchors.checkpoint_path} is unreadable")
        if not signature_ok(key.public_key, Alg(str(published["alg"])), f"signward-audit:{seq}:{head_hash}".encode(),
                            signature):
            return Break(seq, "the published checkpoint is not signed by the pinned audit key")
        if seq > head:
            return Break(head + 1, f"the log ends at {head}, before the published checkpoint at {seq} (truncated)")
        if seq <= anchor_seq:
            return None  # pruned behind a signed anchor
        row = by_seq.get(seq)
        if row is None or row["hash"] != head_hash:
            return Break(seq, "the chain no longer holds the record of the published checkpoint (rewritten)")
        if published.get("note"):
            try:
                if not isinstance(key.public_key, ec.EllipticCurvePublicKey):
                    raise NoteError("the audit key is not an EC key")
                opened = _open_note(str(published["note"]), key.public_key)
            except NoteError as exc:
                return Break(seq, f"the published checkpoint's note does not verify: {exc}")
            if opened.size != seq or opened.root != root:
                return Break(seq, "the published tree head is not the log's tree head at that size (a fork)")
        return None

    # -- retention ------------------------------------------------------------------------

    def prune(self, retention_seconds: float, max_verify_window: float, actor: str = "system", *,
              insecure_below_floor: bool = False) -> dict[str, Any]:
        """Remove whole checkpointed segments older than the retention; never below the floor.

        Only records up to a signed checkpoint whose head is older than the cutoff go; the
        prune itself is an audit record, so the retained chain says where it is anchored."""
        if insecure_below_floor:  # the lab's 2021 setting only: logged, and said in the prune record
            log.warning("INSECURE: pruning the audit log below its retention floor")
        else:
            check_retention(retention_seconds, max_verify_window)
        cutoff = self.clock.now() - retention_seconds
        self.require_intact()
        with self.store.transaction() as tx:
            candidates = tx.all("SELECT c.seq FROM audit_checkpoints c JOIN audit_records r ON r.seq = c.seq "
                                "WHERE r.time < ? AND c.frontier IS NOT NULL ORDER BY c.seq DESC LIMIT 1", (cutoff,))
            if not candidates:
                return {"pruned": 0, "up_to": None}
            up_to = candidates[0]["seq"]
            removed = tx.execute("DELETE FROM audit_records WHERE seq <= ?", (up_to,))
            self._insert(tx, actor, "audit.prune", f"up_to:{up_to}", severity="warning",
                         details_json=canonical_details({"up_to": up_to, "removed": removed, "cutoff": cutoff,
                                                         "insecure_below_floor": insecure_below_floor}))
        return {"pruned": removed, "up_to": up_to}

    def require_intact(self) -> None:
        result = self.verify()
        if result.broken is not None:
            raise AuditIntegrityError(f"audit chain broken at record {result.broken.seq}: {result.broken.reason}")
