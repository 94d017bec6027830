"""Persistence behind one small interface: SQLite by default (one file in the home),
PostgreSQL (psycopg 3) for several hosts. SQL in callers sticks to the portable subset
with `?` placeholders.
"""

from pathlib import Path

from .base import Row, Store, Transaction
from .postgres import PostgresStore
from .sqlite import SqliteStore, open_store


def store_for(url: str, sqlite_path: Path) -> Store:
    """PostgreSQL when a URL is configured, else the home's SQLite file."""
    return PostgresStore(url) if url else open_store(sqlite_path)


__all__ = ["PostgresStore", "Row", "SqliteStore", "Store", "Transaction", "open_store", "store_for"]
