"""The PostgreSQL backend against a real server: the audit chain and the registry on it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from signward.audit import AuditLog
from signward.store.postgres import PostgresStore
from tests.helpers import fresh_database

WRITER = str(Path(__file__).resolve().parents[1] / "programs" / "audit_writer.py")


@pytest.mark.slow
def test_eight_writers_one_chain_on_postgres(postgres: str) -> None:
    db = fresh_database(postgres)
    PostgresStore(db).close()
    per_writer = int(os.environ.get("SIGNWARD_AUDIT_RECORDS", "10000")) // 8
    print(f"{per_writer * 8} audit records from 8 writers (SIGNWARD_AUDIT_RECORDS)")  # shown with -rP or on failure
    assert per_writer >= 125, "SIGNWARD_AUDIT_RECORDS below 1000 makes this no concurrency test"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [subprocess.Popen([sys.executable, WRITER, db, str(w), str(per_writer)], env=env) for w in range(8)]
    for p in procs:
        assert p.wait(900) == 0
    store = PostgresStore(db)
    try:
        result = AuditLog(store).verify()
    finally:
        store.close()
    assert result.ok, result.broken
    assert result.records == 8 * per_writer == result.head_seq


def test_tampering_on_postgres_is_caught(postgres: str, backend: object) -> None:
    db = fresh_database(postgres)
    store = PostgresStore(db)
    log = AuditLog(store, backend=backend)  # type: ignore[arg-type]
    for i in range(6):
        log.append("alice", "key.create", f"k{i}", {"i": i})
    log.checkpoint()
    assert log.verify().ok
    with store.transaction() as tx:
        tx.execute("UPDATE audit_records SET object = ? WHERE seq = ?", ("k-evil", 4))
    result = log.verify()
    store.close()
    assert not result.ok and result.broken is not None and result.broken.seq == 4


def test_registry_on_postgres(postgres: str, backend: object) -> None:
    from signward.keys import Registry

    store = PostgresStore(fresh_database(postgres))
    log = AuditLog(store)
    reg = Registry(store, backend, audit=log)  # type: ignore[arg-type]
    reg.create_realm("consumer", "https://c.example.com")
    assert len(reg.jwks("consumer")["keys"]) == 1
    assert [r.action for r in log.records()][:2] == ["realm.create", "key.create"]
    assert log.verify().ok
    store.close()
