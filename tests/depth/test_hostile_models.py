"""Hostile models: each was an internal error, a hang or gigabytes of memory; now exit 2 with the reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from signward.depth import ModelError, parse_model

BASE = "name: m\ncontrols: {c: {}}\nnodes: {a: {entry: true}, b: {asset: true}}\nsteps: [{from: a, to: b, blocked_by: [c]}]\n"
HOSTILE = {
    "billion_laughs": "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                      "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                      "e: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n",
    "nan_policy": BASE + "policy: {min_failures: .nan}\n",
    "inf_cost": BASE.replace("c: {}", "c: {cost: .inf}"),
    "python_tag": BASE.replace("name: m", "name: !!python/object/apply:os.system [true]"),
    "deep": "[" * 5000 + "]" * 5000,
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_hostile_model_is_refused_with_a_reason(kind: str, tmp_path: Path) -> None:
    with pytest.raises(ModelError):
        parse_model(HOSTILE[kind])
    path = tmp_path / "m.yaml"
    path.write_text(HOSTILE[kind])
    done = subprocess.run([sys.executable, "-m", "signward", "depth", "analyze", str(path)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_the_base_model_itself_is_fine() -> None:
    assert parse_model(BASE).controls


@pytest.mark.parametrize("text,reason", [(b"[audit]\nretention_days = nan\n", "finite"),
                                         (b"[audit]\nretention_days = inf\n", "finite"),
                                         (b"[issuer]\nrotation_interval = 1\n# \xff\xfe\n", "UTF-8")])
def test_a_hostile_config_is_refused(tmp_path: Path, text: bytes, reason: str) -> None:
    (tmp_path / "config.toml").write_bytes(text)
    done = subprocess.run([sys.executable, "-m", "signward", "--home", str(tmp_path), "config", "check"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and reason in done.stderr and "Traceback" not in done.stderr
