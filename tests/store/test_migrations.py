"""Migrations on databases an older signward made: a dump record's "reason: detail" column is split."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from signward.dumps.reasons import DumpReason
from signward.store import PostgresStore, SqliteStore, Store
from signward.store.postgres import _pg_schema
from signward.store.schema import MIGRATIONS, SPLIT_REASONS
from tests.helpers import fresh_database

SPLIT = next(i for i, script in enumerate(MIGRATIONS) if "ADD COLUMN detail" in script)
# what the old pipeline wrote into the one reason column, and how it reads once split
ROWS = {
    "canary": ("canary_missed: found 2 of 3 canaries", "canary_missed", "found 2 of 3 canaries"),
    "error": ("error: ValueError: bad: worse", "error", "ValueError: bad: worse"),  # split at the FIRST ": "
    "attest": ("attestation_mismatch: bad_mac: the MAC does not verify", "attestation_mismatch",
               "bad_mac: the MAC does not verify"),
    "prefix": ("recheck_incomplete: zstd frame ends early", "recheck_incomplete", "zstd frame ends early"),
    "bare": ("no_canary", "no_canary", ""),  # a known reason without a detail
    "empty": ("", "", ""),  # never refused
    "retention": ("retention", "retention", ""),  # a deletion, not a refusal
    "unknown": ("canary: not one of ours", "canary: not one of ours", ""),  # not a known reason: kept as it was
    "spaced": ("residue:no space", "residue:no space", ""),  # no ": ": kept as it was
}
OLD_INSERT = ("INSERT INTO dumps (id, created, updated, source, pid, exe, signal, crash_time, host, state, reason, "
              "sha256, size, sanitized_sha256, released_to) VALUES (?, 1, 1, 'pipe', NULL, '', NULL, NULL, 'h', "
              "'refused', ?, 'x', 1, '', '')")


def _read(store: Store) -> dict[str, tuple[str, str]]:
    with store.snapshot() as tx:
        return {r["id"]: (r["reason"], r["detail"]) for r in tx.all("SELECT id, reason, detail FROM dumps")}


def test_the_frozen_reasons_are_dump_reasons() -> None:
    assert set(SPLIT_REASONS) <= {r.value for r in DumpReason}
    assert len(set(SPLIT_REASONS)) == len(SPLIT_REASONS)


def test_sqlite_database_of_the_old_schema_is_split(tmp_path: Path) -> None:
    path = tmp_path / "signward.db"
    conn = sqlite3.connect(path)  # exactly what the old store did: the migrations before this one
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for number, script in enumerate(MIGRATIONS[:SPLIT], start=1):
        for statement in filter(str.strip, script.split(";")):
            conn.execute(statement)
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
    for dump_id, (old, _, _) in ROWS.items():
        conn.execute(OLD_INSERT, (dump_id, old))
    conn.commit()
    conn.close()
    store = SqliteStore(path)
    try:
        assert _read(store) == {dump_id: (reason, detail) for dump_id, (_, reason, detail) in ROWS.items()}
    finally:
        store.close()
    store = SqliteStore(path)  # applied once: opening again changes nothing
    try:
        assert _read(store)["error"] == ("error", "ValueError: bad: worse")
    finally:
        store.close()


def test_postgres_database_of_the_old_schema_is_split(postgres: str) -> None:
    import psycopg

    db = fresh_database(postgres)
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for number, script in enumerate(MIGRATIONS[:SPLIT], start=1):
            for statement in filter(str.strip, _pg_schema(script).split(";")):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (number,))
        for dump_id, (old, _, _) in ROWS.items():
            conn.execute(OLD_INSERT.replace("?", "%s"), (dump_id, old))
    store = PostgresStore(db)
    try:
        assert _read(store) == {dump_id: (reason, detail) for dump_id, (_, reason, detail) in ROWS.items()}
    finally:
        store.close()


def test_a_new_database_has_the_column_empty(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "new.db")
    try:
        with store.transaction() as tx:
            tx.execute(OLD_INSERT, ("d1", "residue"))
        assert _read(store) == {"d1": ("residue", "")}
    finally:
        store.close()
