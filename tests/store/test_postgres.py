"""The PostgreSQL backend against a real server: the audit chain and the registry on it."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from signward.audit import AuditLog
from signward.store.postgres import PostgresStore

CHILD = r"""
import sys
from signward.audit import AuditLog
from signward.store.postgres import PostgresStore
log = AuditLog(PostgresStore(sys.argv[1]))
for i in range(int(sys.argv[3])):
    log.append(f"writer-{sys.argv[2]}", "token.issue", f"jti-{sys.argv[2]}-{i}")
"""


def fresh_database(conninfo: str) -> str:
    import psycopg

    name = "t" + uuid.uuid4().hex[:12]
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return conninfo.replace("dbname=postgres", f"dbname={name}")


@pytest.mark.slow
def test_eight_writers_one_chain_on_postgres(postgres: str) -> None:
    db = fresh_database(postgres)
    PostgresStore(db).close()
    per_writer = int(os.environ.get("SIGNWARD_AUDIT_RECORDS", "10000")) // 8
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, db, str(w), str(per_writer)], env=env) for w in range(8)]
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
