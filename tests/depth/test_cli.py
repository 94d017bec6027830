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
    (asset,) = data["assets"]
    assert asset["change"] == "shallower" and asset["old"] == 8 and asset["new"] == 1
    same = run("depth", "diff", str(MODELS / "storm-0558-2021.yaml"), str(MODELS / "storm-0558-2021.yaml"))
    assert same.returncode == 0


def test_dot(tmp_path: Path) -> None:
    out = tmp_path / "g.dot"
    assert run("depth", "analyze", str(MODELS / "storm-0558-signward.yaml"), "--dot", str(out)).returncode == 0
    text = out.read_text()
    assert text.startswith('digraph "storm-0558-signward"') and '"n:enterprise_mail"' in text and "#ffb347" in text


def test_diff_json_is_the_typed_results_dict_byte_for_byte(tmp_path: Path) -> None:
    """`depth diff --json` prints `DepthDiff.to_dict` (what the dict `depth_diff` returned before
    printed, byte for byte): an added, a removed and a shallower asset, and the shipped models'
    diff with independent failures."""
    from signward.depth import AssetChange, DepthDiff, analyze, depth_diff, parse_model

    steps = "  - {from: x, to: y, blocked_by: [a, b]}\n"
    old = "name: old\ncontrols:\n  a: {}\n  b: {}\nnodes:\n  x: {entry: true}\n  y: {asset: true}\n" \
          "  z: {asset: true}\nsteps:\n" + steps + "  - {from: x, to: z, blocked_by: [a]}\n"
    new = "name: new\ncontrols:\n  a: {}\n  b: {}\nnodes:\n  x: {entry: true}\n  y: {asset: true}\n" \
          "  w: {asset: true}\nsteps:\n" + steps + "  - {from: x, to: y, blocked_by: [b]}\n" \
          "  - {from: x, to: w, blocked_by: [b]}\n"
    (tmp_path / "old.yaml").write_text(old)
    (tmp_path / "new.yaml").write_text(new)
    result = depth_diff(analyze(parse_model(old)), analyze(parse_model(new)))
    assert result == DepthDiff("old", "new", (AssetChange("w", None, 1, "added"),
                                              AssetChange("y", 2, 1, "shallower", None, (("b",),)),
                                              AssetChange("z", 1, None, "removed")),
                               (("b", "w"), ("b", "y")), (("a", "z"),), True)
    done = run("depth", "diff", str(tmp_path / "old.yaml"), str(tmp_path / "new.yaml"), "--json")
    assert done.returncode == 1 and done.stdout == json.dumps(result.to_dict(), indent=2, sort_keys=True) + "\n"
    assert done.stdout == json.dumps({
        "assets": [{"asset": "w", "change": "added", "new": 1, "old": None},
                   {"asset": "y", "change": "shallower", "new": 1, "new_sets": [["b"]], "old": 2},
                   {"asset": "z", "change": "removed", "new": None, "old": 1}],
        "new": "new", "old": "old", "policy_ok": True, "shallower": True,
        "spofs_added": [{"asset": "w", "control": "b"}, {"asset": "y", "control": "b"}],
        "spofs_removed": [{"asset": "z", "control": "a"}]}, indent=2, sort_keys=True) + "\n"
    shipped = run("depth", "diff", str(MODELS / "storm-0558-signward.yaml"), str(MODELS / "storm-0558-2021.yaml"),
                  "--json")
    assert shipped.stdout == json.dumps({
        "assets": [{"asset": "enterprise_mail", "change": "shallower", "new": 1, "new_independent": 1,
                    "new_sets": [["redaction"]], "old": 8, "old_independent": 8}],
        "new": "storm-0558-2021", "old": "storm-0558-signward", "policy_ok": True, "shallower": True,
        "spofs_added": [{"asset": "enterprise_mail", "control": "redaction"}], "spofs_removed": []},
        indent=2, sort_keys=True) + "\n"
