"""The register of settings that weaken a control (issue #34): `config check`, the audit record
of every start and the configuration reference all come from `signward.controls_config`."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from signward.algorithms import Alg
from signward.controls_config import REGISTER, HomeFacts, reference_markdown, weakened
from signward.home import Config, DumpsConfig, Home
from signward.hsm import SigningBackend
from signward.keys.model import RotationPolicy
from signward.services import init_home, open_services


def _check(home: Home) -> tuple[int, list[dict[str, str]], str]:
    done = subprocess.run([sys.executable, "-m", "signward", "--home", str(home.root), "config", "check", "--json"],
                          capture_output=True, text=True, timeout=120)
    found = json.loads(done.stdout)["weakened"] if done.stdout.strip() else []
    return done.returncode, found, done.stderr


def _set(home: Home, old: str, new: str) -> None:
    text = home.config_path.read_text()
    assert old in text
    home.config_path.write_text(text.replace(old, new))


@pytest.fixture
def home(tmp_path: Path) -> Home:
    made = Home(tmp_path / "h")
    init_home(made, Config(dumps=DumpsConfig(approvers="ops")))
    return made


def test_a_home_with_nothing_weakened_checks_clean(home: Home) -> None:
    code, found, stderr = _check(home)
    assert (code, found) == (0, []), stderr


@pytest.mark.parametrize("how", ["unset", "deleted", "emptied", "garbage"])
def test_no_canary_material_is_a_weakened_canary_check(home: Home, how: str) -> None:
    canary = home.canary_path(home.load_config())
    assert canary is not None
    if how == "unset":
        _set(home, 'canary = "dumps/canary.json"', 'canary = ""')
    elif how == "deleted":
        canary.unlink()
    elif how == "emptied":
        canary.write_text("")
    else:
        canary.write_text('{"signward_canary": 1}')
    code, found, stderr = _check(home)
    assert code == 1, stderr
    assert [(w["setting"], w["control"]) for w in found] == [
        ("dumps.canary" if how == "unset" else "dumps.canary (file)", "canary_check")]
    if how != "unset":
        assert {"deleted": "missing", "emptied": "empty", "garbage": "empty"}[how] in found[0]["effect"]


def test_an_empty_approvers_list_is_reported_for_a_home(home: Home) -> None:
    _set(home, 'approvers = "ops"', 'approvers = ""')
    code, found, _ = _check(home)
    assert code == 1 and [w["setting"] for w in found] == ["dumps.approvers"]
    assert Config().weakened() == []  # the settings alone: the documented defaults weaken nothing


def test_config_check_agrees_with_audit_prune_on_the_retention_floor(home: Home, backend: SigningBackend) -> None:
    cli = [sys.executable, "-m", "signward", "--home", str(home.root)]
    with open_services(home, backend=backend) as services:  # 30-day keys, 1-day lead, 1-hour tokens
        services.registry.create_realm("c", "https://c.example.com", Alg.ES256, RotationPolicy())
    _set(home, "retention_days = 730.0", "retention_days = 380.0")  # above a year, below this home's floor
    code, found, stderr = _check(home)
    assert code == 1, stderr
    assert [(w["setting"], w["control"]) for w in found] == [("audit.retention_days", "audit_retention")]
    assert "397" in found[0]["effect"] and "31.04 days" in found[0]["effect"]  # 30-day keys + lead + token life
    pruned = subprocess.run([*cli, "audit", "prune"], capture_output=True, text=True, timeout=120)
    assert pruned.returncode == 2 and "at least 397 " in pruned.stderr and "31.04 days" in pruned.stderr
    _set(home, "retention_days = 380.0", "retention_days = 30.0")  # below a year: refused, honestly worded
    code, _, stderr = _check(home)
    assert code == 2 and "at least 365" in stderr and "0 days" not in stderr


def test_every_start_audits_every_weakened_control(home: Home) -> None:
    _set(home, "insecure_self_grant = false", "insecure_self_grant = true")
    (home.canary_path(home.load_config()) or Path("/nonexistent")).unlink()
    for _ in range(2):
        with open_services(home) as services:
            app = services.issuer_app()

            async def start() -> None:
                async with app.router.lifespan_context(app):
                    pass

            asyncio.run(start())
    with open_services(home) as services:
        records = services.audit.records(action="config.weakened")
    weakened_here = [("dumps.canary (file)", "warning"), ("dumps.insecure_self_grant", "warning")]
    # the second start finds the first one's records with nothing outside the database holding them
    assert [(r.object, r.severity) for r in records] == weakened_here + weakened_here + [("audit (anchor)", "warning")]


def test_the_register_drives_the_reference_and_knows_every_insecure_setting() -> None:
    reference = reference_markdown()
    for row in REGISTER:
        assert f"`{row.setting}`" in reference
    settings = {f"{section.name}.{f.name}" for section in dataclasses.fields(Config)
                for f in dataclasses.fields(section.type if isinstance(section.type, type)
                                            else getattr(Config(), section.name))}
    insecure = {s for s in settings if "insecure" in s}
    assert insecure and insecure <= {row.setting for row in REGISTER}
    # every row a configuration can trip is reported by the full check
    facts = HomeFacts(canary_state="missing", max_verify_window=32 * 86400.0, deployed=True, audit_anchored=False)
    everything = Config.from_dict({"hsm": {"backend": "software", "allow_insecure_software_keys": True},
                                   "audit": {"retention_days": 380.0, "checkpoint_every": 1_000_000},
                                   "dumps": {"approvers": "ops,n\u043eb ody", "max_fetches_per_hour": 1000,
                                             "retention_days": 1000.0,
                                             "insecure_skip_canary_check": True, "insecure_detectors": "pem",
                                             "insecure_skip_residue_rescan": True, "insecure_no_release_gate": True,
                                             "insecure_skip_store_rescan": True}})
    assert {w.setting for w in weakened(everything, facts)} == {r.setting for r in REGISTER} - {
        "dumps.canary", "dumps.insecure_self_grant", "dumps.approvers"}  # it names approvers (bad ones)


def test_keys_list_of_an_unknown_realm_is_bad_input(home: Home) -> None:
    done = subprocess.run([sys.executable, "-m", "signward", "--home", str(home.root), "keys", "list", "--realm",
                           "consumr"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "no realm named 'consumr'" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("how", ["kinds dropped", "junk keys"])
def test_a_canary_file_missing_the_kinds_asked_for_or_holding_junk_is_weakened(home: Home, how: str) -> None:
    """Issue #34 F6: the file is loaded as the sanitizer loads it and held to dumps.canary_kinds."""
    canary = home.canary_path(home.load_config())
    assert canary is not None
    document = json.loads(canary.read_text())
    if how == "kinds dropped":
        document.pop("ec"), document.pop("ed25519")
    else:
        document.update(rsa="junk", aes="junk")
    canary.write_text(json.dumps(document))
    code, found, stderr = _check(home)
    assert code == 1 and [w["setting"] for w in found] == ["dumps.canary (file)"], stderr
    assert ("without ec, ed25519" if how == "kinds dropped" else "unreadable") in found[0]["effect"]


@pytest.mark.parametrize("old,new,setting", [
    ("max_fetches_per_hour = 5", "max_fetches_per_hour = 1000000", "dumps.max_fetches_per_hour"),
    ("checkpoint_every = 1000", "checkpoint_every = 1000000", "audit.checkpoint_every"),
    ("retention_days = 30.0", "retention_days = 10000.0", "dumps.retention_days"),  # under 100 years
    ('approvers = "ops"', 'approvers = "ops,n\u043ebody at all"', "dumps.approvers (names)"),
])
def test_bounds_and_approver_names_the_register_holds(home: Home, old: str, new: str, setting: str) -> None:
    """Issue #34 F6: settings that load but weaken, each alone (the rest of the home is clean)."""
    _set(home, old, new)
    code, found, stderr = _check(home)
    assert code == 1 and [w["setting"] for w in found] == [setting], stderr
