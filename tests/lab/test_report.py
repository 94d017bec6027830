"""The lab's outputs from the session's runs: the --json document with the ablation's keys, the
terminal tables, and the HTML page's parts."""

from __future__ import annotations

import json

from rich.console import Console

from signward.lab import Ablation, Lab
from signward.lab.report import ablation_table, steps_table, to_document, to_html


def test_json_document_html_and_tables_carry_the_run_and_the_ablation(lab: Lab, short_ablation: Ablation) -> None:
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
