"""The audit log does not trust its own database: a pinned key and a published checkpoint
outside it catch what a writer of the database could otherwise rewrite undetected."""

from __future__ import annotations

import base64
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from signward.audit import Anchors, AuditLog, record_hash
from signward.clock import FixedClock
from signward.hsm import SigningBackend
from signward.keys import public_jwk
from signward.store import open_store


def anchored_log(tmp_path: Path, backend: SigningBackend) -> tuple[AuditLog, Path, Anchors]:
    db = tmp_path / "a.db"
    anchors = Anchors(tmp_path / "audit")
    log = AuditLog(open_store(db), backend, FixedClock(1_800_000_000), checkpoint_every=1000, anchors=anchors)
    for i in range(10):
        log.append("alice", "token.issue", f"jti-{i}")
    log.checkpoint()
    assert log.verify().ok and anchors.pinned_key() is not None and anchors.published()["seq"] == 10  # type: ignore[index]
    return log, db, anchors


def _rehash_from(conn: sqlite3.Connection, first: int) -> None:
    """What a writer of the database does: recompute every hash from `first` on."""
    prev = conn.execute("SELECT hash FROM audit_records WHERE seq = ?", (first - 1,)).fetchone()[0]
    for row in conn.execute("SELECT seq, time, actor, action, object, severity, details FROM audit_records "
                            "WHERE seq >= ? ORDER BY seq", (first,)).fetchall():
        digest = record_hash(*row, prev)
        conn.execute("UPDATE audit_records SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, digest, row[0]))
        prev = digest


def test_history_rewritten_and_checkpoints_deleted_is_caught(tmp_path: Path, backend: SigningBackend) -> None:
    log, db, _ = anchored_log(tmp_path, backend)
    conn = sqlite3.connect(db)
    conn.execute("UPDATE audit_records SET actor = 'mallory' WHERE seq = 3")
    _rehash_from(conn, 3)
    conn.execute("DELETE FROM audit_checkpoints")
    conn.commit()
    conn.close()
    result = log.verify()
    assert not result.ok and result.broken is not None and "published checkpoint" in result.broken.reason
    assert AuditLog(open_store(db)).verify().ok  # without the anchors the rewrite passes: why they exist


def test_an_audit_key_of_ones_own_is_caught(tmp_path: Path, backend: SigningBackend) -> None:
    log, db, _ = anchored_log(tmp_path, backend)
    forger = ec.generate_private_key(ec.SECP256R1())
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO audit_keys (key_handle, alg, public_jwk, created_at) VALUES ('forged', 'ES256', ?, 0)",
                 (json.dumps(public_jwk(forger.public_key())),))
    for seq, head_hash in conn.execute("SELECT seq, head_hash FROM audit_checkpoints").fetchall():
        message = f"signward-audit:{seq}:{head_hash}".encode()
        r, s = decode_dss_signature(forger.sign(message, ec.ECDSA(hashes.SHA256())))
        conn.execute("UPDATE audit_checkpoints SET key_handle = 'forged', signature = ? WHERE seq = ?",
                     (base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode(), seq))
    conn.commit()
    conn.close()
    result = log.verify()
    assert not result.ok and result.broken is not None and "pinned audit key" in result.broken.reason


def test_truncation_past_the_published_checkpoint_is_caught(tmp_path: Path, backend: SigningBackend) -> None:
    log, db, _ = anchored_log(tmp_path, backend)
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM audit_records WHERE seq > 6")
    conn.execute("DELETE FROM audit_checkpoints")
    conn.commit()
    conn.close()
    result = log.verify()
    assert not result.ok and result.broken is not None and "truncated" in result.broken.reason


def test_a_different_key_in_the_database_than_the_pin_is_refused(tmp_path: Path, backend: SigningBackend) -> None:
    from signward.errors import AuditIntegrityError

    log, _, anchors = anchored_log(tmp_path, backend)
    anchors.key_path.write_text(json.dumps(public_jwk(ec.generate_private_key(ec.SECP256R1()).public_key())))
    with pytest.raises(AuditIntegrityError, match="pinned"):
        log.checkpoint()
    assert not log.verify().ok


def test_a_home_that_signs_its_log_must_keep_signing_it(tmp_path: Path, backend: SigningBackend) -> None:
    """Appends inside a caller's transaction never checkpointed themselves; now a due head is
    signed by `checkpoint_if_due` (services on close, the issuer on each rotation check), and
    `verify` names a log whose unsigned tail grew past twice `checkpoint_every`."""
    anchors = Anchors(tmp_path / "audit")
    log = AuditLog(open_store(tmp_path / "a.db"), backend, FixedClock(1_800_000_000), checkpoint_every=5,
                   anchors=anchors)
    log.append("alice", "token.issue", "first")
    log.checkpoint()
    for i in range(11):
        with log.store.transaction() as tx:
            log.append("registry", "key.rotate", f"k{i}", tx=tx)
    stale = log.verify()
    assert not stale.ok and stale.broken is not None and "follow the last checkpoint" in stale.broken.reason
    assert log.checkpoint_if_due() is not None and log.unsigned_tail() == 0
    assert log.verify().ok
    assert log.checkpoint_if_due() is None  # nothing due


def test_an_anchor_that_is_a_fifo_or_huge_is_refused_without_blocking_or_reading_it_all(tmp_path: Path) -> None:
    """Regression: the anchor was read whole before its size was checked, and a FIFO would block."""
    import os

    from signward.audit.anchors import read_anchor
    from signward.errors import AuditIntegrityError

    fifo = tmp_path / "checkpoint.json"
    os.mkfifo(fifo)
    with pytest.raises(AuditIntegrityError, match="not a regular file"):
        read_anchor(fifo)
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as out:
        out.truncate(8 << 30)  # sparse: 8 GiB that a whole read would allocate
    with pytest.raises(AuditIntegrityError):
        read_anchor(huge)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 20000 + "]" * 20000)
    with pytest.raises(AuditIntegrityError):
        read_anchor(deep)


def test_a_pinned_key_without_its_published_checkpoint_is_caught(tmp_path: Path, backend: SigningBackend) -> None:
    """Issue #34: the chain rewritten, its checkpoint rows and checkpoint.json deleted, the pin left."""
    log, db, anchors = anchored_log(tmp_path, backend)
    conn = sqlite3.connect(db)
    conn.execute("UPDATE audit_records SET actor = 'mallory' WHERE seq = 3")
    _rehash_from(conn, 3)
    conn.execute("DELETE FROM audit_checkpoints")
    conn.commit()
    conn.close()
    anchors.checkpoint_path.unlink()
    result = log.verify()
    assert not result.ok and result.broken is not None
    assert "pinned" in result.broken.reason and "published checkpoint" in result.broken.reason
    assert "is gone" in result.broken.reason


def test_a_pinned_key_without_any_checkpoint_row_is_caught(tmp_path: Path, backend: SigningBackend) -> None:
    """Only the checkpoint rows deleted (no record changed): the published checkpoint still
    matches its record, so only the rule that a pinned home keeps its checkpoints can refuse."""
    log, db, _ = anchored_log(tmp_path, backend)
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM audit_checkpoints")
    conn.commit()
    conn.close()
    result = log.verify()
    assert not result.ok and result.broken is not None
    assert result.broken.reason.endswith("but every checkpoint row is gone")


def test_a_homes_log_that_nothing_anchors_is_unanchored_not_intact(tmp_path: Path) -> None:
    """Issue #34 F4: a home that never started the HSM has no audit key and no checkpoint; a
    rewritten chain (records deleted, the rest re-chained) verified intact."""
    home = tmp_path / "h"
    cli = [sys.executable, "-m", "signward", "--home", str(home)]
    assert subprocess.run([*cli, "init"], capture_output=True, timeout=120).returncode == 0
    log = AuditLog(open_store(home / "signward.db"))
    for i in range(4):
        log.append("alice", "debug.grant", f"d{i}")
    db = sqlite3.connect(home / "signward.db")  # the rewrite: drop a record, re-chain the rest
    db.row_factory = sqlite3.Row
    keep = [r for r in db.execute("SELECT * FROM audit_records ORDER BY seq") if r["object"] != "d1"]
    db.execute("DELETE FROM audit_records")
    prev = "0" * 64
    for seq, r in enumerate(keep, 1):
        digest = record_hash(seq, r["time"], r["actor"], r["action"], r["object"], r["severity"], r["details"], prev)
        db.execute("INSERT INTO audit_records (seq, time, actor, action, object, severity, details, prev_hash, hash) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (seq, r["time"], r["actor"], r["action"], r["object"],
                                                         r["severity"], r["details"], prev, digest))
        prev = digest
    db.commit()
    db.close()
    done = subprocess.run([*cli, "audit", "verify", "--json"], capture_output=True, text=True, timeout=120)
    verdict = json.loads(done.stdout)
    assert done.returncode == 1 and verdict["unanchored"] and not verdict["ok"] and verdict["broken"] is None
    check = subprocess.run([*cli, "config", "check", "--json"], capture_output=True, text=True, timeout=120)
    assert check.returncode == 1 and [w["setting"] for w in json.loads(check.stdout)["weakened"]] == ["dumps.approvers",
        "audit (anchor)"], check.stderr


def test_an_older_checkpoint_put_back_is_a_rollback(tmp_path: Path, backend: SigningBackend) -> None:
    """Issue #34 F5: keep checkpoint.json, log more, checkpoint again, then put the old one back
    and delete what followed it: the history of published checkpoints says it is not the newest."""
    log, db, anchors = anchored_log(tmp_path, backend)
    old = anchors.checkpoint_path.read_text()
    for i in range(3):
        log.append("alice", "token.issue", f"later-{i}")
    log.checkpoint()
    assert log.verify().ok and anchors.history_head() is not None and anchors.history_head()[0] == 13  # type: ignore[index]
    anchors.checkpoint_path.write_text(old)
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM audit_records WHERE seq > 10")
    conn.execute("DELETE FROM audit_checkpoints WHERE seq > 10")
    conn.commit()
    conn.close()
    result = log.verify()
    assert not result.ok and result.broken is not None and "rolled back" in result.broken.reason
