"""The crash-dump pipeline: capture into quarantine, sanitize, release through the gate into
the debugging store, grant and fetch, expire. Every step is audited and fails closed: any
error leaves the dump in quarantine with a reason, and nothing is released unscanned.

States: quarantined -> sanitized -> released, or refused (with a reason) at any step;
deleted when retention ends. Transitions are conditional updates (WHERE state = ...), so
two commands racing on one dump cannot both move it.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..audit import AuditLog
from ..clock import Clock, SystemClock
from ..errors import DumpFormatError, DumpRefused, NotFound, SignwardError, UsageError
from ..home import Config, Home
from ..store import Store, store_for
from .attestation import attestation_path, sha256_file, verify_attestation
from .canary import Canary
from .debugstore import DirectoryStore
from .knownkeys import KnownKeys, known_from_documents
from .sanitize import sanitize

ACTOR = "dumps"


@dataclass(frozen=True)
class DumpRecord:
    id: str
    created: float
    state: str
    reason: str
    source: str
    pid: int | None
    exe: str
    signal: int | None
    crash_time: float | None
    host: str
    sha256: str
    size: int
    sanitized_sha256: str
    released_to: str

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


class DumpPipeline:
    """One home's quarantine, its sanitizer settings, its debugging store and its grants."""

    def __init__(self, home: Home, config: Config | None = None, store: Store | None = None,
                 clock: Clock | None = None) -> None:
        self.home = home
        self.config = config or home.load_config()
        self.store = store or store_for(self.config.store.url, home.db_path)
        self.clock = clock or SystemClock()
        self.audit = AuditLog(self.store, None, self.clock)
        home.quarantine_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.debug_store = DirectoryStore(home.debug_store_dir(self.config), rescan=self.config.dumps.store_rescan)

    # keys -----------------------------------------------------------------------------
    def public_documents(self) -> list[dict[str, Any]]:
        """Every realm key ever made (public halves, retired and destroyed too) and the canary's."""
        with self.store.snapshot() as tx:
            rows = tx.all("SELECT kid, public_jwk FROM keys")
        documents: list[dict[str, Any]] = [{"keys": [dict(json.loads(r["public_jwk"]), kid=r["kid"]) for r in rows]}]
        canary = self.canary()
        if canary is not None:
            documents.append(canary.public())
        return [d for d in documents if d.get("keys") or d.get("secret_ids")]

    def known(self) -> KnownKeys:
        return known_from_documents(self.public_documents(), "registry")

    def canary(self) -> Canary | None:
        path = self.home.canary_path(self.config)
        return Canary.load(path) if path is not None and path.exists() else None

    # capture --------------------------------------------------------------------------
    def capture(self, stream: IO[bytes], source: str, pid: int | None = None, exe: str = "",
                signal: int | None = None, crash_time: float | None = None) -> DumpRecord:
        """Read a core from `stream` into the quarantine, seal it, record it, sanitize it."""
        dump_id = time.strftime("%Y%m%dT%H%M%S", time.gmtime(self.clock.now())) + "-" + secrets.token_hex(4)
        path = self.home.quarantine_dir / f"{dump_id}.core"
        digest, size = hashlib.sha256(), 0
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            while block := stream.read(8 << 20):
                os.write(descriptor, block)
                digest.update(block)
                size += len(block)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.chmod(path, 0o400)
        now = self.clock.now()
        with self.store.transaction() as tx:
            tx.execute("INSERT INTO dumps (id, created, updated, source, pid, exe, signal, crash_time, host, state, "
                       "reason, sha256, size, sanitized_sha256, released_to) VALUES "
                       "(?, ?, ?, ?, ?, ?, ?, ?, ?, 'quarantined', '', ?, ?, '', '')",
                       (dump_id, now, now, source, pid, exe, signal, crash_time, socket.gethostname(),
                        digest.hexdigest(), size))
            self.audit.append(ACTOR, "dump.capture", dump_id, {"pid": pid, "exe": exe, "signal": signal,
                                                               "sha256": digest.hexdigest(), "size": size}, tx=tx)
        self.sanitize(dump_id)
        return self.get(dump_id)

    def sanitize(self, dump_id: str) -> DumpRecord:
        """Sanitize a quarantined dump; a refusal or any error leaves it refused, with the reason."""
        record = self.get(dump_id)
        if record.state != "quarantined":
            raise UsageError(f"dump {dump_id} is {record.state}, not quarantined")
        source = self.home.quarantine_dir / f"{dump_id}.core"
        out = self.home.quarantine_dir / f"{dump_id}.sanitized"
        canary = self.canary() if self.config.dumps.canary_check else None
        try:
            if sha256_file(source)[0] != record.sha256:
                raise DumpRefused("quarantine_changed", "the sealed core no longer matches its capture hash")
            result = sanitize(source, out, self.home, self.known(), canary,
                              detectors=self.config.dumps.detectors or None)
        except (DumpRefused, DumpFormatError) as exc:
            reason = exc.reason if isinstance(exc, DumpRefused) else "unreadable"
            self._move(dump_id, "quarantined", "refused", f"{reason}: {exc.diagnostics()}", "dump.refused",
                       {"reason": reason, "detail": exc.diagnostics()}, severity="warning")
            return self.get(dump_id)
        except Exception as exc:  # fail closed: the dump stays in quarantine, refused, with why
            self._move(dump_id, "quarantined", "refused", f"error: {exc.__class__.__name__}: {exc}",
                       "dump.refused", {"reason": "error", "detail": str(exc)}, severity="warning")
            raise
        self._move(dump_id, "quarantined", "sanitized", "", "dump.sanitized",
                   {"sha256": result.output_sha256, "counts": result.counts,
                    "canaries": result.canaries_found}, sanitized_sha256=result.output_sha256)
        return self.get(dump_id)

    # release --------------------------------------------------------------------------
    def release(self, dump_id: str) -> DumpRecord:
        """Copy the sanitized dump into the debugging store through the gate; DumpRefused if not.

        A dump may be released to several stores (`--to`); a refusal by any store's re-scan
        marks it refused, so no gate releases it anywhere again."""
        record = self.get(dump_id)
        gate = self.config.dumps.release_gate
        self.debug_store.publish_keys(self.public_documents())
        if gate:  # a sanitized dump, or one released to another store already, with its attestation
            if record.state not in ("sanitized", "released"):
                self._refuse_release(dump_id, "not_sanitized", f"state is {record.state}")
            if not self._claim(dump_id, record.state, "releasing"):
                self._refuse_release(dump_id, "not_sanitized", "another command moved it first")
            chosen = self.home.quarantine_dir / f"{dump_id}.sanitized"
        else:  # no gate: whatever is there goes, refused dumps included (the lab's 2021 setting)
            sanitized = self.home.quarantine_dir / f"{dump_id}.sanitized"
            chosen = sanitized if sanitized.exists() else self.home.quarantine_dir / f"{dump_id}.core"
            with self.store.transaction() as tx:
                tx.execute("UPDATE dumps SET state = 'releasing', updated = ? WHERE id = ?", (self.clock.now(), dump_id))
        staged = self.debug_store.staging() / f"{dump_id}.{secrets.token_hex(4)}.part"
        try:
            digest = _copy_hashing(chosen, staged)
            if gate:
                check = verify_attestation(chosen, self.home, expected_sha256=record.sanitized_sha256)
                if not check["valid"] or digest != record.sanitized_sha256:
                    raise DumpRefused("attestation_mismatch",
                                      check["reason"] or "the bytes copied are not the bytes attested")
            self.debug_store.receive(dump_id, staged)
        except DumpRefused as refusal:
            staged.unlink(missing_ok=True)
            state = "refused"
            self._move(dump_id, "releasing", state, f"{refusal.reason}: {refusal.detail}", "dump.release_refused",
                       {"reason": refusal.reason, "detail": refusal.detail}, severity="alert")
            raise
        except Exception:
            staged.unlink(missing_ok=True)
            self._move(dump_id, "releasing", record.state, "", "dump.release_failed", {},
                       severity="warning")
            raise
        self._move(dump_id, "releasing", "released", "", "dump.release",
                   {"store": str(self.debug_store.root), "sha256": digest, "gate": gate},
                   released_to=str(self.debug_store.root))
        return self.get(dump_id)

    def _refuse_release(self, dump_id: str, reason: str, detail: str) -> None:
        self.audit.append(ACTOR, "dump.release_refused", dump_id, {"reason": reason, "detail": detail},
                          severity="warning")
        raise DumpRefused(reason, detail)

    # grants and fetches ---------------------------------------------------------------
    def grant(self, dump_id: str, user: str, ttl: float, granted_by: str) -> dict[str, Any]:
        record = self.get(dump_id)
        if record.state != "released":
            raise UsageError(f"dump {dump_id} is {record.state}: only released dumps can be granted")
        if not 0 < ttl <= 7 * 86400:
            raise UsageError("--ttl must be positive and at most 7 days")
        grant_id = secrets.token_hex(8)
        now = self.clock.now()
        with self.store.transaction() as tx:
            tx.execute("INSERT INTO dump_grants (id, dump_id, username, granted_by, created, expires) "
                       "VALUES (?, ?, ?, ?, ?, ?)", (grant_id, dump_id, user, granted_by, now, now + ttl))
            self.audit.append(granted_by, "debug.grant", dump_id, {"user": user, "ttl": ttl, "grant": grant_id},
                              tx=tx)
        return {"grant": grant_id, "dump": dump_id, "user": user, "expires": now + ttl}

    def fetch(self, dump_id: str, user: str, out: Path) -> dict[str, Any]:
        """Copy a released dump to `out` for `user`: a live grant, under the hourly limit."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            grant = tx.one("SELECT id, expires FROM dump_grants WHERE dump_id = ? AND username = ? "
                           "ORDER BY expires DESC LIMIT 1", (dump_id, user))
            recent = tx.one("SELECT COUNT(*) AS n FROM dump_fetches WHERE username = ? AND time > ?",
                            (user, now - 3600))
            reason = ("no_grant" if grant is None else "grant_expired" if grant["expires"] <= now else
                      "rate_limit" if recent is not None and recent["n"] >= self.config.dumps.max_fetches_per_hour
                      else "")
            if reason:
                severity = "alert" if reason == "rate_limit" else "warning"
                action = "debug.bulk_fetch" if reason == "rate_limit" else "debug.fetch_refused"
                self.audit.append(user, action, dump_id, {"reason": reason}, severity=severity, tx=tx)
            else:
                tx.execute("INSERT INTO dump_fetches (dump_id, username, time) VALUES (?, ?, ?)", (dump_id, user, now))
                self.audit.append(user, "debug.fetch", dump_id, {"grant": grant["id"] if grant else ""}, tx=tx)
        if reason:
            raise DumpRefused(reason, f"{user} may not fetch {dump_id}")
        staged = out.with_name(f".{out.name}.{secrets.token_hex(4)}.part")
        try:
            _copy_hashing(self.debug_store.open(dump_id), staged)
            os.chmod(staged, 0o600)
            os.replace(staged, out)
        finally:
            staged.unlink(missing_ok=True)
        return {"dump": dump_id, "user": user, "file": str(out)}

    # retention and listing ------------------------------------------------------------
    def expire(self) -> list[str]:
        cutoff = self.clock.now() - self.config.dumps.retention_days * 86400
        with self.store.snapshot() as tx:
            rows = tx.all("SELECT id, state FROM dumps WHERE created < ? AND state != 'deleted'", (cutoff,))
        deleted = []
        for row in rows:
            for suffix in (".core", ".sanitized"):
                path = self.home.quarantine_dir / f"{row['id']}{suffix}"
                path.unlink(missing_ok=True)
            attestation_path(self.home.quarantine_dir / f"{row['id']}.sanitized").unlink(missing_ok=True)
            (self.home.quarantine_dir / f".{row['id']}.sanitized.lock").unlink(missing_ok=True)
            in_store = self.debug_store.delete(row["id"])
            self._move(row["id"], row["state"], "deleted", "retention", "dump.delete",
                       {"retention_days": self.config.dumps.retention_days, "in_store": in_store})
            deleted.append(row["id"])
        return deleted

    def get(self, dump_id: str) -> DumpRecord:
        with self.store.snapshot() as tx:
            row = tx.one("SELECT * FROM dumps WHERE id = ?", (dump_id,))
        if row is None:
            raise NotFound(f"no dump {dump_id!r}")
        return _record(row)

    def list(self) -> list[DumpRecord]:
        with self.store.snapshot() as tx:
            return [_record(r) for r in tx.all("SELECT * FROM dumps ORDER BY created, id")]

    # internals ------------------------------------------------------------------------
    def _claim(self, dump_id: str, expected: str, new: str) -> bool:
        with self.store.transaction() as tx:
            return tx.execute("UPDATE dumps SET state = ?, updated = ? WHERE id = ? AND state = ?",
                              (new, self.clock.now(), dump_id, expected)) == 1

    def _move(self, dump_id: str, expected: str, new: str, reason: str, action: str, details: dict[str, Any],
              severity: str = "info", **columns: str) -> None:
        sets = "".join(f", {name} = ?" for name in columns)
        with self.store.transaction() as tx:
            changed = tx.execute(f"UPDATE dumps SET state = ?, reason = ?, updated = ?{sets} WHERE id = ? AND state = ?",
                                 (new, reason, self.clock.now(), *columns.values(), dump_id, expected))
            if changed != 1:
                raise SignwardError(f"dump {dump_id} was not {expected}; refusing to move it to {new}")
            self.audit.append(ACTOR, action, dump_id, details, severity=severity, tx=tx)

    def close(self) -> None:
        self.store.close()


def _record(row: dict[str, Any]) -> DumpRecord:
    return DumpRecord(**{name: row[name] for name in DumpRecord.__dataclass_fields__})


def _copy_hashing(source: Path, target: Path) -> str:
    """Copy `source` to a new file `target` (fsynced) and return the sha256 of the bytes copied."""
    digest = hashlib.sha256()
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with open(source, "rb") as handle:
            while block := handle.read(8 << 20):
                digest.update(block)
                os.write(descriptor, block)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return digest.hexdigest()


__all__ = ["DumpPipeline", "DumpRecord"]
