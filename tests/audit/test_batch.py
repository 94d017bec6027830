"""Group commit: concurrent appends share transactions, each caller gets its own durable record,
and one bad record fails only its own caller."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from signward.audit import AuditLog
from signward.errors import StoreError
from signward.store import open_store
from tests.helpers import fresh_database


def _hammer(log: AuditLog, threads: int, per: int) -> dict[tuple[int, int], int]:
    got: dict[tuple[int, int], int] = {}
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def work(t: int) -> None:
        barrier.wait()
        for i in range(per):
            record = log.append(f"t{t}", "token.issue", f"{t}:{i}", {"t": t, "i": i})
            assert record.actor == f"t{t}" and record.details == {"t": t, "i": i}
            with lock:
                got[(t, i)] = record.seq

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return got


def _check(log: AuditLog, got: dict[tuple[int, int], int], total: int) -> None:
    assert len(got) == total and sorted(got.values()) == list(range(1, total + 1))
    by_seq = {r.seq: r for r in log.records()}
    for (t, i), seq in got.items():  # the record each caller was handed is the one stored at its seq
        assert by_seq[seq].object == f"{t}:{i}"
    result = log.verify()
    assert result.ok and result.records == total


def test_concurrent_appends_are_batched_into_one_chain(tmp_path: Path) -> None:
    log = AuditLog(open_store(tmp_path / "a.db"))
    got = _hammer(log, 16, 40)
    _check(log, got, 640)
    stats = log.batcher.stats
    assert stats.records == 640 and stats.batches < 640, "no two appends ever shared a transaction"
    assert max(stats.sizes) > 1


def test_group_commit_on_postgres(postgres: str) -> None:
    from signward.store.postgres import PostgresStore

    store = PostgresStore(fresh_database(postgres))
    log = AuditLog(store, batch_max=8)
    try:
        got = _hammer(log, 12, 30)
        _check(log, got, 360)
        assert log.batcher.stats.batches < 360 and max(log.batcher.stats.sizes) <= 8
    finally:
        store.close()


def test_a_bad_companion_statement_fails_only_its_own_append(tmp_path: Path) -> None:
    """A record whose companion row cannot be written (a duplicate jti) fails alone: the others
    of its batch commit, and the failed one leaves neither its row nor its record."""
    store = open_store(tmp_path / "a.db")
    log = AuditLog(store)
    insert = "INSERT INTO issued_tokens (jti, realm, kid, sub, digest, exp) VALUES (?, ?, ?, ?, ?, ?)"
    results: dict[int, object] = {}
    barrier = threading.Barrier(8)

    def work(n: int) -> None:
        jti = "same" if n in (3, 5) else f"jti{n}"
        barrier.wait()
        try:
            results[n] = log.append("c", "token.issue", jti, {"n": n}, also=[(insert, (jti, "r", "k", "s", "d", 1.0))])
        except StoreError as exc:
            results[n] = exc

    pool = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    failed = [n for n, r in results.items() if isinstance(r, StoreError)]
    assert len(failed) == 1 and failed[0] in (3, 5)
    with store.snapshot() as tx:
        rows = tx.all("SELECT jti FROM issued_tokens ORDER BY jti")
    assert len(rows) == 7
    records = log.records(action="token.issue")
    assert len(records) == 7 and all(r.details["n"] != failed[0] for r in records)
    assert log.verify().ok


def test_batch_limits_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        AuditLog(open_store(tmp_path / "a.db"), batch_max=0)
