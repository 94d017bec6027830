"""The retention floor, and pruning that keeps `audit verify` green."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from signward.audit import AuditLog
from signward.clock import FixedClock
from signward.errors import ConfigError
from signward.retention import retention_floor
from signward.store import open_store

DAY = 86400.0


def aged_log(path: Path, backend: object) -> AuditLog:
    log = AuditLog(open_store(path), backend=backend, clock=FixedClock(1_700_000_000),  # type: ignore[arg-type]
                   checkpoint_every=10)
    for i in range(35):  # one record a day, a checkpoint every 10
        log.append("alice", "token.issue", f"k{i}")
        log.clock.advance(DAY)  # type: ignore[attr-defined]
    return log


def test_retention_below_the_floor_is_refused(tmp_path: Path, backend: object) -> None:
    log = aged_log(tmp_path / "a.db", backend)
    floor = retention_floor(30 * DAY + 3600)
    assert floor == 30 * DAY + 3600 + 365 * DAY
    with pytest.raises(ConfigError, match="must be at least 396 "):
        log.prune(retention_seconds=90 * DAY, max_verify_window=30 * DAY + 3600)
    assert log.records(action="audit.prune") == []


def test_pruning_whole_segments_keeps_verify_green(tmp_path: Path, backend: object) -> None:
    log = aged_log(tmp_path / "a.db", backend)
    log.clock.advance(400 * DAY - 20 * DAY)  # type: ignore[attr-defined]  # records 1..~15 are past 400 days
    result = log.prune(retention_seconds=400 * DAY, max_verify_window=30 * DAY)
    assert result["up_to"] in (10, 20, 30) and result["pruned"] == result["up_to"]
    verified = log.verify()
    assert verified.ok, verified.broken
    assert log.records()[0].seq == result["up_to"] + 1
    assert log.records(action="audit.prune")[0].details["up_to"] == result["up_to"]
    log.append("bob", "key.create", "k-new")
    assert log.verify().ok


def test_deleting_a_prefix_without_prune_is_caught(tmp_path: Path, backend: object) -> None:
    log = aged_log(tmp_path / "a.db", backend)
    conn = sqlite3.connect(tmp_path / "a.db")
    conn.execute("DELETE FROM audit_records WHERE seq <= 10")  # at a checkpoint boundary, no prune record
    conn.commit()
    conn.close()
    result = log.verify()
    assert not result.ok and "audit.prune" in result.broken.reason  # type: ignore[union-attr]
    conn = sqlite3.connect(tmp_path / "a.db")
    conn.execute("DELETE FROM audit_records WHERE seq <= 13")  # not at a checkpoint
    conn.commit()
    conn.close()
    assert not log.verify().ok


def test_realm_with_a_window_beyond_the_retention_is_refused(tmp_path: Path) -> None:
    import subprocess
    import sys

    home = tmp_path / "h"
    subprocess.run([sys.executable, "-m", "signward", "--home", str(home), "init"], check=True, capture_output=True)
    text = (home / "config.toml").read_text().replace("retention_days = 730.0", "retention_days = 390.0")
    (home / "config.toml").write_text(text)
    done = subprocess.run([sys.executable, "-m", "signward", "--home", str(home), "realm", "create", "c",
                           "--issuer", "https://c.example.com"], capture_output=True, text=True)
    assert done.returncode == 2 and "audit.retention_days is 390; it must be at least 397 " in done.stderr
