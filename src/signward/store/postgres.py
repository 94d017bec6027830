"""PostgreSQL backend (psycopg 3) behind the same `Store` interface, for several hosts.

Callers' portable SQL uses `?` placeholders; they become `%s` here. Write transactions
take one transaction-scoped advisory lock, which plays the part of SQLite's BEGIN
IMMEDIATE: writers of the registry and of the audit chain are serialised across every
process and host, so the chain cannot fork. Timestamps are DOUBLE PRECISION (PostgreSQL's
REAL is four bytes and would change the audit hashes).

Every call is bounded (`timeout`, from `store.timeout_seconds`): the session's
statement_timeout and lock_timeout (the write lock too) bound a running backend, and a
watchdog breaks the socket of a transaction that outlives twice that plus a second, since a
stopped backend enforces nothing. Either way the caller gets StoreError (the issuer: 503).
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Sequence

from ..errors import StoreError
from .base import Row
from .schema import MIGRATIONS

WRITE_LOCK = 0x5157_4152  # arbitrary, fixed: "SWAR"


class _Watchdog:
    """Breaks the socket of a connection whose transaction outlives its deadline. The server's
    statement_timeout and lock_timeout bound what a running backend does; a backend that is
    stopped (SIGSTOP, a frozen VM, a network that drops without a reset) enforces nothing, and
    the client would wait forever. One thread per store, running only while a transaction is."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: dict[int, tuple[float, Any]] = {}
        self._thread: threading.Thread | None = None

    def arm(self, conn: Any, seconds: float) -> int:
        key = id(conn)
        with self._lock:
            self._active[key] = (time.monotonic() + seconds, conn)
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="signward-pg-watchdog", daemon=True)
                self._thread.start()
        return key

    def disarm(self, key: int) -> None:
        with self._lock:
            self._active.pop(key, None)

    def _watch(self) -> None:
        while True:
            time.sleep(0.1)
            with self._lock:
                if not self._active:
                    self._thread = None
                    return
                now = time.monotonic()
                expired = [k for k, (deadline, _) in self._active.items() if deadline <= now]
                late = [self._active.pop(k)[1] for k in expired]
            for conn in late:
                _break(conn)


def _break(conn: Any) -> None:
    """Shut the connection's socket down (both ways): the call blocked on it returns an error."""
    try:
        duplicate = socket.socket(fileno=os.dup(conn.fileno()))
    except Exception:  # noqa: BLE001 - closed meanwhile: nothing to break
        return
    try:
        duplicate.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        duplicate.close()
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
        self._watchdog = _Watchdog()
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
        # the client's own bound on the whole transaction, past what the server enforces
        watched = self._watchdog.arm(conn, 2 * self.timeout + 1)
        try:
            with self._run_on(conn, write) as tx:
                yield tx
        finally:
            self._watchdog.disarm(watched)

    @contextmanager
    def _run_on(self, conn: Any, write: bool) -> Iterator[_PgTx]:
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
            self._abandon(conn)
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
