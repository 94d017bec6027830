"""PostgreSQL backend (psycopg 3) behind the same `Store` interface, for several hosts.

Callers' portable SQL uses `?` placeholders; they become `%s` here. Write transactions
take one transaction-scoped advisory lock, which plays the part of SQLite's BEGIN
IMMEDIATE: writers of the registry and of the audit chain are serialised across every
process and host, so the chain cannot fork. Timestamps are DOUBLE PRECISION (PostgreSQL's
REAL is four bytes and would change the audit hashes).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Sequence

from ..errors import StoreError
from .base import Row
from .schema import MIGRATIONS

WRITE_LOCK = 0x5157_4152  # arbitrary, fixed: "SWAR"
_PLACEHOLDER = re.compile(r"\?")


def _sql(statement: str) -> str:
    return _PLACEHOLDER.sub("%s", statement)


def _pg_schema(script: str) -> str:
    return re.sub(r"\bREAL\b", "DOUBLE PRECISION", script)


class _PgTx:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cur = self._conn.execute(_sql(sql), tuple(params))
        return int(cur.rowcount)

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row = self._conn.execute(_sql(sql), tuple(params)).fetchone()
        return dict(row) if row is not None else None

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return [dict(r) for r in self._conn.execute(_sql(sql), tuple(params)).fetchall()]


class PostgresStore:
    """One connection per thread to a PostgreSQL database given by a libpq conninfo/URL."""

    def __init__(self, conninfo: str, timeout: float = 5.0) -> None:
        import psycopg

        self.timeout = timeout
        self._psycopg = psycopg
        self.conninfo = conninfo
        self._local = threading.local()
        self._opened: list[Any] = []  # every thread's connection, closed with the store
        self._opened_lock = threading.Lock()
        self._migrate()

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            from psycopg.rows import dict_row

            try:
                conn = self._psycopg.connect(self.conninfo, autocommit=True, row_factory=dict_row,
                                             connect_timeout=max(1, round(self.timeout)))
                # every statement and every lock wait of this session bounded (the write lock too)
                milliseconds = int(self.timeout * 1000)
                conn.execute(f"SET statement_timeout = {milliseconds}")
                conn.execute(f"SET lock_timeout = {milliseconds}")
            except self._psycopg.Error as exc:
                raise StoreError(f"cannot connect to PostgreSQL: {exc}".splitlines()[0]) from exc
            self._local.conn = conn
            with self._opened_lock:
                self._opened = [c for c in self._opened if not c.closed] + [conn]
        return conn

    @contextmanager
    def _run(self, write: bool) -> Iterator[_PgTx]:
        conn = self._conn()
        try:
            conn.execute("BEGIN" if write else "BEGIN READ ONLY")
            if write:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
        except self._psycopg.Error as exc:
            self._abandon(conn)  # a lock wait that timed out leaves the transaction open: end it
            raise StoreError(f"PostgreSQL unavailable: {exc}".splitlines()[0]) from exc
        try:
            yield _PgTx(conn)
        except self._psycopg.Error as exc:
            self._abandon(conn)
            raise StoreError(f"PostgreSQL error: {exc}".splitlines()[0]) from exc
        except BaseException:
            self._abandon(conn)
            raise
        try:
            conn.execute("COMMIT" if write else "ROLLBACK")
        except self._psycopg.Error as exc:
            raise StoreError(f"PostgreSQL commit failed: {exc}".splitlines()[0]) from exc

    def _abandon(self, conn: Any) -> None:
        """Roll back whatever this connection had begun; a connection that cannot is closed (the
        thread opens a new one on its next call)."""
        try:
            conn.execute("ROLLBACK")
        except self._psycopg.Error:
            conn.close()

    def transaction(self) -> AbstractContextManager[_PgTx]:
        return self._run(write=True)

    def snapshot(self) -> AbstractContextManager[_PgTx]:
        return self._run(write=False)

    def _migrate(self) -> None:
        with self.transaction() as tx:
            tx.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = tx.one("SELECT MAX(version) AS v FROM schema_version")
            current = int(row["v"]) if row and row["v"] is not None else 0
            for number, script in enumerate(MIGRATIONS[current:], start=current + 1):
                for statement in filter(str.strip, _pg_schema(script).split(";")):
                    tx.execute(statement)
                tx.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))

    def close(self) -> None:
        """Close every thread's connection (a thread's own is reopened if it is used again)."""
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()
        self._local.conn = None
