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
        assert _refused(access.enroll, "bob", "mallory", admin_of=home.root) == "not_an_administrator"
    finally:
        os.chown(home.root, os.geteuid(), os.getegid())
    ops = access.enroll("ops", os_user(), admin_of=home.root)  # the administrator bootstraps the first approver
    bob = access.enroll("bob", access.identify(ops))  # an approver enrols
    assert access.identify(bob) == "bob"
    # an enrolled identity is never replaced, by anybody: the old credential keeps working
    assert _refused(access.enroll, "bob", "ops") == "identity_exists"
    assert _refused(access.enroll, "bob", os_user(), admin_of=home.root) == "identity_exists"
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
    access.enroll("ops", "root", admin_of=home.root)
    request = access.request(record.id, "alice", "triage", "INC-1", 3600)["request"]
    clock.advance(60)
    access.enroll("bob", "ops")  # bob is an approver, not the requester; the request is pending
    assert _refused(access.approve, request, "bob") == "enrolled_after_request"
    refusal = [r for r in pipeline.audit.records() if r.action == "debug.approve_refused"][-1]
    assert refusal.severity == "alert" and refusal.details["reason"] == "enrolled_after_request"
    granted = access.approve(request, "ops")  # enrolled before the request
    assert granted["user"] == "alice"
    later = access.request(record.id, "alice", "again", "INC-1", 3600)["request"]
    assert access.approve(later, "bob")["approved_by"] == "bob"  # the next request, filed after bob was


def test_the_requester_cannot_mint_its_approver_from_the_cli(tmp_path: Path, opened: list[Services]) -> None:
    """The attack of issue #34: the requester enrols an approver and approves its own request."""
    home = make_home(tmp_path / "home", None, approvers="bob")
    pipeline = pipeline_of(opened, home)
    record = pipeline.release(capture(pipeline, _planted(tmp_path)).id)
    pipeline.access.link(record.id, "INC-1", "oncall")
    request = pipeline.access.request(record.id, os_user(), "triage", "INC-1", 3600)["request"]
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
