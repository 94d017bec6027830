"""The storage seam: a `Store` hands out transactions; a `Transaction` runs portable SQL."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol, Sequence

Row = dict[str, Any]


class Transaction(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; return the number of rows it changed."""
        ...

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...


class Store(Protocol):
    def transaction(self) -> AbstractContextManager[Transaction]:
        """A write transaction: all of it commits, or none of it (also on SIGKILL)."""
        ...

    def snapshot(self) -> AbstractContextManager[Transaction]:
        """A consistent read-only view; never blocks on or blocks writers."""
        ...

    def close(self) -> None: ...
