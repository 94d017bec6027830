"""Probes against the live system: designed and current depth side by side."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from signward.depth import ProbeOutcome, run_probe
from signward.home import Config, Home, HsmConfig
from signward.probes import ProbeContext, ProbeReason
from tests.conftest import setup_realms

MODEL = str(Path(__file__).resolve().parents[2] / "models" / "storm-0558-signward.yaml")


def analyze_with_probes(home: Home) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-m", "signward", "--home", str(home.root), "depth", "analyze", MODEL,
                           "--probe", "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_probes_on_the_hsm_deployment(tmp_path: Path) -> None:
    from signward.hsm import server as hsm_server
    from tests.conftest import make_hsm_home

    home = make_hsm_home(tmp_path / "live")
    try:
        setup_realms(home, "http://127.0.0.1:1")
        data = analyze_with_probes(home)
    finally:
        hsm_server.stop(home)
    probes = {p["control"]: p["works"] for p in data["probes"]}  # type: ignore[index, union-attr]
    assert probes == {"hsm": True, "key_expiry": True, "rotation": True, "issuer_binding": True}, data["probes"]
    assert data["assets"][0]["min_failures"] == 8  # type: ignore[index]
    assert data["designed"]["assets"][0]["min_failures"] == 8  # type: ignore[index]


def test_software_signer_fails_the_hsm_probe(tmp_path: Path) -> None:
    home = Home(tmp_path / "soft")
    home.init(Config(hsm=HsmConfig(backend="software", allow_insecure_software_keys=True)))
    setup_realms(home, "http://127.0.0.1:1")
    data = analyze_with_probes(home)
    probes = {p["control"]: p for p in data["probes"]}  # type: ignore[union-attr]
    assert probes["hsm"]["works"] is False and probes["hsm"]["reason"] == "failed"
    assert "process memory" in probes["hsm"]["detail"]
    assert data["assets"][0]["min_failures"] == 7  # type: ignore[index]  # current, with hsm failed
    assert data["designed"]["assets"][0]["min_failures"] == 8  # type: ignore[index]


def test_probe_timeout_and_shell_probes(tmp_path: Path) -> None:
    ctx = ProbeContext(Home(tmp_path))
    cases = {"cmd: true": ProbeReason.HELD, "cmd: false": ProbeReason.COMMAND_FAILED,
             "cmd: sleep 5": ProbeReason.TIMED_OUT,
             "time:sleep": ProbeReason.RAISED,  # bad arguments
             "no.such.module:f": ProbeReason.UNLOADABLE, "signward.probes:NO_SUCH": ProbeReason.UNLOADABLE,
             "signward.probes.base:MAX_DETAIL": ProbeReason.UNLOADABLE,  # not callable
             "tests.depth.test_probes:old_style": ProbeReason.BAD_RESULT,  # a truthy (bool, str) is no outcome
             "tests.depth.test_probes:hangs": ProbeReason.TIMED_OUT,
             "tests.depth.test_probes:says_no": ProbeReason.FAILED,
             "tests.depth.test_probes:holds": ProbeReason.HELD}
    for probe, reason in cases.items():
        outcome = run_probe("c", probe, ctx, timeout=0.5)
        assert (outcome.reason, outcome.held, outcome.probe, outcome.control) == (
            reason, reason is ProbeReason.HELD, probe, "c"), outcome
        assert outcome.duration < 5 and outcome.to_dict()["works"] is outcome.held
    assert run_probe("c", "tests.depth.test_probes:holds", ctx).detail == "shown"


def holds(ctx: ProbeContext) -> ProbeOutcome:
    return ProbeOutcome.passed("shown")


def old_style(ctx: ProbeContext) -> tuple[bool, str]:
    return True, "the tuple form is gone"


def says_no(ctx: ProbeContext) -> bool:
    return False


def hangs(ctx: ProbeContext) -> ProbeOutcome:
    time.sleep(3)
    return ProbeOutcome.passed("late")


def test_an_outcome_is_held_exactly_when_its_reason_says_so() -> None:
    with pytest.raises(ValueError):
        ProbeOutcome(True, ProbeReason.FAILED)
    with pytest.raises(ValueError):
        ProbeOutcome(False, ProbeReason.HELD)
    done = ProbeOutcome.failed(ProbeReason.NOT_SHOWN, "x" * 1000).completed("m:f", "hsm", 1.23456)
    assert done.to_dict() == {"control": "hsm", "probe": "m:f", "works": False, "reason": "not_shown",
                              "detail": "x" * 300, "seconds": 1.235}


def test_text_output_names_each_failed_probe_and_why(tmp_path: Path) -> None:
    """Regression: without --json, a probe that could not run lowered the depth silently, and
    the validator self-probes printed CRITICAL alert lines that looked like a real attack."""
    done = subprocess.run([sys.executable, "-m", "signward", "--home", str(tmp_path / "nowhere"), "depth", "analyze",
                           MODEL, "--probe"], capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "COLUMNS": "200"})
    assert done.returncode in (0, 1), done.stderr
    text = " ".join(done.stdout.split())
    assert "FAILED" in text and "no signward home" in text and "probe(s)," in text and "failed" in text
    assert "CRITICAL" not in done.stderr and "signward.alert" not in done.stderr
