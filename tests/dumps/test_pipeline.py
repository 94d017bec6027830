"""The dump pipeline end to end: capture through a pipe, sanitize, release, grant, fetch;
races; and two layers that each catch what the other missed."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from signward.audit import AuditLog
from signward.clock import FixedClock
from signward.dumps import Canary, KnownKeys, scan_path
from signward.dumps.pipeline import DumpPipeline, DumpRecord
from signward.errors import DumpRefused
from signward.home import Config, DumpsConfig, Home
from signward.store import open_store
from tests.dumps.conftest import CrashedProcess, crash_holder
from tests.dumps.planting import image, le
from tests.dumps.test_detectors import NUMBERS


def make_home(root: Path, canary: Path | None, **dumps: object) -> Home:
    home = Home(root)
    home.init(Config(dumps=DumpsConfig(canary=str(canary) if canary else "", **dumps)))  # type: ignore[arg-type]
    return home


def canary_known(canary_file: Path) -> KnownKeys:
    known = KnownKeys()
    Canary.load(canary_file).add_to(known)
    return known


def test_crash_capture_through_a_pipe_release_grant_fetch(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    home.init()  # makes the home's canary material
    canary = home.canary_path(home.load_config())
    assert canary is not None and canary.exists()
    crashed = crash_holder(tmp_path / "proc", "none", f"canary={canary}")  # SIGSEGV, core dumps on
    cli = [sys.executable, "-m", "signward", "--home", str(home.root)]
    with open(crashed.core, "rb") as core:  # fed on stdin, as the kernel feeds a core_pattern pipe
        captured = subprocess.run([*cli, "dumps", "capture", "--pid", "4242", "--exe", "/usr/bin/python3",
                                   "--signal", "11", "--time", "1790000000", "--json"], stdin=core,
                                  capture_output=True, text=True, timeout=600)
    assert captured.returncode == 0, captured.stderr + captured.stdout
    import json

    record = json.loads(captured.stdout)
    assert record["state"] == "sanitized" and record["pid"] == 4242 and record["signal"] == 11
    dump_id = record["id"]
    sealed = home.quarantine_dir / f"{dump_id}.core"
    assert oct(sealed.stat().st_mode & 0o777) == "0o400"
    assert hashlib.sha256(sealed.read_bytes()).hexdigest() == record["sha256"]
    assert subprocess.run([*cli, "dumps", "release", dump_id], capture_output=True).returncode == 0
    fetched = tmp_path / "fetched.core"
    no_grant = subprocess.run([*cli, "debug", "fetch", dump_id, "--as", "alice", "-o", str(fetched)],
                              capture_output=True)
    assert no_grant.returncode == 1 and not fetched.exists()
    assert subprocess.run([*cli, "debug", "grant", "--dump", dump_id, "--to", "alice", "--ttl", "1h"],
                          capture_output=True).returncode == 0
    assert subprocess.run([*cli, "debug", "fetch", dump_id, "--as", "alice", "-o", str(fetched)],
                          capture_output=True).returncode == 0
    assert scan_path(fetched, None, canary_known(canary)).findings == []
    if shutil.which("gdb"):
        run = subprocess.run(["gdb", "-batch", "-nx", "-ex", "bt", "-c", str(fetched)], capture_output=True,
                             text=True, timeout=120)
        assert run.returncode == 0 and "#0" in run.stdout
    actions = [r.action for r in AuditLog(open_store(home.db_path)).records()]
    assert actions == ["dump.capture", "dump.sanitized", "dump.release", "debug.fetch_refused", "debug.grant",
                       "debug.fetch"]


def test_fifty_concurrent_captures(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home", None)
    dump = image(tmp_path / "small.raw", 64 << 10, {})
    cli = [sys.executable, "-m", "signward", "--home", str(home.root), "dumps", "capture", "--json"]
    inputs = [open(dump, "rb") for _ in range(50)]
    procs = [subprocess.Popen(cli, stdin=handle, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for handle in inputs]
    outputs = [proc.communicate(timeout=600) for proc in procs]
    for handle in inputs:
        handle.close()
    assert [p.returncode for p in procs] == [0] * 50, [o[1][-300:] for o in outputs if o[1]][:2]
    pipeline = DumpPipeline(home)
    records = pipeline.list()
    assert len({r.id for r in records}) == 50 and {r.state for r in records} == {"sanitized"}
    assert AuditLog(pipeline.store).verify().ok


def capture(pipeline: DumpPipeline, path: Path) -> DumpRecord:
    with open(path, "rb") as handle:
        return pipeline.capture(handle, "test")


def _planted(tmp_path: Path) -> Path:
    return image(tmp_path / "planted.raw", 4 << 20, {65536: le(NUMBERS.p, 128), 65536 + 4096: le(NUMBERS.q, 128),
                                                    200_000: le(NUMBERS.public_numbers.n, 256)})


def test_release_racing_sanitize_never_releases_an_unsanitized_byte(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home", None)
    planted = _planted(tmp_path)
    outcomes: list[str] = []
    thread = threading.Thread(target=lambda: capture(DumpPipeline(home), planted))
    thread.start()
    releaser = DumpPipeline(home)
    try:
        while "released" not in outcomes:
            records = releaser.list()
            if records:
                try:
                    releaser.release(records[0].id)
                    outcomes.append("released")
                except DumpRefused as refusal:
                    outcomes.append(refusal.reason)
            time.sleep(0.05)
    finally:
        thread.join()
        releaser.close()
    assert set(outcomes) <= {"not_sanitized", "released"} and outcomes.count("released") == 1
    (stored,) = (home.debug_store_dir(home.load_config()) / "dumps").iterdir()
    assert le(NUMBERS.p, 128) not in stored.read_bytes() and le(NUMBERS.q, 128) not in stored.read_bytes()


def test_a_file_swapped_between_sanitize_and_release_is_refused(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home", None)
    pipeline = DumpPipeline(home)
    record = capture(pipeline, _planted(tmp_path))
    assert record.state == "sanitized"
    sanitized = home.quarantine_dir / f"{record.id}.sanitized"
    os.chmod(sanitized, 0o600)
    shutil.copyfile(home.quarantine_dir / f"{record.id}.core", sanitized)  # the unsanitized bytes
    with pytest.raises(DumpRefused) as refusal:
        pipeline.release(record.id)
    assert refusal.value.reason == "attestation_mismatch"
    assert list((home.debug_store_dir(home.load_config()) / "dumps").iterdir()) == []
    assert pipeline.get(record.id).state == "refused"
    alerts = [r for r in AuditLog(pipeline.store).records() if r.severity == "alert"]
    assert [r.action for r in alerts] == ["dump.release_refused"]


def test_a_partial_write_stays_in_quarantine(tmp_path: Path, key_holder: CrashedProcess) -> None:
    home = make_home(tmp_path / "home", None)
    pipeline = DumpPipeline(home)
    record = pipeline.capture(io.BytesIO(key_holder.core.read_bytes()[:100_000]), "pipe")
    assert record.state == "refused" and record.reason.startswith("unreadable")
    assert (home.quarantine_dir / f"{record.id}.core").exists()
    with pytest.raises(DumpRefused):
        pipeline.release(record.id)
    assert list((home.debug_store_dir(home.load_config()) / "dumps").iterdir()) == []


def test_two_layers_each_catch_what_the_other_missed(tmp_path: Path, canary_holder: CrashedProcess,
                                                      canary_file: Path) -> None:
    # the sender's key detectors switched off by a test setting (with text or der on, a PEM or
    # DER copy of a canary teaches the sender the key and its in-memory forms are found anyway)
    weakened = "aes,unknown-rsa"
    first = DumpPipeline(make_home(tmp_path / "one", canary_file, detectors=weakened))
    record = capture(first, canary_holder.core)
    assert record.state == "refused" and record.reason.startswith("canary_missed")

    second_home = make_home(tmp_path / "two", canary_file, detectors=weakened, canary_check=False)
    second = DumpPipeline(second_home)
    record = capture(second, canary_holder.core)
    assert record.state == "sanitized"  # the sender missed the EC scalar, the Ed25519 seed, the PEMs
    with pytest.raises(DumpRefused) as refusal:
        second.release(record.id)
    assert refusal.value.reason == "store_rescan"
    assert second.get(record.id).state == "refused"
    assert list((second_home.debug_store_dir(second_home.load_config()) / "dumps").iterdir()) == []


def test_grants_expire_bulk_fetches_alert_and_retention_deletes(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home", None, max_fetches_per_hour=2)
    clock = FixedClock(datetime(2026, 11, 1, tzinfo=timezone.utc))
    pipeline = DumpPipeline(home, clock=clock)
    record = pipeline.release(capture(pipeline, _planted(tmp_path)).id)
    pipeline.grant(record.id, "bob", 3600, "ops")
    for index in range(2):
        pipeline.fetch(record.id, "bob", tmp_path / f"f{index}")
    with pytest.raises(DumpRefused) as refusal:
        pipeline.fetch(record.id, "bob", tmp_path / "f3")
    assert refusal.value.reason == "rate_limit"
    clock.advance(2 * 3600)
    with pytest.raises(DumpRefused) as refusal:
        pipeline.fetch(record.id, "bob", tmp_path / "f4")
    assert refusal.value.reason == "grant_expired"
    clock.advance(31 * 86400)
    assert pipeline.expire() == [record.id]
    assert pipeline.get(record.id).state == "deleted"
    assert list(home.quarantine_dir.iterdir()) == []
    actions = [(r.action, r.severity) for r in AuditLog(pipeline.store).records()]
    assert ("debug.bulk_fetch", "alert") in actions and ("dump.delete", "info") in actions
