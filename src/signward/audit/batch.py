"""Group commit for audit appends: concurrent appends of one process share one transaction.

A thread that appends queues its record and waits. If no other thread is committing, it
becomes the leader: it takes up to `max_batch` queued records (after waiting `max_wait`
seconds for more, 0 by default: the records that queued while the previous batch committed
are the batch), writes them in one write transaction and wakes their threads. Each caller
returns only once its own record is committed, so "no record, no token" still holds record
by record. A batch that fails is retried one record per transaction, so one bad record (or
its companion statement) fails only its own caller, and nothing is lost or written twice.

Several processes on one SQLite file (`serve --workers N`) queue for its write lock, and
SQLite's busy handler sleeps 1, 2, 5, 10 ... 100 ms between tries: a leader that finds the
lock taken slept through several of the other process's commits, so a second worker added
almost nothing (issue 39). With a `WriterLock` the leaders of every process take turns on an
flock first, polled every 50-1000 us; it only orders the writers (SQLite still decides what
commits), and a leader that cannot have it within `WRITER_LOCK_WAIT` goes on without it.
"""

from __future__ import annotations

import fcntl
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from .chain import AuditRecord

Statement = tuple[str, Sequence[Any]]


WRITER_LOCK_WAIT = 30.0  # seconds a leader waits for the writer lock before writing without it


class WriterLock:
    """An flock on a file beside the database, taken by each process's group-commit leader
    around its write transaction, so the writers of several processes take turns at once
    instead of in SQLite's busy-handler sleeps. The file is opened once, never through a
    symlink; it holds nothing."""

    def __init__(self, path: Path, wait: float = WRITER_LOCK_WAIT) -> None:
        self.path = path
        self.wait = wait
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        self._held = False

    def __enter__(self) -> WriterLock:
        deadline = time.monotonic() + self.wait
        pause = 0.00005
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._held = True
                return self
            except BlockingIOError:
                if time.monotonic() > deadline:  # a stopped holder: SQLite's own timeout decides
                    return self
            time.sleep(pause)
            pause = min(pause * 2, 0.001)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._held:
            self._held = False
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self._fd)


@dataclass
class Pending:
    """One record waiting for its batch; `also` are statements committed with it."""

    actor: str
    action: str
    obj: str
    severity: str
    details_json: str
    also: Sequence[Statement] = ()
    details: dict[str, Any] | None = None  # the dict details_json encodes (given: not decoded again)
    record: AuditRecord | None = None
    error: BaseException | None = None
    done: bool = False
    # set (put) when its batch committed or when it is handed the lead; at most one wake is ever
    # outstanding: a handed-on entry is the only leader until it leads, and a committed one stops
    # waiting. A SimpleQueue is a C lock, not threading.Event's Python Condition (about 10 us a
    # token less, issue 39).
    wake: queue.SimpleQueue[None] = field(default_factory=queue.SimpleQueue, repr=False, compare=False)


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
        self.writer_lock: AbstractContextManager[object] | None = None  # WriterLock: processes take turns

    def submit(self, entry: Pending) -> AuditRecord:
        """Commit `entry` (in some batch) and return its record, or raise its error.

        Each waiter sleeps on its own event: a committed batch wakes exactly its own callers,
        and the leader hands the lead to the oldest queued entry's thread directly, instead of
        waking every waiting thread to find out which one may lead (issue 39)."""
        with self._cond:
            self._queue.append(entry)
            lead = not self._leading
            self._leading = True
        while not entry.done:
            if not lead:
                entry.wake.get()  # put when its batch committed, or when it is handed the lead
                if entry.done:
                    break
            try:
                self._lead_one()
            except BaseException:
                self._hand_on()
                raise
            if entry.done:  # our record is in: the next queued entry's thread leads
                self._hand_on()
            lead = True  # else our record was beyond this batch: lead the next one too
        if entry.error is not None:
            raise entry.error
        assert entry.record is not None
        return entry.record

    def _hand_on(self) -> None:
        with self._cond:
            successor = self._queue[0] if self._queue else None
            self._leading = successor is not None
        if successor is not None:
            successor.wake.put(None)

    def _lead_one(self) -> None:
        if self.max_wait > 0:
            time.sleep(self.max_wait)
        with self._cond:
            batch = self._queue[:self.max_batch]
            del self._queue[:self.max_batch]
        started = time.perf_counter()
        try:
            with self.writer_lock or nullcontext():
                self._write_settled(batch)
        finally:
            self._count(batch, time.perf_counter() - started)
            for entry in batch:
                entry.done = True
                entry.wake.put(None)

    def write_now(self, batch: list[Pending]) -> list[AuditRecord]:
        """Commit `batch` in one transaction in the caller's thread (a caller that batches on its
        own: the issuer's committer), in turn with the other processes' writers; raises if it
        cannot be written, and nothing of it is then committed."""
        started = time.perf_counter()
        try:
            with self.writer_lock or nullcontext():
                return self._write(batch)
        finally:
            self._count(batch, time.perf_counter() - started)

    def _write_settled(self, batch: list[Pending]) -> None:
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


__all__ = ["BatchStats", "GroupCommit", "Pending", "Statement", "WriterLock"]
