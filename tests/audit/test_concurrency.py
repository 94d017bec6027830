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

CHILD = r"""
import sys
from pathlib import Path
from signward.audit import AuditLog
from signward.store import open_store
log = AuditLog(open_store(Path(sys.argv[1])))
for i in range(int(sys.argv[3])):
    log.append(f"writer-{sys.argv[2]}", "token.issue", f"jti-{sys.argv[2]}-{i}")
"""


@pytest.mark.slow
def test_eight_writers_one_chain(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    open_store(db).close()
    per_writer = int(os.environ.get("SIGNWARD_AUDIT_RECORDS", "10000")) // 8
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    started = time.monotonic()
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, str(db), str(w), str(per_writer)], env=env)
             for w in range(8)]
    for p in procs:
        assert p.wait(600) == 0
    result = AuditLog(open_store(db)).verify()
    assert result.ok, result.broken
    assert result.records == 8 * per_writer and result.head_seq == 8 * per_writer
    writers = {r.actor for r in AuditLog(open_store(db)).records()}
    assert writers == {f"writer-{w}" for w in range(8)}
    print(f"{8 * per_writer} appends from 8 processes in {time.monotonic() - started:.1f}s")
