"""Group commit for audit appends: concurrent appends of one process share one transaction.

A thread that appends queues its record and waits. If no other thread is committing, it
becomes the leader: it takes up to `max_batch` queued records (after waiting `max_wait`
seconds for more, 0 by default: the records that queued while the previous batch committed
are the batch), writes them in one write transaction and wakes their threads. Each caller
returns only once its own record is committed, so "no record, no token" still holds record
by record. A batch that fails is retried one record per transaction, so one bad record (or
its companion statement) fails only its own caller, and nothing is lost or written twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .chain import AuditRecord

Statement = tuple[str, Sequence[Any]]


@dataclass
class Pending:
    """One record waiting for its batch; `also` are statements committed with it."""

    actor: str
    action: str
    obj: str
    severity: str
    details_json: str
    also: Sequence[Statement] = ()
    record: AuditRecord | None = None
    error: BaseException | None = None
    done: bool = False


@dataclass
class BatchStats:
    batches: int = 0
    records: int = 0
    retried: int = 0
    sizes: list[int] = field(default_factory=list)  # the last `KEEP_SIZES` batch sizes

    KEEP_SIZES = 1024


class GroupCommit:
    def __init__(self, write: Callable[[list[Pending]], list[AuditRecord]], max_batch: int = 256,
                 max_wait: float = 0.0, observe: Callable[[int, float], None] | None = None) -> None:
        """`write` commits a batch in one transaction and returns its records in order;
        `observe(size, seconds)` is told each committed batch (metrics)."""
        if not 1 <= max_batch <= 10_000:
            raise ValueError("max_batch must be between 1 and 10000")
        self._write = write
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.observe = observe
        self._cond = threading.Condition()
        self._queue: list[Pending] = []
        self._leading = False
        self.stats = BatchStats()

    def submit(self, entry: Pending) -> AuditRecord:
        """Commit `entry` (in some batch) and return its record, or raise its error."""
        with self._cond:
            self._queue.append(entry)
            while self._leading and not entry.done:
                self._cond.wait()
            if not entry.done:
                self._leading = True
        if not entry.done:
            try:
                while not entry.done:
                    self._lead_one()
            finally:
                with self._cond:
                    self._leading = False
                    self._cond.notify_all()
        if entry.error is not None:
            raise entry.error
        assert entry.record is not None
        return entry.record

    def _lead_one(self) -> None:
        if self.max_wait > 0:
            time.sleep(self.max_wait)
        with self._cond:
            batch = self._queue[:self.max_batch]
            del self._queue[:self.max_batch]
        started = time.perf_counter()
        try:
            self._settle(batch, self._write(batch))
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error = exc
            else:  # one record per transaction: only the record that cannot be written fails
                self.stats.retried += len(batch)
                for entry in batch:
                    try:
                        self._settle([entry], self._write([entry]))
                    except Exception as single:
                        entry.error = single
        finally:
            self._count(batch, time.perf_counter() - started)
            with self._cond:
                for entry in batch:
                    entry.done = True
                self._cond.notify_all()

    @staticmethod
    def _settle(batch: list[Pending], records: list[AuditRecord]) -> None:
        for entry, record in zip(batch, records, strict=True):
            entry.record = record

    def _count(self, batch: list[Pending], seconds: float) -> None:
        stats = self.stats
        stats.batches += 1
        stats.records += len(batch)
        stats.sizes.append(len(batch))
        del stats.sizes[:-BatchStats.KEEP_SIZES]
        if self.observe is not None:
            self.observe(len(batch), seconds)


__all__ = ["BatchStats", "GroupCommit", "Pending", "Statement"]
