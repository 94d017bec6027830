"""The audit log: append-only hash-chained records in the store, checkpoints signed in the HSM.

Appends take the store's write lock (BEGIN IMMEDIATE), read the head and insert the next
record in one transaction, so concurrent writers (threads or processes) extend one linear
chain. If the write fails, `append` raises and the caller's action must fail with it.
Checkpoints sign the chain head with an audit key generated in the signing backend.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from typing import Any

from ..algorithms import Alg, signature_ok
from ..clock import Clock, SystemClock
from ..errors import AuditIntegrityError, ConfigError, HsmError
from ..hsm.base import CheckedSigner, SigningBackend
from ..keys.jwk import public_jwk
from ..retention import check_retention
from ..store.base import Store, Transaction
from ..verify.keyset import load_key
from .anchors import Anchors, canonical
from .chain import GENESIS, SEVERITIES, AuditRecord, Break, canonical_details, check_chain, record_hash

log = logging.getLogger("signward.audit")


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    records: int
    checkpoints: int
    head_seq: int
    broken: Break | None

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "records": self.records, "checkpoints": self.checkpoints, "head_seq": self.head_seq,
                "broken": self.broken.to_dict() if self.broken else None}


def _details(row: dict[str, Any]) -> dict[str, Any]:
    try:
        value = json.loads(row["details"])
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


class AuditLog:
    def __init__(self, store: Store, backend: SigningBackend | None = None, clock: Clock | None = None,
                 checkpoint_every: int = 1000, anchors: Anchors | None = None) -> None:
        """`anchors`: where the pinned audit key and the latest checkpoint are kept outside the
        database (`signward.services` gives the home's); without them the log trusts its rows."""
        if checkpoint_every < 1:
            raise ConfigError("checkpoint_every must be at least 1")
        self.anchors = anchors
        self.store = store
        self.backend = backend
        self.clock = clock or SystemClock()
        self.checkpoint_every = checkpoint_every

    def append(self, actor: str, action: str, obj: str = "", details: dict[str, Any] | None = None,
               severity: str = "info", tx: Transaction | None = None) -> AuditRecord:
        """Write one record; raises (StoreError) if it cannot be written: the action must fail.

        Given the caller's write transaction `tx`, the record commits or rolls back with the
        action it records."""
        if severity not in SEVERITIES:
            raise ConfigError(f"severity must be one of {SEVERITIES}")
        details_json = canonical_details(details or {})
        if tx is None:
            with self.store.transaction() as own:
                record = self._insert(own, actor, action, obj, severity, details_json)
        else:
            record = self._insert(tx, actor, action, obj, severity, details_json)
        if self.backend is not None and tx is None and record.seq % self.checkpoint_every == 0:
            try:
                self.checkpoint()
            except HsmError as exc:  # the record stands; the next checkpoint covers it (or `audit checkpoint`)
                log.error("audit checkpoint at record %s failed: %s", record.seq, exc.diagnostics())
        return record

    def _insert(self, tx: Transaction, actor: str, action: str, obj: str, severity: str,
                details_json: str) -> AuditRecord:
        head = tx.one("SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1")
        if head is None:  # empty, or everything pruned: continue from the last signed head
            head = tx.one("SELECT seq, head_hash AS hash FROM audit_checkpoints ORDER BY seq DESC LIMIT 1")
        seq = (head["seq"] + 1) if head else 1
        prev = head["hash"] if head else GENESIS
        now = self.clock.now()
        digest = record_hash(seq, now, actor, action, obj, severity, details_json, prev)
        tx.execute("INSERT INTO audit_records (seq, time, actor, action, object, severity, details, prev_hash, "
                   "hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (seq, now, actor, action, obj, severity, details_json, prev, digest))
        return AuditRecord(seq, now, actor, action, obj, severity, json.loads(details_json), prev, digest)
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

    def checkpoint_if_due(self) -> dict[str, Any] | None:
        """Sign the head when `checkpoint_every` records or more are unsigned (appends made inside
        a caller's transaction cannot checkpoint themselves; services call this when they close
        and the issuer on every rotation check)."""
        if self.backend is None or self.unsigned_tail() < self.checkpoint_every:
            return None
        return self.checkpoint()

    def checkpoint(self) -> dict[str, Any] | None:
        """Sign the current head with the audit key; None when the log is empty."""
        handle, alg = self._audit_key()
        with self.store.snapshot() as tx:
            head = tx.one("SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1")
        if head is None:
            return None
        message = f"signward-audit:{head['seq']}:{head['hash']}".encode()
        if self.backend is None:
            raise ConfigError("checkpoints need a signing backend")
        signature = CheckedSigner(self.backend).sign(handle, alg, message)
        encoded = base64.b64encode(signature).decode()
        with self.store.transaction() as tx:
            tx.execute("INSERT INTO audit_checkpoints (seq, head_hash, time, key_handle, alg, signature) "
                       "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (seq) DO NOTHING",
                       (head["seq"], head["hash"], self.clock.now(), handle, alg.value, encoded))
            key_row = tx.one("SELECT public_jwk FROM audit_keys WHERE key_handle = ?", (handle,))
        if self.anchors is not None:
            published = self.anchors.published()
            if published is None or int(published.get("seq", 0)) <= head["seq"]:
                self.anchors.publish({"seq": head["seq"], "head_hash": head["hash"], "alg": alg.value,
                                      "signature": encoded, "key": json.loads(key_row["public_jwk"]) if key_row else {}})
        return {"seq": head["seq"], "head_hash": head["hash"]}

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
        if broken is None and self.anchors is not None:
            broken = self._check_published(by_seq, head, anchor_seq, pinned_key)
        if broken is None and self.anchors is not None and self.anchors.published() is not None:
            last = max((cp["seq"] for cp in checkpoints), default=anchor_seq)
            if head - last > 2 * self.checkpoint_every:  # a home that signs its log must keep signing it
                broken = Break(last + 1, f"{head - last} records follow the last checkpoint (more than twice "
                                         f"audit.checkpoint_every); run 'signward audit checkpoint'")
        return VerifyResult(broken is None, len(rows), len(checkpoints), head, broken)

    def _check_published(self, by_seq: dict[int, dict[str, Any]], head: int, anchor_seq: int,
                         pinned_key: dict[str, Any] | None) -> Break | None:
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
                                "WHERE r.time < ? ORDER BY c.seq DESC LIMIT 1", (cutoff,))
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
