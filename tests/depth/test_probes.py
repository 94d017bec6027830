"""Probes against the live system: designed and current depth side by side."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from signward.depth import run_probe
from signward.home import Config, Home, HsmConfig
from signward.probes import ProbeContext
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
    assert probes["hsm"]["works"] is False and "process memory" in probes["hsm"]["detail"]
    assert data["assets"][0]["min_failures"] == 7  # type: ignore[index]  # current, with hsm failed
    assert data["designed"]["assets"][0]["min_failures"] == 8  # type: ignore[index]


def test_probe_timeout_and_shell_probes(tmp_path: Path) -> None:
    ctx = ProbeContext(Home(tmp_path))
    assert run_probe("c", "cmd: true", ctx).works
    assert not run_probe("c", "cmd: false", ctx).works
    assert not run_probe("c", "cmd: sleep 5", ctx, timeout=0.5).works
    assert not run_probe("c", "time:sleep", ctx, timeout=0.5).works  # raises (bad arguments): failed
    assert not run_probe("c", "no.such.module:f", ctx).works


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
