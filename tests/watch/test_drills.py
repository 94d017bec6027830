"""The dump path's controls probed by fire drills through the deployed pipeline: each drill
passes with its control on, fails with that control (and only it) switched off in the home's
own configuration, and leaves nothing behind."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from signward.depth import analyze, load_model
from signward.lab.ablate import MODEL
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


FAST = {"canary_check", "release_gate", "store_rescan", "grant_approval"}  # the full redaction drill takes half a minute


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
    assert verdicts(report) == {"audit_retention": False} and "retention_days is 370" in report["probes"][0]["detail"]
