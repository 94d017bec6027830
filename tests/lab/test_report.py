"""The lab's outputs from the session's runs: the --json document with the ablation's keys, the
terminal tables, and the HTML page's parts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rich.console import Console

from signward.lab import Ablation, Lab
from signward.lab.report import ablation_table, steps_table, to_document, to_html
from tests.helpers import CHROMIUM, dom_of, screenshot, visible_text


@pytest.mark.lab_runs({"hsm", "redaction"})
def test_json_document_html_and_tables_carry_the_run_and_the_ablation(lab: Lab, short_ablation: Ablation,
                                                                       tmp_path: Path) -> None:
    ablation = short_ablation
    result = lab.run(frozenset({"hsm", "redaction"}))
    document = json.loads(json.dumps(to_document(result, ablation)))
    assert set(document) >= {"breached", "controls", "steps", "alerts", "min_failures_empirical", "failing_sets",
                             "min_failures_analytic", "agree"}
    assert document["agree"] is True and document["min_failures_empirical"] == document["min_failures_analytic"]
    assert [s["outcome"] for s in document["steps"]][:2] == ["passed", "blocked"]
    console = Console(record=True, width=200)
    console.print(steps_table(result))
    console.print(ablation_table(ablation))
    text = console.export_text()
    assert "blocked by canary_check" in text and "not breached: stopped at 'sanitize' by canary_check" in text
    assert "they agree" in text and "dump.refused" in text
    page = to_html(result, ablation)
    assert "id='ablation'" in page and "<svg" in page and 'class="ok"' in page
    assert page.count("<tr class='blocked'>") == 7 and page.count("<tr class='passed'>") == 1
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (scripts/setup.sh installs it)")
    # as a reader sees it at 1280 px: every section; nothing was fetched (blocked at sanitize),
    # so the forensics have absent values, and they read as such, never as None
    (tmp_path / "lab.html").write_text(page)
    shot = screenshot(tmp_path / "lab.html", tmp_path / "lab.png", 1280, tmp_path / "profile")
    assert int.from_bytes(shot.read_bytes()[16:20], "big") == 1280
    dom = dom_of(tmp_path / "lab.html", tmp_path / "profile")
    text = visible_text(dom)
    for section in ('id="verdict"', 'id="steps"', 'id="alerts"', 'id="forensics"', 'id="ablation"', 'id="agree"',
                    'id="graph"', "<svg"):
        assert section in dom, section
    assert "None" not in text and "null" not in text
    assert result.forensics["fetch_in_log"] is None and result.forensics["engineer"] is None
    assert re.search(r"fetch in log\s+\u2014\s+engineer\s+\u2014", text)
    assert re.search(r"Crash \d{4}-\d\d-\d\d \d\d:\d\d UTC, attack \d{4}-\d\d-\d\d \d\d:\d\d UTC\.", text)
