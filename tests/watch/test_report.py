"""`signward watch report --html` after one real round (a home, a small model whose probes are
commands, `watch --once`), looked at in headless Chromium at 1280 px: every section, a visible
point per asset already, human times on the x axis, no `None`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import CHROMIUM, dom_of, screenshot, visible_text

ONE_ROUND_MODEL = """
name: watch-one-round
policy: {min_failures: 2}
controls:
  steady: {description: passes, probe: "cmd: true"}
  broken: {description: fails, probe: "cmd: false"}
  spare: {description: passes too, probe: "cmd: true"}
nodes:
  attacker: {entry: true}
  secret: {asset: true}
  vault: {asset: true}
  island: {asset: true}
steps:
  - {from: attacker, to: secret, blocked_by: [steady, broken, spare]}
  - {from: attacker, to: vault, blocked_by: [broken]}
"""


def signward(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "signward", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium comes from scripts/setup.sh")
def test_the_history_after_one_round_in_chromium_at_1280(tmp_path: Path) -> None:
    home, model, page = str(tmp_path / "home"), tmp_path / "model.yaml", tmp_path / "watch.html"
    model.write_text(ONE_ROUND_MODEL)
    assert signward("--home", home, "init").returncode == 0
    watched = signward("--home", home, "watch", "--once", "--model", str(model), "--json")
    assert watched.returncode == 1, watched.stderr  # vault: current depth 0 below policy 2
    drawn = signward("--home", home, "watch", "report", "--html", str(page))
    assert drawn.returncode == 0, drawn.stderr
    shot = screenshot(page, tmp_path / "watch.png", 1280, tmp_path / "profile")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(shot.read_bytes()[16:20], "big") == 1280
    dom = dom_of(page, tmp_path / "profile")
    text = visible_text(dom)
    for section in ("Depth over time", "Controls", "Last failures", "1 round(s) recorded"):
        assert section in text, section
    assert "None" not in text
    # the summary: numbers, and an asset without an attack path says so
    assert "secret: current 2, designed 3" in text and "vault: current 0, designed 1" in text
    assert "island: current unreachable, designed unreachable" in text
    # one round is a point per asset and kind, drawn (a polyline of one point draws nothing)
    for asset in ("secret", "vault"):
        for kind in ("current", "designed"):
            points = re.findall(rf'<circle class="point {kind}" data-asset="{asset}" cx="([\d.]+)" cy="([\d.]+)" '
                                rf'r="(\d)"', dom)
            assert len(points) == 1 and int(points[0][2]) >= 4, (asset, kind, points)
    # the y of a point is its value: secret's current (2) above vault's (0)
    cy = {a: float(re.findall(rf'class="point current" data-asset="{a}" cx="[\d.]+" cy="([\d.]+)"', dom)[0])
          for a in ("secret", "vault")}
    assert cy["secret"] < cy["vault"]
    assert 'data-asset="island"' not in dom and "island (unreachable: no attack path)" in text
    # the x axis: human UTC times, never epoch seconds or microseconds
    ticks = re.findall(r'<text class="tick"[^>]*>([^<]*)</text>', dom)
    assert ticks and all(re.fullmatch(r"\d\d:\d\d", tick) for tick in ticks), ticks
    (axis,) = re.findall(r'<text class="axis"[^>]*>([^<]*)</text>', dom)
    assert re.fullmatch(r"time \(UTC\): \d{4}-\d\d-\d\d \d\d:\d\d UTC", axis), axis
    assert not re.search(r"\d{9,}|\.\d{6}", text)  # no epoch seconds, no microseconds anywhere
    failures = text[text.index("Last failures"):]
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC broken", " ".join(failures.split()))
