"""Persistence behind one small interface: SQLite by default (one file in the home),
PostgreSQL (psycopg 3) for several hosts. SQL in callers sticks to the portable subset
with `?` placeholders. Every call is bounded (`store.timeout_seconds`, 5 s by default):
a store that does not answer in time is a StoreError, which the issuer answers with 503.
"""

from pathlib import Path

from .base import Row, Store, Transaction
from .postgres import PostgresStore
from .sqlite import SqliteStore, open_store


def store_for(url: str, sqlite_path: Path, timeout: float = 5.0) -> Store:
    """PostgreSQL when a URL is configured, else the home's SQLite file. `timeout` (seconds)
    bounds every call: how long it waits for a lock and, on PostgreSQL, how long a statement runs."""
    return PostgresStore(url, timeout=timeout) if url else SqliteStore(sqlite_path, timeout=timeout)


__all__ = ["PostgresStore", "Row", "SqliteStore", "Store", "Transaction", "open_store", "store_for"]
