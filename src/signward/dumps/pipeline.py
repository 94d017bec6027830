"""The crash-dump pipeline: capture into quarantine, sanitize, release through the gate into
the debugging store, grant and fetch, expire. Every step is audited and fails closed: any
error leaves the dump in quarantine with a reason, and nothing is released unscanned.

States: quarantined -> sanitized -> released, or refused (with a reason) at any step;
deleted when retention ends. Transitions are conditional updates (WHERE state = ...), so
two commands racing on one dump cannot both move it.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..audit import AuditLog
from ..clock import Clock
from ..errors import DumpFormatError, DumpRefused, NotFound, Refusal, SignwardError, UsageError
from ..home import Config, Home
from ..scan.files import copy_hashing
from ..scan.knownkeys import KnownKeys, known_from_documents
from ..store import Store, Transaction
from .access import Access, Grant
from .attestation import attestation_path, sha256_file, verify_attestation
from .canary import Canary
from .debugstore import DebugStore
from .reasons import DumpReason, DumpState
from .sanitize import sanitize

ACTOR = "dumps"
DRILL = "drill"  # the source of a dump a probe made to test the pipeline (never a real incident)
log = logging.getLogger("signward.insecure")
_REASONS = frozenset(r.value for r in DumpReason)


@dataclass(frozen=True)
class DumpRecord:
    id: str
    created: float
    state: DumpState
    reason: str  # a DumpReason value when refused ("retention" or "drill" when deleted), else ""
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
    detail: str = ""  # what the refusing step said, kept apart from the reason

    def to_dict(self) -> dict[str, Any]:
        return {**vars(self), "state": self.state.value}

    def name(self) -> str:
        """The dump as its reader knows it: the file it was captured from, else its id."""
        return self.source[len("file:"):] if self.source.startswith("file:") else f"dump {self.id}"

    @property
    def refusal(self) -> Refusal | None:
        """Why the dump was refused (None unless it was)."""
        if self.state != DumpState.REFUSED or self.reason not in _REASONS:
            return None
        return Refusal(DumpReason(self.reason), self.detail)


@dataclass(frozen=True)
class Fetched:
    """A dump fetched under a live grant (`DumpPipeline.fetch`)."""

    dump: str
    user: str
    file: str  # where the copy was written

    def to_dict(self) -> dict[str, Any]:
        """The JSON of `debug fetch`."""
        return {"dump": self.dump, "user": self.user, "file": self.file}


@dataclass(frozen=True)
class Undeleted:
    """A debugging store that kept its copy of a dump retention deleted."""

    store: str
    error: str

    def to_dict(self) -> dict[str, str]:
        return {"store": self.store, "error": self.error}


@dataclass(frozen=True)
class Deletion:
    """A dump deleted by retention or at the end of its drill: `deleted` only when every copy
    went (`removed_from` the stores that held one); `failed` names each copy that stayed."""

    id: str
    deleted: bool
    removed_from: tuple[str, ...]
    failed: tuple[Undeleted, ...]

    def to_dict(self) -> dict[str, Any]:
        """The JSON of one dump in `dumps expire`."""
        return {"id": self.id, "deleted": self.deleted, "removed_from": list(self.removed_from),
                "failed": [f.to_dict() for f in self.failed]}


class DumpPipeline:
    """One home's quarantine, its sanitizer settings, its debugging stores and its grants.

    Opened by the composition root (`signward.services.open_services(home).pipeline`)."""

    def __init__(self, home: Home, config: Config, store: Store, audit: AuditLog, clock: Clock) -> None:
        self.home = home
        self.config = config
        self.store = store
        self.clock = clock
        self.audit = audit
        home.quarantine_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.debug_store = self.store_at(None)
        self.access = Access(config, store, audit, clock)

    def store_at(self, directory: str | Path | None) -> DebugStore:
        """The debugging store in `directory` (None: the configured one), re-scanning unless weakened."""
        root = self.home.resolve(str(directory)) if directory is not None else self.home.debug_store_dir(self.config)
        return DebugStore(root, rescan=self.config.dumps.store_rescan)

    def _weakened(self, dump_id: str, setting: str, tx: Transaction | None = None) -> None:
        """A weakened control takes effect on this dump: log it and put it on the record."""
        log.warning("INSECURE: dumps.%s takes effect on dump %s", setting, dump_id)
        self.audit.append(ACTOR, "control.weakened", dump_id, {"setting": f"dumps.{setting}"}, severity="warning",
                          tx=tx)

    # keys -----------------------------------------------------------------------------
    def public_documents(self) -> list[dict[str, Any]]:
        """Every realm key ever made (public halves, retired and destroyed too), every tripwire key
        and the canary's."""
        with self.store.snapshot() as tx:
            rows = tx.all("SELECT kid, public_jwk FROM keys UNION ALL SELECT kid, public_jwk FROM tripwires")
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
                signal: int | None = None, crash_time: float | None = None,
                incident: str | None = None) -> DumpRecord:
        """Read a core from `stream` into the quarantine, seal it, record it (linked to
        `incident` if one is named), sanitize it."""
        dump_id = time.strftime("%Y%m%dT%H%M%S", time.gmtime(self.clock.now())) + "-" + secrets.token_hex(4)
        path = self.home.quarantine_dir / f"{dump_id}.core"
        digest, size = copy_hashing(stream, path, self.config.dumps.max_dump_bytes)  # a refusal keeps nothing
        os.chmod(path, 0o400)
        now = self.clock.now()
        with self.store.transaction() as tx:
            tx.execute("INSERT INTO dumps (id, created, updated, source, pid, exe, signal, crash_time, host, state, "
                       "reason, sha256, size, sanitized_sha256, released_to) VALUES "
                       "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, '', '')",
                       (dump_id, now, now, source, pid, exe, signal, crash_time, socket.gethostname(),
                        DumpState.QUARANTINED.value,
                        digest, size))
            self.audit.append(ACTOR, "dump.capture", dump_id, {"pid": pid, "exe": exe, "signal": signal,
                                                               "sha256": digest, "size": size}, tx=tx)
            if incident is not None:
                self.access.link(dump_id, incident, ACTOR, tx)
        self.sanitize(dump_id)
        return self.get(dump_id)

    def sanitize(self, dump_id: str) -> DumpRecord:
        """Sanitize a quarantined dump; a refusal or any error leaves it refused, with the reason."""
        record = self.get(dump_id)
        if record.state != DumpState.QUARANTINED:
            raise UsageError(f"dump {dump_id} is {record.state}, not quarantined")
        source = self.home.quarantine_dir / f"{dump_id}.core"
        out = self.home.quarantine_dir / f"{dump_id}.sanitized"
        dumps = self.config.dumps
        if not dumps.canary_check:
            self._weakened(dump_id, "insecure_skip_canary_check")
        if dumps.detectors is not None:
            self._weakened(dump_id, "insecure_detectors")
        if dumps.insecure_skip_residue_rescan:
            self._weakened(dump_id, "insecure_skip_residue_rescan")
        try:
            canary = self.canary() if dumps.canary_check else None  # unreadable canary material: refused
            if dumps.canary_check and canary is None:  # `canary = ""` or the file deleted: fail closed
                raise DumpRefused(DumpReason.NO_CANARY, "the canary check is on but the home has no canary "
                                  "material (dumps.canary unset or its file missing); the scanner cannot "
                                  "prove itself on this dump (switching it off is dumps.insecure_skip_canary_check)")
            if sha256_file(source)[0] != record.sha256:
                raise DumpRefused(DumpReason.QUARANTINE_CHANGED, "the sealed core no longer matches its capture hash")
            result = sanitize(source, out, self.home, self.known(), canary, detectors=dumps.detectors,
                              insecure_skip_residue_rescan=dumps.insecure_skip_residue_rescan,
                              max_bytes=dumps.max_dump_bytes, name=record.name())
        except (DumpRefused, DumpFormatError) as exc:
            reason = DumpReason(exc.reason) if isinstance(exc, DumpRefused) else DumpReason.UNREADABLE
            detail = exc.detail if isinstance(exc, DumpRefused) else exc.diagnostics()
            self._move(dump_id, DumpState.QUARANTINED, DumpState.REFUSED, reason,
                       "dump.refused", {"reason": reason.value, "detail": detail}, severity="warning", detail=detail)
            return self.get(dump_id)
        except Exception as exc:  # fail closed: the dump stays in quarantine, refused, with why
            self._move(dump_id, DumpState.QUARANTINED, DumpState.REFUSED, DumpReason.ERROR, "dump.refused",
                       {"reason": DumpReason.ERROR.value, "detail": str(exc)}, severity="warning",
                       detail=f"{exc.__class__.__name__}: {exc}")
            raise
        self._move(dump_id, DumpState.QUARANTINED, DumpState.SANITIZED, "", "dump.sanitized",
                   {"sha256": result.output_sha256, "counts": result.counts,
                    "canaries": result.canaries_found}, sanitized_sha256=result.output_sha256)
        return self.get(dump_id)

    # release --------------------------------------------------------------------------
    def release(self, dump_id: str, to: str | Path | None = None) -> DumpRecord:
        """Copy the sanitized dump into a debugging store (`to`, else the configured one) through
        the gate; DumpRefused if not.

        A dump may be released to several stores; each copy is recorded, so fetches find it and
        retention removes it. A refusal by any store's re-scan marks the dump refused, so no
        gate releases it anywhere again."""
        record = self.get(dump_id)
        target = self.store_at(to)
        gate = self.config.dumps.release_gate
        target.publish_keys(self.public_documents())
        if gate:  # a sanitized dump, or one released to another store already, with its attestation
            if record.state not in (DumpState.SANITIZED, DumpState.RELEASED):
                self._refuse_release(dump_id, DumpReason.NOT_SANITIZED, f"state is {record.state}")
            if not self._claim(dump_id, record.state, DumpState.RELEASING):
                self._refuse_release(dump_id, DumpReason.NOT_SANITIZED, "another command moved it first")
            chosen = self.home.quarantine_dir / f"{dump_id}.sanitized"
        else:  # no gate: whatever is there goes, refused dumps included (the lab's 2021 setting)
            sanitized = self.home.quarantine_dir / f"{dump_id}.sanitized"
            chosen = sanitized if sanitized.exists() else self.home.quarantine_dir / f"{dump_id}.core"
            with self.store.transaction() as tx:
                tx.execute("UPDATE dumps SET state = ?, updated = ? WHERE id = ?",
                           (DumpState.RELEASING.value, self.clock.now(), dump_id))
                self._weakened(dump_id, "insecure_no_release_gate", tx)
        if not target.rescan:
            self._weakened(dump_id, "insecure_skip_store_rescan")
        staged = target.staging() / f"{dump_id}.{secrets.token_hex(4)}.part"
        try:
            digest, _ = copy_hashing(chosen, staged)
            if gate:
                check = verify_attestation(chosen, self.home, expected_sha256=record.sanitized_sha256)
                if not check.valid or digest != record.sanitized_sha256:
                    raise DumpRefused(DumpReason.ATTESTATION_MISMATCH,
                                      f"{check.reason}: {check.detail}" if check.reason
                                      else "the bytes copied are not the bytes attested")
            target.receive(dump_id, staged)
        except DumpRefused as refusal:
            staged.unlink(missing_ok=True)
            self._move(dump_id, DumpState.RELEASING, DumpState.REFUSED, refusal.reason,
                       "dump.release_refused", refusal.refusal.to_dict(), severity="alert", detail=refusal.detail)
            raise
        except Exception:
            staged.unlink(missing_ok=True)
            self._move(dump_id, DumpState.RELEASING, record.state, "", "dump.release_failed", {},
                       severity="warning")
            raise
        now = self.clock.now()
        self._move(dump_id, DumpState.RELEASING, DumpState.RELEASED, "", "dump.release",
                   {"store": str(target.root), "sha256": digest, "gate": gate}, released_to=str(target.root),
                   copy_in=str(target.root), now=now)
        return self.get(dump_id)

    def copies(self, dump_id: str) -> list[str]:
        """Every debugging store this dump was released to (newest first)."""
        with self.store.snapshot() as tx:
            return [r["store"] for r in tx.all("SELECT store FROM dump_copies WHERE dump_id = ? "
                                               "ORDER BY released DESC, store", (dump_id,))]

    def _refuse_release(self, dump_id: str, reason: DumpReason, detail: str) -> None:
        self.audit.append(ACTOR, "dump.release_refused", dump_id, {"reason": reason.value, "detail": detail},
                          severity="warning")
        raise DumpRefused(reason, detail)

    # grants and fetches ---------------------------------------------------------------
    def grant(self, dump_id: str, user: str, ttl: float, granted_by: str) -> Grant:
        """A direct grant: refused unless `dumps.insecure_self_grant` (`access.py`)."""
        return self.access.grant(dump_id, user, ttl, granted_by)

    def fetch(self, dump_id: str, user: str, out: Path) -> Fetched:
        """Copy a released dump to `out` for `user`: a live grant, under the hourly limit.

        The dump is read from whichever debugging store holds a copy."""
        if os.path.lexists(out):  # never replace a path the tool did not write (/dev/null included)
            raise UsageError(f"{out} exists; fetch writes only a new file")
        if not out.parent.is_dir():
            raise UsageError(f"{out.parent}: no such directory")
        reason = self._fetch_refusal(dump_id, user, record=True)
        if reason is not None:
            raise DumpRefused(reason, f"{user} may not fetch {dump_id}")
        staged = out.with_name(f".{out.name}.{secrets.token_hex(4)}.part")
        try:  # the copy first: a fetch that fails to write is neither recorded nor counted
            copy_hashing(self._stored_copy(dump_id), staged)
            os.chmod(staged, 0o600)
            now = self.clock.now()
            with self.store.transaction() as tx:  # the grant and the limit again, with the record
                reason = self._fetch_refusal(dump_id, user, tx=tx)
                if reason is None:
                    grant = tx.one("SELECT id FROM dump_grants WHERE dump_id = ? AND username = ? "
                                   "ORDER BY expires DESC LIMIT 1", (dump_id, user))
                    tx.execute("INSERT INTO dump_fetches (dump_id, username, time) VALUES (?, ?, ?)",
                               (dump_id, user, now))
                    self.audit.append(user, "debug.fetch", dump_id, {"grant": grant["id"] if grant else ""}, tx=tx)
            if reason is not None:
                self._fetch_refusal(dump_id, user, record=True)
                raise DumpRefused(reason, f"{user} may not fetch {dump_id}")
            try:  # published only once the fetch is on the record; a link never replaces a path
                os.link(staged, out)
            except FileExistsError:
                raise UsageError(f"{out} appeared during the fetch; fetch writes only a new file") from None
        finally:
            staged.unlink(missing_ok=True)
        return Fetched(dump_id, user, str(out))

    def _fetch_refusal(self, dump_id: str, user: str, record: bool = False,
                       tx: Transaction | None = None) -> DumpReason | None:
        """Why `user` may not fetch `dump_id` now (no grant, expired, over the hourly limit), or
        None; with `record`, a refusal is audited (the bulk-fetch refusal at alert)."""
        if tx is None:
            with self.store.transaction() as own:
                return self._fetch_refusal(dump_id, user, record, own)
        now = self.clock.now()
        grant = tx.one("SELECT id, expires FROM dump_grants WHERE dump_id = ? AND username = ? "
                       "ORDER BY expires DESC LIMIT 1", (dump_id, user))
        recent = tx.one("SELECT COUNT(*) AS n FROM dump_fetches WHERE username = ? AND time > ?", (user, now - 3600))
        reason = (DumpReason.NO_GRANT if grant is None else DumpReason.GRANT_EXPIRED if grant["expires"] <= now
                  else DumpReason.RATE_LIMIT
                  if recent is not None and recent["n"] >= self.config.dumps.max_fetches_per_hour else None)
        if reason is not None and record:
            unapproved = reason is DumpReason.NO_GRANT and self.config.dumps.grant_approval
            severity = "alert" if reason is DumpReason.RATE_LIMIT or unapproved else "warning"
            action = "debug.bulk_fetch" if reason is DumpReason.RATE_LIMIT else "debug.fetch_refused"
            self.audit.append(user, action, dump_id, {"reason": reason.value}, severity=severity, tx=tx)
        return reason

    def _stored_copy(self, dump_id: str) -> Path:
        tried = []
        for root in [*self.copies(dump_id), str(self.debug_store.root)]:
            try:
                return DebugStore.existing(Path(root)).open(dump_id)
            except FileNotFoundError:
                tried.append(root)
        raise NotFound(f"dump {dump_id} is in none of the debugging stores it was released to "
                       f"({', '.join(dict.fromkeys(tried))})")

    # retention and listing ------------------------------------------------------------
    def expire(self) -> list[Deletion]:
        """Delete every copy of every dump older than the retention; say which could not go."""
        cutoff = self.clock.now() - self.config.dumps.retention_days * 86400
        with self.store.snapshot() as tx:
            rows = tx.all("SELECT id, state FROM dumps WHERE created < ? AND state != ?",
                          (cutoff, DumpState.DELETED.value))
        return [self._delete(row["id"], row["state"], "retention",
                             {"retention_days": self.config.dumps.retention_days}) for row in rows]

    def discard_drill(self, dump_id: str) -> Deletion:
        """Delete every copy of a drill dump (captured with source 'drill') once its drill is over."""
        record = self.get(dump_id)
        if record.source != DRILL:
            raise UsageError(f"dump {dump_id} is not a drill dump; only retention deletes it")
        return self._delete(dump_id, record.state, "drill", {"drill": True})

    def _delete(self, dump_id: str, state: str, reason: str, details: dict[str, Any]) -> Deletion:
        for path in (self.home.quarantine_dir / f"{dump_id}.core", self.home.quarantine_dir / f"{dump_id}.sanitized",
                     attestation_path(self.home.quarantine_dir / f"{dump_id}.sanitized"),
                     self.home.quarantine_dir / f".{dump_id}.sanitized.lock"):
            path.unlink(missing_ok=True)
        removed: list[str] = []
        failed: list[Undeleted] = []
        for root in dict.fromkeys([*self.copies(dump_id), str(self.debug_store.root)]):
            try:
                if DebugStore.existing(Path(root)).delete(dump_id):
                    removed.append(root)
            except OSError as exc:
                failed.append(Undeleted(root, exc.strerror or str(exc)))
        if failed:  # not every copy is gone: it stays on the list, and the log says where
            self.audit.append(ACTOR, "dump.delete_failed", dump_id,
                              {"failed": [f.to_dict() for f in failed], "removed": removed},
                              severity="alert")
        else:
            self._move(dump_id, state, DumpState.DELETED, reason, "dump.delete", {**details, "stores": removed})
        return Deletion(dump_id, not failed, tuple(removed), tuple(failed))

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
    def _claim(self, dump_id: str, expected: DumpState, new: DumpState) -> bool:
        with self.store.transaction() as tx:
            return tx.execute("UPDATE dumps SET state = ?, updated = ? WHERE id = ? AND state = ?",
                              (new.value, self.clock.now(), dump_id, expected.value)) == 1

    def _move(self, dump_id: str, expected: str, new: DumpState, reason: str, action: str, details: dict[str, Any],
              severity: str = "info", copy_in: str = "", now: float | None = None, detail: str = "",
              **columns: str) -> None:
        sets = "".join(f", {name} = ?" for name in columns)
        now = self.clock.now() if now is None else now
        with self.store.transaction() as tx:
            changed = tx.execute(f"UPDATE dumps SET state = ?, reason = ?, detail = ?, updated = ?{sets} "
                                 "WHERE id = ? AND state = ?",
                                 (new.value, str(reason), detail, now, *columns.values(), dump_id, str(expected)))
            if changed != 1:
                raise SignwardError(f"dump {dump_id} was not {expected}; refusing to move it to {new}")
            if copy_in:
                tx.execute("DELETE FROM dump_copies WHERE dump_id = ? AND store = ?", (dump_id, copy_in))
                tx.execute("INSERT INTO dump_copies (dump_id, store, released) VALUES (?, ?, ?)",
                           (dump_id, copy_in, now))
            self.audit.append(ACTOR, action, dump_id, details, severity=severity, tx=tx)


def _record(row: dict[str, Any]) -> DumpRecord:
    values = {name: row[name] for name in DumpRecord.__dataclass_fields__}
    values["state"] = DumpState(values["state"])
    return DumpRecord(**values)


__all__ = ["Deletion", "DumpPipeline", "DumpRecord", "Fetched", "Undeleted"]
