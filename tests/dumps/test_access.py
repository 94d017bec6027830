"""Enrolment is an administrative act (issue #34): who may enrol and revoke, an identity is
never replaced, and an approver minted after the request cannot approve it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from signward.clock import FixedClock
from signward.dumps.access import os_user
from signward.errors import DumpRefused
from signward.home import Home
from signward.services import Services
from tests.dumps.test_pipeline import _planted, capture, make_home, opened, pipeline_of  # noqa: F401


def _refused(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(DumpRefused) as refusal:
        call(*args, **kwargs)  # type: ignore[operator]
    return str(refusal.value.reason)


def test_only_an_approver_or_the_homes_owner_enrols_and_nothing_is_replaced(tmp_path: Path,
                                                                            opened: list[Services]) -> None:
    home = make_home(tmp_path / "home", None, approvers="ops")
    pipeline = pipeline_of(opened, home)
    access = pipeline.access
    # not an approver, no --as-admin: bob is not enrolled, so only the authorisation rule can refuse
    assert _refused(access.enroll, "bob", "mallory") == "not_an_administrator"
    # --as-admin by someone who does not own the home
    os.chown(home.root, 65534, 65534)
    try:
        assert _refused(access.enroll, "bob", "mallory", admin_of=home) == "not_an_administrator"
    finally:
        os.chown(home.root, os.geteuid(), os.getegid())
    ops = access.enroll("ops", os_user(), admin_of=home)  # the administrator bootstraps the first approver
    bob = access.enroll("bob", access.identify(ops))  # an approver enrols
    assert access.identify(bob) == "bob"
    # an enrolled identity is never replaced, by anybody: the old credential keeps working
    assert _refused(access.enroll, "bob", "ops") == "identity_exists"
    assert _refused(access.enroll, "bob", os_user(), admin_of=home) == "identity_exists"
    assert access.identify(bob) == "bob"
    assert _refused(access.revoke, "bob", "mallory") == "not_an_administrator"
    access.revoke("bob", "ops")
    assert _refused(access.revoke, "bob", "ops") == "no_such_identity"
    again = access.enroll("bob", "ops")
    assert access.identify(again) == "bob"
    records = [(r.actor, r.action, r.severity, r.details.get("reason") or r.details.get("as_admin"))
               for r in pipeline.audit.records() if r.action.startswith("identity.")]
    assert records == [
        ("mallory", "identity.enroll_refused", "warning", "not_an_administrator"),
        ("mallory", "identity.enroll_refused", "warning", "not_an_administrator"),
        (os_user(), "identity.enroll", "warning", True),
        ("ops", "identity.enroll", "warning", False),
        ("ops", "identity.enroll_refused", "warning", "identity_exists"),
        (os_user(), "identity.enroll_refused", "warning", "identity_exists"),
        ("mallory", "identity.revoke_refused", "warning", "not_an_administrator"),
        ("ops", "identity.revoke", "warning", False),
        ("ops", "identity.enroll", "warning", False)]


def test_an_approver_enrolled_after_the_request_may_not_approve_it(tmp_path: Path, opened: list[Services]) -> None:
    home = make_home(tmp_path / "home", None, approvers="ops,bob")
    clock = FixedClock(datetime(2026, 11, 1, tzinfo=timezone.utc))
    pipeline = pipeline_of(opened, home, clock)
    access = pipeline.access
    record = pipeline.release(capture(pipeline, _planted(tmp_path)).id)
    access.link(record.id, "INC-1", "oncall")
    access.enroll("ops", "root", admin_of=home)
    request = access.request(record.id, "alice", "triage", "INC-1", 3600).id
    clock.advance(60)
    access.enroll("bob", "root", admin_of=home)  # bob is an approver, not the requester; the request is pending
    assert _refused(access.approve, request, "bob") == "enrolled_after_request"
    refusal = [r for r in pipeline.audit.records() if r.action == "debug.approve_refused"][-1]
    assert refusal.severity == "alert" and refusal.details["reason"] == "enrolled_after_request"
    granted = access.approve(request, "ops")  # enrolled before the request
    assert granted.user == "alice"
    later = access.request(record.id, "alice", "again", "INC-1", 3600).id
    assert access.approve(later, "bob").approved_by == "bob"  # the next request, filed after bob was


def test_the_requester_cannot_mint_its_approver_from_the_cli(tmp_path: Path, opened: list[Services]) -> None:
    """The attack of issue #34: the requester enrols an approver and approves its own request."""
    home = make_home(tmp_path / "home", None, approvers="bob")
    pipeline = pipeline_of(opened, home)
    record = pipeline.release(capture(pipeline, _planted(tmp_path)).id)
    pipeline.access.link(record.id, "INC-1", "oncall")
    request = pipeline.access.request(record.id, os_user(), "triage", "INC-1", 3600).id
    cli = [sys.executable, "-m", "signward", "--home", str(home.root)]
    credential = tmp_path / "bob.cred"
    plain = subprocess.run([*cli, "debug", "enroll", "bob", "-o", str(credential), "--json"], capture_output=True,
                           text=True, timeout=120)
    assert plain.returncode == 1 and json.loads(plain.stdout)["reason"] == "not_an_administrator", plain.stderr
    assert not credential.exists()  # nothing left behind
    admin = subprocess.run([*cli, "debug", "enroll", "bob", "-o", str(credential), "--as-admin"], capture_output=True,
                           text=True, timeout=120)
    assert admin.returncode == 0, admin.stderr
    approve = subprocess.run([*cli, "debug", "--credential", str(credential), "approve", request, "--json"],
                             capture_output=True, text=True, timeout=120)
    assert approve.returncode == 1 and json.loads(approve.stdout)["reason"] == "enrolled_after_request"
    again = subprocess.run([*cli, "debug", "enroll", "bob", "-o", str(tmp_path / "other.cred"), "--as-admin",
                            "--json"], capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and json.loads(again.stdout)["reason"] == "identity_exists"


def test_only_the_administrator_enrols_an_approver_and_nobody_approves_for_whoever_made_him(
        tmp_path: Path, opened: list[Services]) -> None:
    """Issue #34 F1: one approver revoked another, enrolled her name with a credential he kept
    and approved his own request as her."""
    home = make_home(tmp_path / "home", None, approvers="alice,bob")
    clock = FixedClock(datetime(2026, 11, 1, tzinfo=timezone.utc))
    pipeline = pipeline_of(opened, home, clock)
    access = pipeline.access
    record = pipeline.release(capture(pipeline, _planted(tmp_path)).id)
    access.link(record.id, "INC-1", "oncall")
    access.enroll("alice", "root", admin_of=home)
    access.enroll("bob", "root", admin_of=home)
    # bob is an approver (he may enrol and revoke others), alice is live: only the approver rule refuses
    assert _refused(access.revoke, "alice", "bob") == "not_an_administrator"
    assert access.enroll("carol", "bob")  # a non-approver, by an approver: allowed
    access.revoke("carol", "bob")
    # the administrator's own OS account files a request: an approver it enrolled may not approve it
    clock.advance(60)
    mine = access.request(record.id, "root", "triage", "INC-1", 3600).id
    assert _refused(access.approve, mine, "alice") == "enrolled_by_requester"
    # revoked by the requester, re-enrolled by someone else: still made by the requester
    access.revoke("alice", "mallory", admin_of=home)
    access.enroll("alice", "root", admin_of=home)
    clock.advance(60)
    request = access.request(record.id, "mallory", "triage", "INC-1", 3600).id
    assert _refused(access.approve, request, "alice") == "enrolled_by_requester"
    refusals = [r for r in pipeline.audit.records() if r.action == "debug.approve_refused"]
    assert [(r.severity, r.details["reason"]) for r in refusals] == [("alert", "enrolled_by_requester")] * 2
    assert access.approve(request, "bob").user == "mallory"  # bob was made by root, not by mallory


def test_the_administrator_is_the_owner_of_the_real_home_and_of_the_database_opened(
        tmp_path: Path, opened: list[Services]) -> None:
    """Issue #34 F2: --as-admin was checked against the directory the caller named."""
    home = make_home(tmp_path / "home", None, approvers="ops")
    access = pipeline_of(opened, home).access
    evil = tmp_path / "evil"  # the caller owns it and its own config; its other parts link to the real home
    evil.mkdir()
    (evil / "config.toml").write_text((home.root / "config.toml").read_text())
    for part in ("signward.db", "hsm", "quarantine"):
        (evil / part).symlink_to(home.root / part)
    assert "signward.db is a symlink" in Home(evil).admin_refusal(None)
    assert _refused(access.enroll, "ops", "mallory", admin_of=Home(evil)) == "not_an_administrator"
    # a home of its own, but not the database this store has open
    for part in ("signward.db", "hsm", "quarantine"):
        (evil / part).unlink()
    (evil / "signward.db").write_bytes(b"")
    assert _refused(access.enroll, "ops", "mallory", admin_of=Home(evil)) == "not_an_administrator"
    why = [r.details["why"] for r in pipeline_of(opened, home).audit.records() if r.action.endswith("_refused")]
    assert "signward.db is a symlink" in why[0] and "database actually opened" in why[1]
    assert access.enroll("ops", "root", admin_of=home)  # the real home: the administrator


def test_debug_commands_run_only_under_the_homes_own_configuration(tmp_path: Path, opened: list[Services]) -> None:
    """Issue #34 F3: the approvers came from whatever config file the caller named."""
    home = make_home(tmp_path / "home", None, approvers="alice")
    theirs = tmp_path / "mine.toml"  # outside the home, naming the caller an approver
    theirs.write_text((home.root / "config.toml").read_text().replace('approvers = "alice"',
                                                                      'approvers = "mallory,eve"'))
    theirs.chmod(0o600)
    cli = [sys.executable, "-m", "signward", "--home", str(home.root)]
    out = tmp_path / "eve.cred"
    run = subprocess.run([*cli, "--config", str(theirs), "debug", "enroll", "eve", "-o", str(out), "--as-admin",
                          "--json"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and json.loads(run.stdout)["reason"] == "foreign_config", run.stderr
    assert not out.exists()
    # inside the home, the owner's alone (as the lab keeps its deployments' files): the home's own
    inside = home.root / "lab.toml"
    inside.write_text(theirs.read_text())
    inside.chmod(0o600)
    assert home.foreign_config() == "" and Home(home.root, inside).foreign_config() == ""
    inside.chmod(0o620)  # writable by the group: not the owner's alone
    run = subprocess.run([*cli, "--config", str(inside), "debug", "enroll", "eve", "-o", str(out), "--as-admin",
                          "--json"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and json.loads(run.stdout)["reason"] == "foreign_config", run.stderr
    records = [r for r in pipeline_of(opened, home).audit.records() if r.action == "debug.config_refused"]
    assert [(r.severity, r.details["reason"]) for r in records] == [("alert", "foreign_config")] * 2
    assert len(records[0].details["config_sha256"]) == 64


def test_credential_files_and_identity_names(tmp_path: Path, opened: list[Services]) -> None:
    """Issue #34 F8: a credential readable by others is refused (as ssh does); identity names
    are ASCII only (no look-alikes of an approver's name)."""
    home = make_home(tmp_path / "home", None, approvers="ops")
    cli = [sys.executable, "-m", "signward", "--home", str(home.root)]
    credential = tmp_path / "ops.cred"
    assert subprocess.run([*cli, "debug", "enroll", "ops", "-o", str(credential), "--as-admin"],
                          capture_output=True, timeout=120).returncode == 0
    import hashlib  # every record of a debug command names the configuration it ran under

    [enrolled] = [r for r in pipeline_of(opened, home).audit.records() if r.action == "identity.enroll"]
    assert enrolled.details["config_sha256"] == hashlib.sha256(home.config_path.read_bytes()).hexdigest()
    credential.chmod(0o644)
    run = subprocess.run([*cli, "debug", "--credential", str(credential), "revoke", "nobody"], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 2 and "readable by others" in run.stderr and "Traceback" not in run.stderr
    lookalike = subprocess.run([*cli, "debug", "enroll", "\u043eps", "-o", str(tmp_path / "x.cred"), "--as-admin"],
                               capture_output=True, text=True, timeout=120)
    assert lookalike.returncode == 2 and "ASCII" in lookalike.stderr and "Traceback" not in lookalike.stderr
