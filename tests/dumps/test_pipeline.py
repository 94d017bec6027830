"""The dump pipeline end to end: capture through a pipe, sanitize, release, grant, fetch;
races; and two layers that each catch what the other missed."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from signward.clock import Clock, FixedClock
from signward.dumps import Canary, KnownKeys, scan_path
from signward.dumps.access import Grant
from signward.dumps.pipeline import DumpPipeline, DumpRecord
from signward.dumps.reasons import DumpReason, DumpState
from signward.errors import DumpRefused, Refusal
from signward.home import Config, DumpsConfig, Home
from signward.services import Services, init_home, open_services
from tests.scan.crashes import CrashedProcess, crash_holder
from tests.scan.material import NUMBERS
from tests.scan.planting import image, le


def make_home(root: Path, canary: Path | None, **dumps: object) -> Home:
    home = Home(root)
    dumps.setdefault("approvers", "ops")
    if canary is None:  # no canary material: only with the check explicitly off, or every dump is `no_canary`
        dumps.setdefault("insecure_skip_canary_check", True)
    init_home(home, Config(dumps=DumpsConfig(canary=str(canary) if canary else "", **dumps)))  # type: ignore[arg-type]
    return home


def approved(pipeline: DumpPipeline, dump_id: str, user: str = "bob") -> Grant:
    """The two-person path: the dump linked to an incident, `user` asks, `ops` approves."""
    pipeline.access.link(dump_id, "INC-7", "oncall")
    request = pipeline.access.request(dump_id, user, "the crash at 03:12", "INC-7", 3600)
    return pipeline.access.approve(request.id, "ops")


@pytest.fixture
def opened() -> Iterator[list[Services]]:
    """Services a test opens, closed when it ends."""
    services: list[Services] = []
    yield services
    for item in services:
        item.close()


def pipeline_of(opened: list[Services], home: Home, clock: Clock | None = None) -> DumpPipeline:
    services = open_services(home, clock=clock)
    opened.append(services)
    return services.pipeline


def canary_known(canary_file: Path) -> KnownKeys:
    known = KnownKeys()
    Canary.load(canary_file).add_to(known)
    return known


def test_crash_capture_through_a_pipe_release_request_approve_fetch(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    init_home(home, Config(dumps=DumpsConfig(approvers="bob")))  # makes the home's canary material
    canary = home.canary_path(home.load_config())
    assert canary is not None and canary.exists()
    crashed = crash_holder(tmp_path / "proc", "none", f"canary={canary}")  # SIGSEGV, core dumps on
    cli = [sys.executable, "-m", "signward", "--home", str(home.root)]
    with open(crashed.core, "rb") as core:  # fed on stdin, as the kernel feeds a core_pattern pipe
        captured = subprocess.run([*cli, "dumps", "capture", "--pid", "4242", "--exe", "/usr/bin/python3",
                                   "--signal", "11", "--time", "1790000000", "--incident", "INC-42", "--json"],
                                  stdin=core, capture_output=True, text=True, timeout=600)
    assert captured.returncode == 0, captured.stderr + captured.stdout
    record = json.loads(captured.stdout)
    assert record["state"] == "sanitized" and record["pid"] == 4242 and record["signal"] == 11
    dump_id = record["id"]
    sealed = home.quarantine_dir / f"{dump_id}.core"
    assert oct(sealed.stat().st_mode & 0o777) == "0o400"
    assert hashlib.sha256(sealed.read_bytes()).hexdigest() == record["sha256"]
    assert subprocess.run([*cli, "dumps", "release", dump_id], capture_output=True).returncode == 0
    for user in ("alice", "bob"):
        enrolled = subprocess.run([*cli, "debug", "enroll", user, "-o", str(tmp_path / f"{user}.cred"), "--as-admin"],
                                  capture_output=True, text=True)
        assert enrolled.returncode == 0, enrolled.stderr
        assert (tmp_path / f"{user}.cred").stat().st_mode & 0o777 == 0o600

    def as_user(user: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*cli, "debug", "--credential", str(tmp_path / f"{user}.cred"), *args, "--json"],
                              capture_output=True, text=True, timeout=120)

    fetched = tmp_path / "fetched.core"
    assert as_user("alice", "fetch", dump_id, "-o", str(fetched)).returncode == 1 and not fetched.exists()
    assert json.loads(as_user("alice", "grant", "--dump", dump_id, "--to", "alice").stdout)["reason"] == \
        "needs_approval"
    assert as_user("alice", "request", "--dump", dump_id, "--reason", "crash loop", "--incident",
                   "INC-9").returncode == 1  # not the incident this crash is linked to
    asked = as_user("alice", "request", "--dump", dump_id, "--reason", "crash loop", "--incident", "INC-42")
    assert asked.returncode == 0, asked.stderr
    request = json.loads(asked.stdout)["request"]
    assert json.loads(asked.stdout) == {"request": request, "dump": dump_id, "requester": "alice", "incident": "INC-42",
                                        "ttl": 4 * 3600, "state": "pending",
                                        "lapses_at": json.loads(asked.stdout)["lapses_at"]}  # the JSON's shape
    assert json.loads(as_user("alice", "approve", request).stdout)["reason"] == "self_approval"
    assert as_user("alice", "fetch", dump_id, "-o", str(fetched)).returncode == 1
    approval = as_user("bob", "approve", request)
    assert approval.returncode == 0 and json.loads(approval.stdout)["user"] == "alice"
    assert sorted(json.loads(approval.stdout)) == ["approved_by", "dump", "expires", "expires_at", "grant", "request",
                                                   "user"] and json.loads(approval.stdout)["approved_by"] == "bob"
    assert json.loads(as_user("bob", "approve", request).stdout)["reason"] == "request_closed"
    assert as_user("bob", "fetch", dump_id, "-o", str(fetched)).returncode == 1  # the grant is alice's
    taken = as_user("alice", "fetch", dump_id, "-o", str(fetched))
    assert taken.returncode == 0
    assert json.loads(taken.stdout) == {"dump": dump_id, "user": "alice", "file": str(fetched)}
    assert scan_path(fetched, None, canary_known(canary)).findings == []
    if shutil.which("gdb"):
        run = subprocess.run(["gdb", "-batch", "-nx", "-ex", "bt", "-c", str(fetched)], capture_output=True,
                             text=True, timeout=120)
        assert run.returncode == 0 and "#0" in run.stdout
    with open_services(home) as services:
        records = services.audit.records()
    assert [(r.actor, r.action, r.severity) for r in records if r.action.startswith(("debug.", "dump.link"))] == [
        ("dumps", "dump.link", "info"), ("alice", "debug.fetch_refused", "alert"),
        ("alice", "debug.grant_refused", "warning"), ("alice", "debug.request_refused", "warning"),
        ("alice", "debug.request", "info"), ("alice", "debug.approve_refused", "alert"),
        ("alice", "debug.fetch_refused", "alert"), ("bob", "debug.grant", "info"),
        ("bob", "debug.approve_refused", "warning"), ("bob", "debug.fetch_refused", "alert"),
        ("alice", "debug.fetch", "info")]


def test_identity_is_the_credential_or_the_os_user(tmp_path: Path, opened: list[Services]) -> None:
    from signward.dumps.access import os_user, read_credential
    from signward.errors import UsageError

    home = make_home(tmp_path / "home", None)
    access = pipeline_of(opened, home).access
    assert access.identify(None) == os_user()
    token = access.enroll("carol", "root", admin_of=home)
    assert access.identify(token) == "carol"
    access.revoke("carol", "root", admin_of=home)
    with pytest.raises(UsageError, match="not one this home issued"):
        access.identify(token)  # the revoked credential stopped working
    replaced = access.enroll("carol", "root", admin_of=home)
    assert access.identify(replaced) == "carol"
    for bad in (b"", b"swu_" + b"x" * 2000, b"not-a-credential\n"):
        (tmp_path / "cred").write_bytes(bad)
        with pytest.raises(UsageError):
            read_credential(tmp_path / "cred")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for special in (fifo, Path("/dev/zero"), tmp_path):  # refused unread: no hang, no endless read
        with pytest.raises(UsageError, match="not a regular file"):
            read_credential(special)
    with pytest.raises(UsageError):
        access.enroll("../etc", "root", admin_of=home)


def test_grants_need_an_approver_from_the_group_and_last_at_most_the_limit(tmp_path: Path,
                                                                           opened: list[Services]) -> None:
    from signward.errors import UsageError

    home = make_home(tmp_path / "home", None, max_grant_hours=2, approvers="ops,carol")
    clock = FixedClock(datetime(2026, 11, 1, tzinfo=timezone.utc))
    pipeline = pipeline_of(opened, home, clock)
    record = pipeline.release(capture(pipeline, _planted(tmp_path)).id)
    with pytest.raises(DumpRefused) as refusal:
        pipeline.grant(record.id, "carol", 3600, "carol")  # no request, no second person
    assert refusal.value.reason == "needs_approval"
    pipeline.access.link(record.id, "INC-1", "oncall")
    own = pipeline.access.request(record.id, "carol", "mine", "INC-1", 3600).id
    with pytest.raises(DumpRefused) as refusal:
        pipeline.access.approve(own, "carol")  # an approver, but the requester
    assert refusal.value.reason == "self_approval"
    with pytest.raises(UsageError, match="at most 2 hours"):
        pipeline.access.request(record.id, "bob", "why", "INC-1", 3 * 3600)
    request = pipeline.access.request(record.id, "bob", "why", "INC-1", 2 * 3600).id
    with pytest.raises(DumpRefused) as refusal:
        pipeline.access.approve(request, "mallory")  # not in dumps.approvers
    assert refusal.value.reason == "not_an_approver"
    clock.advance(25 * 3600)  # the request lapsed unapproved
    with pytest.raises(DumpRefused) as refusal:
        pipeline.access.approve(request, "ops")
    assert refusal.value.reason == "request_closed"
    request = pipeline.access.request(record.id, "bob", "again", "INC-1", 2 * 3600).id
    assert pipeline.access.pending()[0]["request"] == request
    pipeline.access.approve(request, "ops")
    pipeline.fetch(record.id, "bob", tmp_path / "one")
    clock.advance(2 * 3600 + 1)
    with pytest.raises(DumpRefused) as refusal:
        pipeline.fetch(record.id, "bob", tmp_path / "two")
    assert refusal.value.reason == "grant_expired"


def test_self_grant_is_the_weakened_control(tmp_path: Path, opened: list[Services]) -> None:
    home = make_home(tmp_path / "home", None, insecure_self_grant=True)
    pipeline = pipeline_of(opened, home)
    record = pipeline.release(capture(pipeline, _planted(tmp_path)).id)
    pipeline.grant(record.id, "eve", 3600, "eve")  # one account grants itself, as in 2021
    pipeline.fetch(record.id, "eve", tmp_path / "taken")
    actions = [(r.action, r.details.get("setting")) for r in pipeline.audit.records()]
    assert ("control.weakened", "dumps.insecure_self_grant") in actions
    assert {w.setting for w in home.load_config().weakened()} == {
        "dumps.canary", "dumps.insecure_skip_canary_check", "dumps.insecure_self_grant"}


def test_fifty_concurrent_captures(tmp_path: Path, opened: list[Services]) -> None:
    home = make_home(tmp_path / "home", None)
    dump = image(tmp_path / "small.raw", 64 << 10, {})
    cli = [sys.executable, "-m", "signward", "--home", str(home.root), "dumps", "capture", "--json"]
    inputs = [open(dump, "rb") for _ in range(50)]
    procs = [subprocess.Popen(cli, stdin=handle, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for handle in inputs]
    outputs = [proc.communicate(timeout=600) for proc in procs]
    for handle in inputs:
        handle.close()
    assert [p.returncode for p in procs] == [0] * 50, [o[1][-300:] for o in outputs if o[1]][:2]
    pipeline = pipeline_of(opened, home)
    records = pipeline.list()
    assert len({r.id for r in records}) == 50 and {r.state for r in records} == {"sanitized"}
    assert pipeline.audit.verify().ok


def capture(pipeline: DumpPipeline, path: Path) -> DumpRecord:
    with open(path, "rb") as handle:
        return pipeline.capture(handle, "test")


def _planted(tmp_path: Path) -> Path:
    return image(tmp_path / "planted.raw", 4 << 20, {65536: le(NUMBERS.p, 128), 65536 + 4096: le(NUMBERS.q, 128),
                                                    200_000: le(NUMBERS.public_numbers.n, 256)})


def test_release_racing_sanitize_never_releases_an_unsanitized_byte(tmp_path: Path, opened: list[Services]) -> None:
    # a fresh home: the capturing thread and the releaser open the store at the same moment
    home = make_home(tmp_path / "home", None)
    planted = _planted(tmp_path)
    outcomes: list[str] = []
    failures: list[BaseException] = []

    def capturing() -> None:
        try:
            with open_services(home) as services:
                capture(services.pipeline, planted)
        except BaseException as exc:  # re-raised below: a dead capture thread fails the test
            failures.append(exc)

    thread = threading.Thread(target=capturing)
    thread.start()
    releaser = pipeline_of(opened, home)
    deadline = time.monotonic() + 300
    try:
        while "released" not in outcomes:
            if failures:
                raise failures[0]
            if time.monotonic() > deadline:
                raise TimeoutError(f"no release within 300 s (outcomes {outcomes})")
            records = releaser.list()
            if records:
                try:
                    releaser.release(records[0].id)
                    outcomes.append("released")
                except DumpRefused as refusal:
                    outcomes.append(refusal.reason)
            time.sleep(0.05)
    finally:
        thread.join(timeout=300)
    assert not thread.is_alive(), "the capture thread did not finish"
    if failures:
        raise failures[0]
    assert set(outcomes) <= {"not_sanitized", "released"} and outcomes.count("released") == 1
    (stored,) = (home.debug_store_dir(home.load_config()) / "dumps").iterdir()
    assert le(NUMBERS.p, 128) not in stored.read_bytes() and le(NUMBERS.q, 128) not in stored.read_bytes()


def test_a_file_swapped_between_sanitize_and_release_is_refused(tmp_path: Path, opened: list[Services]) -> None:
    home = make_home(tmp_path / "home", None)
    pipeline = pipeline_of(opened, home)
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
    alerts = [r for r in pipeline.audit.records() if r.severity == "alert"]
    assert [r.action for r in alerts] == ["dump.release_refused"]


def test_a_partial_write_stays_in_quarantine(tmp_path: Path, key_holder: CrashedProcess,
                                             opened: list[Services]) -> None:
    home = make_home(tmp_path / "home", None)
    pipeline = pipeline_of(opened, home)
    record = pipeline.capture(io.BytesIO(key_holder.core.read_bytes()[:100_000]), "pipe")
    assert record.state == DumpState.REFUSED and record.reason == DumpReason.UNREADABLE and record.detail
    assert record.refusal == Refusal(DumpReason.UNREADABLE, record.detail)
    assert (home.quarantine_dir / f"{record.id}.core").exists()
    with pytest.raises(DumpRefused):
        pipeline.release(record.id)
    assert list((home.debug_store_dir(home.load_config()) / "dumps").iterdir()) == []


def test_two_layers_each_catch_what_the_other_missed(tmp_path: Path, canary_holder: CrashedProcess,
                                                      canary_file: Path, opened: list[Services]) -> None:
    # the sender's key detectors switched off by the named insecure setting (with text or der
    # on, a PEM or DER copy of a canary teaches the sender the key and its in-memory forms are
    # found anyway), and its re-scan switched off too: the 2021 sanitizer
    weakened = {"insecure_detectors": "aes,unknown-rsa", "insecure_skip_residue_rescan": True}
    first = pipeline_of(opened, make_home(tmp_path / "one", canary_file, **weakened))
    record = capture(first, canary_holder.core)
    assert record.state == DumpState.REFUSED and record.reason == DumpReason.CANARY_MISSED

    second_home = make_home(tmp_path / "two", canary_file, **weakened, insecure_skip_canary_check=True)
    second = pipeline_of(opened, second_home)
    record = capture(second, canary_holder.core)
    assert record.state == "sanitized"  # the sender missed the EC scalar, the Ed25519 seed, the PEMs
    with pytest.raises(DumpRefused) as refusal:
        second.release(record.id)
    assert refusal.value.reason == "store_rescan"
    # the store's own scanner refused (its detectors are all on), before its independent reader
    # was asked: each of the store's two readers is pinned by a test of its own
    assert "finding(s), first" in refusal.value.detail and "independent reader" not in refusal.value.detail
    assert second.get(record.id).state == "refused"
    assert list((second_home.debug_store_dir(second_home.load_config()) / "dumps").iterdir()) == []


def test_grants_expire_bulk_fetches_alert_and_retention_deletes(tmp_path: Path, opened: list[Services]) -> None:
    home = make_home(tmp_path / "home", None, max_fetches_per_hour=2)
    clock = FixedClock(datetime(2026, 11, 1, tzinfo=timezone.utc))
    pipeline = pipeline_of(opened, home, clock)
    record = pipeline.release(capture(pipeline, _planted(tmp_path)).id)
    approved(pipeline, record.id)
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
    assert [(e.id, e.deleted) for e in pipeline.expire()] == [(record.id, True)]
    assert pipeline.get(record.id).state == "deleted"
    assert list(home.quarantine_dir.iterdir()) == []
    actions = [(r.action, r.severity) for r in pipeline.audit.records()]
    assert ("debug.bulk_fetch", "alert") in actions and ("dump.delete", "info") in actions


def test_fetch_and_retention_follow_every_store_a_dump_was_released_to(tmp_path: Path,
                                                                        opened: list[Services]) -> None:
    """Regressions: `debug fetch` looked only in the configured store (a dump released `--to`
    another failed with exit 3), and `dumps expire` said deleted while that store kept the core."""
    home = make_home(tmp_path / "home", None)
    clock = FixedClock(datetime(2026, 11, 1, tzinfo=timezone.utc))
    pipeline = pipeline_of(opened, home, clock)
    record = capture(pipeline, _planted(tmp_path))
    other = tmp_path / "other-store"
    pipeline.release(record.id, to=other)
    assert pipeline.copies(record.id) == [str(other)]
    approved(pipeline, record.id)
    pipeline.fetch(record.id, "bob", tmp_path / "fetched")
    assert (tmp_path / "fetched").read_bytes() == (other / "dumps" / f"{record.id}.core").read_bytes()
    clock.advance(60)
    pipeline.release(record.id)  # and to the configured store
    default = home.debug_store_dir(home.load_config())
    assert set(pipeline.copies(record.id)) == {str(other), str(default)}
    clock.advance(31 * 86400)
    (expired,) = pipeline.expire()
    assert expired.deleted and set(expired.removed_from) == {str(other), str(default)}
    assert list((other / "dumps").iterdir()) == [] and list((default / "dumps").iterdir()) == []
    assert pipeline.get(record.id).state == "deleted"


def test_a_copy_that_cannot_be_removed_is_named_and_the_dump_stays_listed(tmp_path: Path,
                                                                          opened: list[Services]) -> None:
    home = make_home(tmp_path / "home", None)
    clock = FixedClock(datetime(2026, 11, 1, tzinfo=timezone.utc))
    pipeline = pipeline_of(opened, home, clock)
    record = pipeline.release(capture(pipeline, _planted(tmp_path)).id)
    stored = home.debug_store_dir(home.load_config()) / "dumps" / f"{record.id}.core"
    stored.unlink()
    stored.mkdir()  # not a regular file: never removed by retention
    clock.advance(31 * 86400)
    (expired,) = pipeline.expire()
    assert not expired.deleted and expired.failed[0].store == str(stored.parents[1])
    assert stored.is_dir() and pipeline.get(record.id).state == "released"
    assert pipeline.audit.records(action="dump.delete_failed")


def test_hostile_paths_and_failures_around_release_and_fetch(tmp_path: Path, opened: list[Services]) -> None:
    """Regressions: `release nosuchid --to DIR` changed DIR's mode before finding no dump;
    `fetch -o` replaced a FIFO or device; a fetch that failed to write was still recorded and
    counted; a corrupt canary file left a dump `quarantined` with no reason."""
    from signward.errors import NotFound, UsageError

    home = make_home(tmp_path / "home", None)
    pipeline = pipeline_of(opened, home)
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    with pytest.raises(NotFound):
        pipeline.release("nosuchid", to=shared)
    assert (shared.stat().st_mode & 0o7777) == 0o1777 and list(shared.iterdir()) == []
    record = pipeline.release(capture(pipeline, _planted(tmp_path)).id, to=shared)
    assert (shared.stat().st_mode & 0o7777) == 0o1777  # the operator's directory keeps its mode
    assert (shared / "dumps").stat().st_mode & 0o777 == 0o700
    approved(pipeline, record.id)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for taken in (fifo, tmp_path / "home" / "config.toml"):
        with pytest.raises(UsageError, match="exists"):
            pipeline.fetch(record.id, "bob", taken)
    assert fifo.exists() and not fifo.is_file()
    (shared / "dumps" / f"{record.id}.core").unlink()  # the copy is gone: the fetch cannot write
    with pytest.raises(NotFound):
        pipeline.fetch(record.id, "bob", tmp_path / "fetched")
    assert not (tmp_path / "fetched").exists() and pipeline.audit.records(action="debug.fetch") == []
    with pipeline.store.snapshot() as tx:
        assert tx.one("SELECT COUNT(*) AS n FROM dump_fetches")["n"] == 0  # type: ignore[index]

    canary_home = make_home(tmp_path / "canary-home", tmp_path / "canary.json")
    (tmp_path / "canary.json").write_text("{not json")
    broken = pipeline_of(opened, canary_home)
    with pytest.raises(Exception) as failed:
        capture(broken, _planted(tmp_path))
    (dump,) = broken.list()
    assert dump.state == DumpState.REFUSED and dump.reason == DumpReason.ERROR
    assert dump.detail == f"{type(failed.value).__name__}: {failed.value}"


def test_capture_refuses_what_is_not_a_regular_file_and_bounds_stdin(tmp_path: Path) -> None:
    """Regressions: `capture --file /dev/zero` filled the disk and `--file FIFO` hung."""
    home = make_home(tmp_path / "home", None, max_dump_bytes=1 << 20)
    cli = [sys.executable, "-m", "signward", "--home", str(home.root), "dumps", "capture"]
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for target in ("/dev/zero", str(fifo), str(tmp_path)):
        done = subprocess.run([*cli, "--file", target], capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and "not a regular file" in done.stderr, (target, done.stderr)
    with open("/dev/zero", "rb") as zeros:  # an endless pipe on stdin stops at the configured size
        done = subprocess.run(cli, stdin=zeros, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "configured limit of 1048576 bytes" in done.stderr
    assert list(home.quarantine_dir.iterdir()) == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL])
def test_a_signal_during_sanitize_leaves_no_unredacted_copy(tmp_path: Path, signum: int) -> None:
    """Regression: killed with SIGTERM during sanitize, the sealed (unredacted) copy stayed; the
    copy is now nameless, so SIGKILL leaves nothing either."""
    big = image(tmp_path / "big.raw", 256 << 20, {65536: le(NUMBERS.p, 128)})
    home = make_home(tmp_path / "home", None)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "signward", "--home", str(home.root), "dumps", "sanitize",
                             str(big), "-o", str(out_dir / "clean")], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120

    def sealing() -> bool:  # the child holds a file in OUT's directory (its sealed copy)
        try:
            return any(os.readlink(fd).startswith(str(out_dir)) for fd in Path(f"/proc/{proc.pid}/fd").iterdir())
        except OSError:
            return False

    while not sealing():
        assert proc.poll() is None and time.monotonic() < deadline, "sanitize never started sealing"
        time.sleep(0.01)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode in (128 + signum, -signum), err
    assert list(out_dir.iterdir()) == []  # no sealed copy, no partial output


def test_racing_approvals_of_one_request_make_one_grant(tmp_path: Path, opened: list[Services]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    home = make_home(tmp_path / "home", None, approvers="ops,amy")
    first = pipeline_of(opened, home)
    record = first.release(capture(first, _planted(tmp_path)).id)
    first.access.link(record.id, "INC-3", "oncall")
    request = first.access.request(record.id, "bob", "why", "INC-3", 3600).id
    approvers = [(pipeline_of(opened, home), name) for name in ("ops", "amy")]  # two processes' connections

    def approve(pair: tuple[DumpPipeline, str]) -> str:
        try:
            return str(pair[0].access.approve(request, pair[1]).id)
        except DumpRefused as refusal:
            return str(refusal.reason)

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(approve, approvers))
    assert outcomes.count("request_closed") == 1
    with first.store.snapshot() as tx:
        assert tx.one("SELECT COUNT(*) AS n FROM dump_grants WHERE dump_id = ?", (record.id,))["n"] == 1  # type: ignore[index]


@pytest.mark.parametrize("how", ["unset", "deleted"])
def test_the_canary_check_without_canary_material_refuses_every_dump(tmp_path: Path, how: str,
                                                                       opened: list[Services]) -> None:
    """#34: `dumps.canary = ""`, or the canary file deleted, used to certify dumps with no canary
    in them. With the check on and nothing to check with, the dump is refused `no_canary`; the
    same dump is sanitized where the check is explicitly off (so only this rule refused it). The
    rule does not depend on the dump's bytes, so the dump is the small planted image: sanitizing
    the crashed key holder's core where the check is off cost about 5 CPU-s a case."""
    dump = _planted(tmp_path)
    if how == "unset":
        home = Home(tmp_path / "home")
        init_home(home, Config(dumps=DumpsConfig(canary="", approvers="ops")))
    else:
        home = Home(tmp_path / "home")
        init_home(home, Config(dumps=DumpsConfig(approvers="ops")))
        path = home.canary_path(home.load_config())
        assert path is not None and path.exists()
        path.unlink()
    record = capture(pipeline_of(opened, home), dump)
    assert record.state == DumpState.REFUSED and record.reason == DumpReason.NO_CANARY, record.reason
    assert "dumps.insecure_skip_canary_check" in record.detail  # it names the switch, never flips it
    off = make_home(tmp_path / "off", None)  # the same dump, the check explicitly off
    record = capture(pipeline_of(opened, off), dump)
    assert record.state == "sanitized", record.reason


def test_the_store_refuses_what_its_own_scanner_finds_before_its_independent_reader(tmp_path: Path) -> None:
    """The store's re-scan at its door, alone and small: a file with a published key's prime in it
    is refused `store_rescan` by the store's scanner (its detail names the finding, not the
    independent reader, which has its own tests), and removed; a clean file of the same shape is
    received, so nothing else refuses. (The pipeline's weakened sender is the two-layers test.)"""
    from joserfc.jwk import RSAKey

    from signward.dumps.debugstore import DebugStore
    from tests.scan.material import RSA

    store = DebugStore(tmp_path / "store")
    store.publish_keys([{"keys": [RSAKey.import_key(RSA.public_key()).as_dict()]}])
    store.receive("clean", image(store.staging() / "clean", 1 << 16, {}))
    dirty = image(store.staging() / "dirty", 1 << 16, {4096: le(NUMBERS.p, 128)})
    with pytest.raises(DumpRefused) as refusal:
        store.receive("dirty", dirty)
    assert refusal.value.reason == "store_rescan"
    assert refusal.value.detail.startswith("1 finding(s), first "), refusal.value.detail
    assert not dirty.exists() and [p.name for p in (store.root / "dumps").iterdir()] == ["clean.core"]
