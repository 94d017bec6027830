"""Any single-byte change, deletion, reordering or insertion in stored records is caught."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signward.audit import AuditLog
from signward.clock import FixedClock
from signward.store import open_store

FIELDS = ["time", "actor", "action", "object", "severity", "details", "prev_hash", "hash"]


def fresh_log(path: Path, backend: object = None, n: int = 12) -> AuditLog:
    """12 records; with a backend, the head is checkpointed (signed) at the end, as
    `audit verify` expects: only a signed head makes truncating the tail detectable."""
    log = AuditLog(open_store(path), backend=backend, clock=FixedClock(1_800_000_000),  # type: ignore[arg-type]
                   checkpoint_every=1000)
    for i in range(n):
        log.clock.advance(1)  # type: ignore[attr-defined]
        log.append("alice", "key.create" if i % 2 else "token.issue", f"kid-{i}", {"i": i, "tid": "contoso"},
                   "alert" if i == 5 else "info")
    if backend is not None:
        log.checkpoint()
    assert log.verify().ok
    return log


@pytest.fixture(scope="module")
def signed_log(tmp_path_factory: pytest.TempPathFactory, backend: object) -> Path:
    """One `fresh_log` with its signed checkpoint, made once: each example tampers with a copy."""
    db = tmp_path_factory.mktemp("audit-template") / "a.db"
    fresh_log(db, backend).store.close()
    return db


def copied_log(template: Path, db: Path, backend: object) -> AuditLog:
    """A log on a copy of `template` (SQLite's backup: the whole committed database)."""
    with sqlite3.connect(template) as source, sqlite3.connect(db) as target:
        source.backup(target)
    source.close()
    target.close()
    log = AuditLog(open_store(db), backend=backend, clock=FixedClock(1_800_000_012),  # type: ignore[arg-type]
                   checkpoint_every=1000)
    assert log.verify().ok
    return log


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_tampering_is_caught(tmp_path_factory: pytest.TempPathFactory, backend: object, signed_log: Path,
                                    data: st.DataObject) -> None:
    db = tmp_path_factory.mktemp("audit") / "a.db"
    log = copied_log(signed_log, db, backend)  # fresh_log's 12 records and checkpoint, not made 200 times
    conn = sqlite3.connect(db)
    kind = data.draw(st.sampled_from(["byte", "delete", "swap", "insert"]))
    seq = data.draw(st.integers(1, 12))
    if kind == "byte":
        column = data.draw(st.sampled_from(FIELDS))
        value = conn.execute(f"SELECT {column} FROM audit_records WHERE seq = ?", (seq,)).fetchone()[0]
        raw = bytearray(repr(value).encode() if column == "time" else str(value).encode())
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(32, 126).filter(lambda b, old=raw[i]: b != old))
        new: object = float(raw.decode()) if column == "time" and _is_float(raw.decode()) else raw.decode()
        if new == value:
            return
        conn.execute(f"UPDATE audit_records SET {column} = ? WHERE seq = ?", (new, seq))
    elif kind == "delete":
        conn.execute("DELETE FROM audit_records WHERE seq = ?", (seq,))
    elif kind == "swap":
        other = data.draw(st.integers(1, 12).filter(lambda s: s != seq))
        conn.execute("UPDATE audit_records SET seq = -1 WHERE seq = ?", (seq,))
        conn.execute("UPDATE audit_records SET seq = ? WHERE seq = ?", (seq, other))
        conn.execute("UPDATE audit_records SET seq = ? WHERE seq = -1", (other,))
    else:
        conn.execute("UPDATE audit_records SET seq = seq + 1000 WHERE seq >= ?", (seq,))
        conn.execute("UPDATE audit_records SET seq = seq - 999 WHERE seq >= 1000")
        row = conn.execute("SELECT * FROM audit_records WHERE seq = ?", (seq + 1,)).fetchone()
        conn.execute("INSERT INTO audit_records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (seq, row[1], "mallory", "key.export", "kid-x", "info", "{}", row[7], row[8]))
    conn.commit()
    conn.close()
    result = log.verify()
    assert not result.ok and result.broken is not None and result.broken.seq is not None
    if kind in ("byte", "delete"):
        assert result.broken.seq in (seq, seq + 1, 11)  # 11: the tail, named by the checkpoint check


def _is_float(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def test_truncating_the_tail_is_caught_by_a_checkpoint(tmp_path: Path, backend: object) -> None:
    log = AuditLog(open_store(tmp_path / "a.db"), backend=backend, checkpoint_every=5)  # type: ignore[arg-type]
    for i in range(12):
        log.append("alice", "token.issue", f"kid-{i}")
    result = log.verify()
    assert result.ok and result.checkpoints == 2
    conn = sqlite3.connect(tmp_path / "a.db")
    conn.execute("DELETE FROM audit_records WHERE seq >= 9")
    conn.commit()
    conn.close()
    broken = log.verify()
    assert not broken.ok and "removed" in broken.broken.reason  # type: ignore[union-attr]


def test_forged_checkpoint_signature_is_caught(tmp_path: Path, backend: object) -> None:
    log = AuditLog(open_store(tmp_path / "a.db"), backend=backend, checkpoint_every=3)  # type: ignore[arg-type]
    for i in range(6):
        log.append("alice", "token.issue", f"kid-{i}")
    assert log.verify().ok
    conn = sqlite3.connect(tmp_path / "a.db")
    conn.execute("UPDATE audit_checkpoints SET signature = ? WHERE seq = 3", ("AAAA" * 22,))
    conn.commit()
    conn.close()
    result = log.verify()
    assert not result.ok and result.broken.seq == 3 and "signature" in result.broken.reason  # type: ignore[union-attr]


def test_query(tmp_path: Path) -> None:
    log = fresh_log(tmp_path / "a.db")
    assert len(log.records(action="key.create")) == 6
    assert [r.object for r in log.records(kid="kid-3")] == ["kid-3"]
    assert [r.seq for r in log.records(severity="alert")] == [6]


def test_a_record_changed_with_its_own_hash_recomputed_breaks_the_next_link(tmp_path: Path) -> None:
    """The link check on its own: the attacker rewrites record 5 and recomputes its hash, so
    record 5 is self-consistent; only record 6's prev_hash still names the original."""
    from signward.audit import record_hash

    db = tmp_path / "a.db"
    log = fresh_log(db)
    conn = sqlite3.connect(db)
    row = conn.execute("SELECT seq, time, actor, action, object, severity, details, prev_hash FROM audit_records "
                       "WHERE seq = 5").fetchone()
    forged = record_hash(row[0], row[1], "mallory", row[3], row[4], row[5], row[6], row[7])
    conn.execute("UPDATE audit_records SET actor = 'mallory', hash = ? WHERE seq = 5", (forged,))
    conn.commit()
    conn.close()
    result = log.verify()
    assert not result.ok and result.broken is not None
    assert result.broken.seq == 6 and "previous-hash link" in result.broken.reason
