"""The dump path's controls probed by fire drills through the deployed pipeline: each drill
passes with its control on, fails with that control (and only it) switched off in the home's
own configuration, and leaves nothing behind."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from signward.depth import analyze, load_model
from signward.lab.ablate import MODEL
from signward.probes import ProbeContext, ProbeReason
from signward.watch.drills import drill_undecoded_encoding, hostile_artifacts
from tests.conftest import Served, signward_json
from tests.watch.conftest import verdicts, watch_once

DUMP_CONTROLS = {"redaction", "canary_check", "release_gate", "store_rescan", "grant_approval"}


@pytest.fixture
def configured(wired: Served) -> Iterator[Served]:
    """The served home; whatever a test switches off in its configuration is switched on again."""
    before = wired.home.config_path.read_bytes()
    yield wired
    wired.home.config_path.write_bytes(before)


def switch_off(served: Served, **settings: object) -> None:
    config = served.home.load_config()
    served.home.save_config(dataclasses.replace(config, dumps=dataclasses.replace(config.dumps, **settings)))


# the full redaction drill takes half a minute
FAST = {"canary_check", "release_gate", "store_rescan", "grant_approval"}


@pytest.mark.parametrize("settings,probed,broken", [
    ({}, FAST, set()),  # the full redaction drill passes in the lab's --watch step (tests/lab/test_cli.py)
    ({"insecure_detectors": "text"}, DUMP_CONTROLS, {"redaction"}),
    ({"insecure_skip_canary_check": True}, FAST, {"canary_check"}),
    ({"insecure_no_release_gate": True}, FAST, {"release_gate"}),
    ({"insecure_skip_store_rescan": True}, FAST, {"store_rescan"}),
    ({"insecure_self_grant": True}, FAST, {"grant_approval"}),
])
def test_each_drill_fails_exactly_when_its_control_is_off(configured: Served, tmp_path: Path,
                                                          settings: dict[str, object], probed: set[str],
                                                          broken: set[str]) -> None:
    switch_off(configured, **settings)
    dumps_before = {d["id"] for d in signward_json(configured.home, "dumps", "list")["dumps"]}
    _, report = watch_once(configured, tmp_path, None, "--only", ",".join(sorted(probed)))
    seen = verdicts(report)
    assert set(seen) == probed and probed.isdisjoint(report["unprobed"])
    assert {c for c, works in seen.items() if not works} == broken, report["probes"]
    assert {p["control"]: p["reason"] for p in report["probes"]} == {
        c: "failed" if c in broken else "held" for c in probed}, report["probes"]
    model = load_model(MODEL)
    expected = {a.asset: a.to_dict()["min_failures"] for a in analyze(model, sorted(broken)).assets}
    assert {asset: d["current"] for asset, d in report["depth"].items()} == expected
    drills = [d for d in signward_json(configured.home, "dumps", "list")["dumps"] if d["id"] not in dumps_before]
    assert drills and all(d["source"] == "drill" and d["state"] == "deleted" for d in drills)  # cleaned up
    assert list(configured.home.quarantine_dir.iterdir()) == []
    assert not list(configured.home.root.glob(".drill-*"))
    store = configured.home.debug_store_dir(configured.home.load_config())
    assert not list((store / "dumps").iterdir()) and not list((store / "incoming").iterdir())


def test_the_audit_probe_fails_below_the_retention_floor_and_on_a_changed_record(configured: Served,
                                                                                 tmp_path: Path) -> None:
    _, report = watch_once(configured, tmp_path, None, "--only", "audit_retention")
    assert verdicts(report) == {"audit_retention": True}, report["probes"]
    config = configured.home.load_config()
    configured.home.save_config(dataclasses.replace(config, audit=dataclasses.replace(config.audit,
                                                                                      retention_days=370.0)))
    _, report = watch_once(configured, tmp_path, None, "--only", "audit_retention")
    assert verdicts(report) == {"audit_retention": False} and report["probes"][0]["reason"] == "failed"
    assert "retention_days is 370" in report["probes"][0]["detail"]


UNDECODED = "input:undecoded_encoding"
HIDE_FROM_SANITIZER = {"insecure_detectors": "aes", "insecure_skip_residue_rescan": True}  # the lab's redaction off


def _no_drill_left(served: Served, dumps_before: set[str]) -> None:
    drills = [d for d in signward_json(served.home, "dumps", "list")["dumps"] if d["id"] not in dumps_before]
    assert drills and all(d["source"] == "drill" and d["state"] == "deleted" for d in drills)
    assert list(served.home.quarantine_dir.iterdir()) == []
    assert not list(served.home.root.glob(".drill-*"))
    store = served.home.debug_store_dir(served.home.load_config())
    assert not list((store / "dumps").iterdir()) and not list((store / "incoming").iterdir())


def test_hostile_artifacts_hide_the_key_only_inside_a_layer() -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    made = hostile_artifacts(pem)
    assert set(made) == {"raw-base64-der", "har-base64-body", "tar-dot-members"}
    for name, (data, planted) in made.items():
        assert planted in data and len(data) < 64 << 10, name
    har = json.loads(made["har-base64-body"][0])
    (entry,) = har["log"]["entries"]
    assert pem in base64.b64decode(entry["response"]["content"]["text"]) and pem not in made["har-base64-body"][0]
    with tarfile.open(fileobj=io.BytesIO(made["tar-dot-members"][0])) as tar:
        assert tar.getnames() == ["./drill/core"]


@pytest.mark.parametrize("settings,works,stopped_by", [
    ({}, True, ["sanitizer removed it", "store refused (store_rescan)"]),
    ({"insecure_skip_store_rescan": True}, True, ["sanitizer removed it"]),
    (HIDE_FROM_SANITIZER, True, ["store refused (store_rescan)"]),
    ({**HIDE_FROM_SANITIZER, "insecure_skip_store_rescan": True}, False, []),
])
def test_the_common_mode_drill_needs_one_of_the_two_scans_to_stop_the_artifact(
        configured: Served, settings: dict[str, object], works: bool, stopped_by: list[str]) -> None:
    """On an artifact class both scans read today (a base64 DER among binary bytes): the drill
    passes while either scan stops it, and fails, naming the class, only when both pass it."""
    switch_off(configured, **settings)
    dumps_before = {d["id"] for d in signward_json(configured.home, "dumps", "list")["dumps"]}
    outcome = drill_undecoded_encoding(ProbeContext(configured.home), classes=["raw-base64-der"])
    assert outcome.held is works and outcome.reason is (ProbeReason.HELD if works else ProbeReason.FAILED), outcome
    if works:
        assert outcome.detail == ("every hostile artifact stopped by at least one scan (raw-base64-der: "
                                  f"{', '.join(stopped_by)})")
    else:
        assert outcome.detail == ("raw-base64-der passed both the sanitizer and the store's re-scan with a canary key: "
                                  "one input defeats both scans")
    _no_drill_left(configured, dumps_before)


def test_a_round_counts_the_input_class_as_one_failure_when_both_scans_pass_it(configured: Served,
                                                                            tmp_path: Path) -> None:
    switch_off(configured, **HIDE_FROM_SANITIZER, insecure_skip_store_rescan=True)
    dumps_before = {d["id"] for d in signward_json(configured.home, "dumps", "list")["dumps"]}
    _, report = watch_once(configured, tmp_path, None, "--only", UNDECODED)
    assert verdicts(report) == {UNDECODED: False}
    (probe,) = report["probes"]
    assert "passed both the sanitizer and the store's re-scan" in probe["detail"]
    assert "raw-base64-der" in probe["detail"]
    model = load_model(MODEL)
    designed = {a.asset: a.to_dict()["independent_failures"] for a in analyze(model).assets}
    current = {a.asset: a.to_dict()["independent_failures"] for a in analyze(model, [UNDECODED]).assets}
    assert {asset: d["current"] for asset, d in report["depth"].items()} == current
    assert {asset: d["designed"] for asset, d in report["depth"].items()} == designed
    assert all(current[a] == designed[a] - 1 for a in designed)  # one failure: the depth drops by one
    _no_drill_left(configured, dumps_before)
