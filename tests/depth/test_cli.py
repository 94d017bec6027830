"""`signward depth analyze` and `depth diff` on the shipped models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

MODELS = Path(__file__).resolve().parents[2] / "models"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "signward", *args], capture_output=True, text=True, timeout=300)


def test_2021_needed_one_failure() -> None:
    done = run("depth", "analyze", str(MODELS / "storm-0558-2021.yaml"), "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    (asset,) = data["assets"]
    assert asset["asset"] == "enterprise_mail" and asset["min_failures"] == 1
    assert asset["failing_sets"] == [["redaction"]]
    assert data["spofs"] == [{"control": "redaction", "asset": "enterprise_mail"}]
    assert set(data) >= {"model", "assets", "spofs", "policy_ok"}


def test_signward_needs_eight_and_meets_policy() -> None:
    data = json.loads(run("depth", "analyze", str(MODELS / "storm-0558-signward.yaml"), "--json",
                          "--max-sets", "10").stdout)
    (asset,) = data["assets"]
    assert asset["min_failures"] == 8 and data["policy_ok"] and data["spofs"] == []
    new = ["grant_approval", "issuance_check"]
    assert sorted(map(sorted, asset["failing_sets"])) == sorted(sorted(s + new) for s in [
        ["canary_check", "hsm", "issuer_binding", "key_expiry", "redaction", "store_rescan"],
        ["canary_check", "hsm", "issuer_binding", "redaction", "rotation", "store_rescan"],
        ["hsm", "issuer_binding", "key_expiry", "redaction", "release_gate", "store_rescan"],
        ["hsm", "issuer_binding", "redaction", "release_gate", "rotation", "store_rescan"]])
    assert sorted(asset["in_every_minimum_set"]) == ["grant_approval", "hsm", "issuance_check", "issuer_binding",
                                                     "redaction", "store_rescan"]
    assert asset["path"][-1] == "key_in_window -> enterprise_mail"


def test_failed_controls_give_residual_depth_and_policy_exit_1() -> None:
    done = run("depth", "analyze", str(MODELS / "storm-0558-signward.yaml"), "--failed",
               "hsm,release_gate,store_rescan,grant_approval,issuance_check", "--json")
    assert done.returncode == 0  # 3 left (redaction, key_expiry or rotation, issuer_binding): policy asks 3
    data = json.loads(done.stdout)
    assert data["assets"][0]["min_failures"] == 3 and data["policy_ok"]
    done = run("depth", "analyze", str(MODELS / "storm-0558-signward.yaml"), "--failed",
               "hsm,release_gate,store_rescan,redaction,grant_approval,issuance_check", "--json")
    assert done.returncode == 1  # 2 left
    assert json.loads(done.stdout)["assets"][0]["min_failures"] == 2
    assert run("depth", "analyze", str(MODELS / "storm-0558-signward.yaml"), "--failed", "nope").returncode == 2


def test_diff(tmp_path: Path) -> None:
    done = run("depth", "diff", str(MODELS / "storm-0558-signward.yaml"), str(MODELS / "storm-0558-2021.yaml"),
               "--json")
    assert done.returncode == 1
    data = json.loads(done.stdout)
    assert data["assets"][0]["change"] == "shallower" and data["assets"][0]["old"] == 8 and data["assets"][0]["new"] == 1
    same = run("depth", "diff", str(MODELS / "storm-0558-2021.yaml"), str(MODELS / "storm-0558-2021.yaml"))
    assert same.returncode == 0


def test_dot(tmp_path: Path) -> None:
    out = tmp_path / "g.dot"
    assert run("depth", "analyze", str(MODELS / "storm-0558-signward.yaml"), "--dot", str(out)).returncode == 0
    text = out.read_text()
    assert text.startswith('digraph "storm-0558-signward"') and '"n:enterprise_mail"' in text and "#ffb347" in text
