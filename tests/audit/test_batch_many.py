"""`AuditLog.append_batch` on a store with `executemany` (issue 39): the batch's statements go
once each for the whole batch, and what lands is the same chain the one-by-one path writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from signward.audit import AuditLog
from signward.audit.batch import Pending
from signward.errors import StoreError
from signward.store import open_store

_ROW = "INSERT INTO realms_probe (name) VALUES (?)"


def _log(tmp_path: Path) -> AuditLog:
    store = open_store(tmp_path / "a.db")
    with store.transaction() as tx:
        tx.execute("CREATE TABLE realms_probe (name TEXT PRIMARY KEY)")
    return AuditLog(store)


def test_a_grouped_batch_chains_like_single_appends_and_carries_its_statements(tmp_path: Path) -> None:
    log = _log(tmp_path)
    log.append("op", "setup", "first", {"n": 0})
    pending = [Pending("op", "token.issue", f"k{n}", "info", f'{{"n":{n}}}', ((_ROW, (f"r{n}",)),),
                       {"n": n} if n % 2 else None) for n in range(1, 6)]
    records = log.append_batch(pending)
    assert [r.seq for r in records] == [2, 3, 4, 5, 6]
    assert [r.details for r in records] == [{"n": n} for n in range(1, 6)]
    stored = {r.seq: r for r in log.records()}
    for record in records:  # each record links to the one before it, as stored
        assert stored[record.seq].hash == record.hash and stored[record.seq].prev_hash == stored[record.seq - 1].hash
    assert log.verify().ok
    with log.store.snapshot() as tx:
        assert [row["name"] for row in tx.all("SELECT name FROM realms_probe ORDER BY name")] == \
            [f"r{n}" for n in range(1, 6)]
    log.append("op", "after", "last")  # the one-by-one path continues the grouped chain
    assert log.verify().ok


def test_a_grouped_batch_with_one_failing_statement_writes_nothing(tmp_path: Path) -> None:
    log = _log(tmp_path)
    pending = [Pending("op", "token.issue", "k", "info", "{}", ((_ROW, ("same",)),)) for _ in range(3)]
    with pytest.raises(StoreError):
        log.append_batch(pending)  # the second row repeats the first's key
    assert log.records() == [] and log.verify().ok
    with log.store.snapshot() as tx:
        assert tx.all("SELECT name FROM realms_probe") == []
