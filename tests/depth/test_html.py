"""The HTML report, opened in headless Chromium: the page renders its tables and the SVG graph."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import CHROMIUM, dom_of, screenshot, visible_text

MODELS = Path(__file__).resolve().parents[2] / "models"
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
    assert "#ffb347" in html  # the minimum failing set is highlighted in the graph
    assert html.count("<ol class=\"path\">") == 1 and "class=\"sets\"" in html  # one set a row, the path a list
    assert "8 control failure(s) needed" in html and "8.0 control" not in html
    assert "None" not in visible_text(html)


@pytest.mark.skipif(CHROMIUM is None or shutil.which("dot") is None,
                    reason="chromium and graphviz come from scripts/setup.sh")
def test_the_page_is_drawn_at_desktop_and_phone_width(tmp_path: Path) -> None:
    """Screenshots at 1400 px and at a phone's 390 px (kept under tmp for a person to look at):
    the graph scrolls inside its own frame instead of shrinking to illegible labels."""
    page = tmp_path / "report.html"
    subprocess.run([sys.executable, "-m", "signward", "depth", "analyze", str(MODELS / "storm-0558-signward.yaml"),
                    "--failed", "hsm,redaction", "--html", str(page)], check=True, capture_output=True, timeout=120)
    text = page.read_text()
    assert ".graph svg{max-width:none" in text and 'name="viewport"' in text
    assert "chip off" in text and "chip cut" in text and "class='legend'" in text
    for width in (1400, 390):
        shot = screenshot(page, tmp_path / f"depth-{width}.png", width, tmp_path / "profile")
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert int.from_bytes(shot.read_bytes()[16:20], "big") == width  # the PNG's own width field


def test_the_probe_table_escapes_what_a_probe_answered_and_shows_no_none() -> None:
    from signward.depth.probes import ProbeResult
    from signward.depth.render import probes_html

    results = [ProbeResult("key_expiry", "cmd: x", False, "<script>alert(1)</script>", 0.1).to_dict(),
               ProbeResult("rotation", "cmd: true", True, "", 0.1).to_dict()]
    table = probes_html(results)
    assert "<script>" not in table and "&lt;script&gt;alert(1)&lt;/script&gt;" in table
    assert "<td>rotation</td><td>works</td><td>-</td>" in table and "None" not in table
    assert "no control has a probe" in probes_html([])
