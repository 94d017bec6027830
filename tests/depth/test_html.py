"""The HTML report, opened in headless Chromium: the page renders its tables and the SVG graph."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

MODELS = Path(__file__).resolve().parents[2] / "models"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def dom_of(page: Path, profile: Path) -> str:
    """The page's DOM after headless Chromium rendered it."""
    dom = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],  # type: ignore[list-item]
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    return dom.stdout


@pytest.mark.skipif(CHROMIUM is None or shutil.which("dot") is None,
                    reason="chromium and graphviz come from scripts/setup.sh")
def test_html_report_in_headless_chromium(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    done = subprocess.run([sys.executable, "-m", "signward", "depth", "analyze",
                           str(MODELS / "storm-0558-signward.yaml"), "--html", str(page)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    profile = tmp_path / "profile"
    html = dom_of(page, profile)
    assert "<svg" in html and "enterprise_mail" in html and 'id="policy"' in html
    assert "#ffb3b3" in html  # the minimum failing set is highlighted in the graph
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={shot}",  # type: ignore[list-item]
                    "--window-size=1400,1000", page.as_uri()], capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
