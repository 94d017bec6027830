"""SQLite backend: WAL mode, `BEGIN IMMEDIATE` transactions, errors mapped to StoreError.

A lock held elsewhere is waited for at most `timeout` seconds (SQLite's busy timeout), then
the call fails with StoreError: a held write lock is a refusal, never a request held open."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Sequence

from ..errors import StoreError
from .base import Row
from .schema import MIGRATIONS


class _SqliteTx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._conn.execute(sql, tuple(params)).rowcount

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> int:
        """One statement for each parameter set, prepared once."""
        return self._conn.executemany(sql, params).rowcount

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row = self._conn.execute(sql, tuple(params)).fetchone()
        return dict(row) if row is not None else None

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return [dict(r) for r in self._conn.execute(sql, tuple(params)).fetchall()]


class SqliteStore:
    """One SQLite file; a connection per thread; every write in an IMMEDIATE transaction."""

    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        self.path = path
        self._timeout = timeout
        self._local = threading.local()
        self._migrate()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)
                conn.row_factory = sqlite3.Row
                self._pragma(conn, "PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
                conn.execute("PRAGMA foreign_keys=ON")
            except sqlite3.Error as exc:
                raise StoreError(f"cannot open database {self.path}: {exc}") from exc
            self._local.conn = conn
        return conn

    def _pragma(self, conn: sqlite3.Connection, statement: str) -> None:
        """Run a pragma that SQLite answers with SQLITE_BUSY at once, without its busy handler,
        while another process holds a lock (switching a fresh file to WAL does): retry until
        the store's timeout, then fail."""
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                conn.execute(statement)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    @contextmanager
    def _run(self, begin: str, write: bool) -> Iterator[_SqliteTx]:
        """One transaction: `begin`, the body, then COMMIT (write) or ROLLBACK (read);
        any error rolls back and surfaces as StoreError."""
        conn = self._conn()
        try:
            conn.execute(begin)
        except sqlite3.Error as exc:
            raise StoreError(f"database {self.path} unavailable: {exc}") from exc
        try:
            yield _SqliteTx(conn)
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            raise StoreError(f"database error on {self.path}: {exc}") from exc
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT" if write else "ROLLBACK")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            raise StoreError(f"commit failed on {self.path}: {exc}") from exc

    def transaction(self) -> AbstractContextManager[_SqliteTx]:
        """A write transaction (BEGIN IMMEDIATE: one writer at a time, no lost updates)."""
        return self._run("BEGIN IMMEDIATE", write=True)

    def snapshot(self) -> AbstractContextManager[_SqliteTx]:
        """A read-only transaction (deferred: takes no write lock, never waits for writers in WAL)."""
        return self._run("BEGIN", write=False)

    def _migrate(self) -> None:
        try:
            with self.transaction() as tx:
                tx.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                row = tx.one("SELECT MAX(version) AS v FROM schema_version")
                current = int(row["v"]) if row and row["v"] is not None else 0
                conn = self._conn()
                for number, script in enumerate(MIGRATIONS[current:], start=current + 1):
                    for statement in filter(str.strip, script.split(";")):
                        conn.execute(statement)
                    tx.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
        except sqlite3.Error as exc:
            raise StoreError(f"cannot prepare database {self.path}: {exc}") from exc

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def open_store(path: Path) -> SqliteStore:
    return SqliteStore(path)
