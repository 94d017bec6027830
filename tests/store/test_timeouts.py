"""Every database call is bounded (issue #34): a held lock or a slow statement is a StoreError
after `store.timeout_seconds`, and the issuer answers 503 `temporarily_unavailable` with
Retry-After instead of holding the request open."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from signward.errors import ConfigError, StoreError
from signward.home import StoreConfig
from signward.hsm import server as hsm_server
from signward.store import SqliteStore, store_for
from signward.store.postgres import WRITE_LOCK, PostgresStore
from tests.conftest import make_hsm_home, setup_realms
from tests.helpers import IssuerProcess, free_port, fresh_database

HOLD = ("import sqlite3, sys, time\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute('BEGIN IMMEDIATE')\n"
        "print('held', flush=True)\n"
        "time.sleep(120)\n")


@contextmanager
def write_lock_held(db: Path) -> Iterator[None]:
    """Another process holds the SQLite write lock (as a hung writer would)."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def test_the_timeout_is_configured_within_bounds() -> None:
    assert StoreConfig().timeout_seconds == 5.0
    for bad in (0.0, 61.0):
        with pytest.raises(ConfigError, match="store.timeout_seconds"):
            StoreConfig(timeout_seconds=bad)


def test_a_held_sqlite_write_lock_is_a_store_error_within_the_timeout(tmp_path: Path) -> None:
    store = store_for("", tmp_path / "s.db", timeout=0.5)
    assert isinstance(store, SqliteStore)
    with write_lock_held(tmp_path / "s.db"):
        started = time.monotonic()
        with pytest.raises(StoreError, match="unavailable"):
            with store.transaction() as tx:
                tx.execute("CREATE TABLE t (x INTEGER)")
        assert 0.4 < time.monotonic() - started < 3
        with store.snapshot() as tx:  # reads never wait for the writer (WAL)
            assert tx.one("SELECT 1 AS x") == {"x": 1}
    store.close()


def test_postgres_bounds_lock_waits_and_statements(postgres: str) -> None:
    db = fresh_database(postgres)
    store = PostgresStore(db, timeout=0.5)
    holder = PostgresStore(db, timeout=30)
    try:
        with holder.transaction():  # holds the registry's write lock, as a hung writer would
            started = time.monotonic()
            with pytest.raises(StoreError, match="timeout"):  # lock_timeout or statement_timeout: both bound it
                with store.transaction():
                    pass
            assert time.monotonic() - started < 3
        started = time.monotonic()
        with pytest.raises(StoreError, match="statement timeout"):
            with store.snapshot() as tx:
                tx.one("SELECT pg_sleep(10) AS x")
        assert time.monotonic() - started < 3
        with store.transaction() as tx:  # the lock released: writes go through again
            assert tx.one("SELECT pg_try_advisory_xact_lock(?) AS got", (WRITE_LOCK,)) == {"got": True}
    finally:
        store.close()
        holder.close()


def test_a_hung_store_is_503_from_the_issuer_not_a_held_request(tmp_path: Path) -> None:
    home = make_hsm_home(tmp_path / "home")
    try:
        text = home.config_path.read_text()
        home.config_path.write_text(text.replace("timeout_seconds = 5.0", "timeout_seconds = 1.0"))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        client_id, secret = setup_realms(home, base)["consumer"]
        issuer = IssuerProcess(home, port).start()
        try:
            def token() -> httpx.Response:
                return httpx.post(f"{base}/realms/consumer/token", auth=(client_id, secret), timeout=30,
                                  data={"grant_type": "client_credentials", "audience": "mail"})

            assert token().status_code == 200
            with write_lock_held(home.db_path):
                started = time.monotonic()
                refused = token()
                elapsed = time.monotonic() - started
            assert refused.status_code == 503 and refused.json()["error"] == "temporarily_unavailable"
            assert refused.headers["retry-after"] and elapsed < 5, elapsed
            assert token().status_code == 200  # the lock gone, tokens again
        finally:
            issuer.stop()
    finally:
        hsm_server.stop(home)


def test_a_stopped_postgres_backend_is_a_store_error_not_a_hang(postgres: str) -> None:
    """SIGSTOP on the backend: it cannot enforce its own statement_timeout; the client's
    watchdog bounds the call, and the next call works on a new connection."""
    store = PostgresStore(fresh_database(postgres), timeout=0.5)
    try:
        with store.snapshot() as tx:
            row = tx.one("SELECT pg_backend_pid() AS pid")
        assert row is not None
        pid = int(row["pid"])
        os.kill(pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            with pytest.raises(StoreError):
                with store.transaction() as tx:
                    tx.one("SELECT 1 AS x")
            assert time.monotonic() - started < 4  # 2 x 0.5 s + 1 s, and the watchdog's tick
        finally:
            os.kill(pid, signal.SIGCONT)
        with store.snapshot() as tx:
            assert tx.one("SELECT 1 AS x") == {"x": 1}
    finally:
        store.close()
