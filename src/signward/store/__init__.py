"""Persistence behind one small interface: SQLite by default (one file in the home).

A later PostgreSQL backend implements the same `Store` protocol; SQL in callers sticks to
the portable subset with `?` placeholders.
"""

from .base import Row, Store, Transaction
from .sqlite import SqliteStore, open_store

__all__ = ["Row", "SqliteStore", "Store", "Transaction", "open_store"]
