"""Eight writer processes, one linear chain."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from signward.audit import AuditLog
from signward.store import open_store

WRITER = str(Path(__file__).resolve().parents[1] / "programs" / "audit_writer.py")


@pytest.mark.slow
def test_eight_writers_one_chain(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    open_store(db).close()
    per_writer = int(os.environ.get("SIGNWARD_AUDIT_RECORDS", "10000")) // 8
    print(f"{per_writer * 8} audit records from 8 writers (SIGNWARD_AUDIT_RECORDS)")  # shown with -rP or on failure
    assert per_writer >= 125, "SIGNWARD_AUDIT_RECORDS below 1000 makes this no concurrency test"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    started = time.monotonic()
    procs = [subprocess.Popen([sys.executable, WRITER, str(db), str(w), str(per_writer)], env=env)
             for w in range(8)]
    for p in procs:
        assert p.wait(600) == 0
    result = AuditLog(open_store(db)).verify()
    assert result.ok, result.broken
    assert result.records == 8 * per_writer and result.head_seq == 8 * per_writer
    writers = {r.actor for r in AuditLog(open_store(db)).records()}
    assert writers == {f"writer-{w}" for w in range(8)}
    print(f"{8 * per_writer} appends from 8 processes in {time.monotonic() - started:.1f}s")
