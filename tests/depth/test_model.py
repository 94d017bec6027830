"""Malformed models: exit 2 with the line and the reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from signward.config_schema import Rule
from signward.depth import ModelError, parse_model

GOOD = """name: m
controls:
  a: {}
nodes:
  x: {entry: true}
  k: {asset: true}
steps:
  - {from: x, to: k, blocked_by: [a]}
"""


@pytest.mark.parametrize("text,line,rule,words", [
    (GOOD.replace("to: k", "to: nowhere"), 8, Rule.INVALID, "unknown node 'nowhere'"),
    (GOOD.replace("blocked_by: [a]", "blocked_by: [b]"), 8, Rule.INVALID, "unknown control 'b'"),
    (GOOD.replace("{entry: true}", "{}"), 4, Rule.INVALID, "no entry node"),
    (GOOD.replace("  a: {}", "  a: {cost: -1}"), 3, Rule.OUT_OF_BOUNDS,
     "controls.a.cost: must be at least 1e-06, not -1"),
    (GOOD.replace("  a: {}", "  a: {depends_on: [zz]}"), 3, Rule.INVALID, "unknown control 'zz'"),
    (GOOD.replace("steps:", "steps: [\n"), 9, Rule.SYNTAX, "bad YAML"),
    (GOOD + "extra: 1\n", 9, Rule.UNKNOWN_KEY, "extra: unknown key"),
    (GOOD.replace("  a: {}\n", "  a: {}\n  a: {}\n"), 4, Rule.INVALID, "appears twice"),
    (GOOD.replace("{entry: true}", "{entry: yes please}"), 5, Rule.WRONG_TYPE,
     "nodes.x.entry: must be true or false, not text"),
])
def test_malformed(text: str, line: int, rule: Rule, words: str) -> None:
    with pytest.raises(ModelError) as err:
        parse_model(text, "m.yaml")
    assert f"line {line}: " in str(err.value) and words in str(err.value) and err.value.rule is rule


def test_cli_exit_2_with_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("to: k", "to: nowhere"))
    done = subprocess.run([sys.executable, "-m", "signward", "depth", "analyze", str(bad)], capture_output=True,
                          text=True)
    assert done.returncode == 2 and "line 8" in done.stderr and "Traceback" not in done.stderr
    missing = subprocess.run([sys.executable, "-m", "signward", "depth", "analyze", str(tmp_path / "none.yaml")],
                             capture_output=True, text=True)
    assert missing.returncode == 2 and ("cannot read" in missing.stderr or "no such file" in missing.stderr)
