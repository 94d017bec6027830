"""The lab's output: a rich step table for the terminal, and one self-contained HTML page
(steps, verdict, alerts, forensics, ablation, and the attack graph with the switched-off
controls and the remaining cut highlighted). An absent value shows as what it means
("unreachable", "no breach found", a dash), never as `None`; times to the minute, UTC."""

from __future__ import annotations

import html
import json
from datetime import datetime
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from ..depth import analyze, load_model
from ..depth.render import STYLE, chips, graph_html, legend_html, to_dot, to_svg
from .ablate import Ablation, deployed_model
from .scenario import LabResult, LabStep

DASH = "\u2014"  # an absent value on a page


def shown(value: object, absent: str = DASH) -> str:
    """A value for people: `absent` for None (never "None"), yes/no for a boolean."""
    if value is None:
        return absent
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def when(stamp: str | None) -> str:
    """An ISO 8601 time as people read it: to the minute, UTC (a dash when absent)."""
    if not stamp:
        return DASH
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return stamp


def alert_text(alert: dict[str, Any]) -> str:
    """One line for an alert: the reason, then what it was about."""
    given = alert.get("details")
    details: dict[str, Any] = given if isinstance(given, dict) else {}
    if alert.get("source") == "mail API":
        kid = str(details.get("kid") or "")
        return (f"{shown(details.get('reason'), 'refused')}: kid {kid[:16] or DASH}{'...' if len(kid) > 16 else ''}"
                f" as {shown(details.get('issuer'))}")
    return f"{shown(details.get('reason'), '')}: {shown(details.get('detail'), '')[:160]}".strip(": ")


def blocked(step: LabStep) -> str:
    """What stopped a step that did not pass."""
    by = shown(step.blocked_by, "an earlier step")
    return f"blocked by {by}" if step.reached else f"not reached ({by})"


def steps_table(result: LabResult) -> Group:
    table = Table(title="Storm-0558 against signward" + (f" (off: {', '.join(result.disabled)})"
                                                         if result.disabled else " (every control on)"))
    for column in ("step", "what", "outcome", "detail"):
        table.add_column(column, overflow="fold")
    for step in result.steps:
        outcome = Text("passed", style="red") if step.outcome == "passed" else Text(blocked(step), style="green")
        table.add_row(step.step, step.to_dict()["what"], outcome, step.detail)
    verdict = Text("BREACHED: the mail API returned the tenant's messages to a forged token", style="bold red") \
        if result.breached else Text(f"not breached: stopped at '{result.stopped_by.step}' by "
                                     f"{result.stopped_by.blocked_by}" if result.stopped_by else "not breached",
                                     style="bold green")
    alerts = Table(title="alerts and warnings raised")
    for column in ("source", "severity", "action", "detail"):
        alerts.add_column(column, overflow="fold")
    for alert in result.alerts:
        alerts.add_row(alert["source"], alert["severity"], alert["action"], alert_text(alert))
    if not result.alerts:
        alerts.add_row("-", "-", "none", "")
    forensics = result.forensics
    evidence = Text(
        f"forensics at attack time ({forensics['audit_retention_days']}-day audit retention): " +
        ("no fetch to trace" if forensics["fetch_in_log"] is None else
         f"the fetch by {forensics['engineer']} is in the audit log" if forensics["fetch_in_log"] else
         f"the fetch by {forensics['engineer']} has aged out of the audit log ({forensics['records_pruned']} "
         "records pruned)"))
    return Group(table, verdict, alerts, evidence)


def ablation_table(ablation: Ablation) -> Group:
    table = Table(title=f"ablation: {ablation.configurations} sets, {ablation.runs} runs")
    table.add_column("")
    table.add_column("min failures")
    table.add_column("failing sets of that size", overflow="fold")
    table.add_row("empirical (the lab)", shown(ablation.min_failures_empirical, "no breach found"),
                  "\n".join(", ".join(s) for s in ablation.failing_sets))
    table.add_row("analytic (the model)", shown(ablation.to_dict()["min_failures_analytic"], "unreachable"),
                  "\n".join(", ".join(s) for s in ablation.analytic_sets))
    data = ablation.to_dict()
    table.add_row("independent, empirical (controls and input classes)",
                  shown(ablation.independent_empirical, "no breach found"),
                  "\n".join(", ".join(s) for s in ablation.independent_sets))
    table.add_row(f"independent, analytic ({ablation.model})",
                  shown(data["independent_failures_analytic"], "unreachable"),
                  "\n".join(", ".join(s) for s in ablation.analytic_independent_sets))
    for name, controls in ablation.inputs.items():
        table.add_row(name, "", "switches off " + ", ".join(controls))
    agree = Text("they agree" if ablation.agree else "THEY DISAGREE", style="green" if ablation.agree else "bold red")
    return Group(table, agree)


def forensics_html(forensics: dict[str, Any]) -> str:
    """The forensic question as a sentence and a table."""
    days = forensics["audit_retention_days"]
    engineer = forensics.get("engineer")
    if forensics["fetch_in_log"] is None:
        sentence = "Nothing was fetched from the debugging store, so there is no fetch to trace."
    elif forensics["fetch_in_log"]:
        sentence = (f"At investigation time the fetch by {engineer} is still in the audit log "
                    f"({days}-day retention): the investigators can say who took the dump and when.")
    else:
        sentence = (f"At investigation time the fetch by {engineer} has aged out of the audit log ({days}-day "
                    f"retention, {forensics['records_pruned']} records pruned): nobody can say who took the dump.")
    rows = "".join(f"<tr><th>{html.escape(k.replace('_', ' '))}</th><td>{html.escape(shown(v))}</td></tr>"
                   for k, v in forensics.items())
    return f"<p>{html.escape(sentence)}</p><table id='forensics-table'>{rows}</table>"


def to_html(result: LabResult, ablation: Ablation | None = None) -> str:
    model = load_model(deployed_model())
    report = analyze(model, [c for c in result.disabled if c in model.controls])
    svg = to_svg(to_dot(model, report))
    rows = "".join(
        f"<tr class='{s.outcome}'><td>{html.escape(s.step)}</td>"
        f"<td class='what'>{html.escape(s.to_dict()['what'])}</td>"
        f"<td>{'passed' if s.outcome == 'passed' else html.escape(blocked(s))}</td>"
        f"<td>{html.escape(s.detail or DASH)}</td></tr>" for s in result.steps)
    alerts = "".join(f"<tr><td>{html.escape(shown(a.get('severity')))}</td>"
                     f"<td>{html.escape(shown(a.get('source')))}</td><td>{html.escape(shown(a.get('action')))}</td>"
                     f"<td>{html.escape(alert_text(a) or DASH)}</td></tr>"
                     for a in result.alerts)
    verdict = ("BREACHED: the mail API returned the tenant's messages to a forged token" if result.breached else
               f"not breached: stopped at {result.stopped_by.step} by {result.stopped_by.blocked_by}"
               if result.stopped_by else "not breached")
    ablated = ""
    if ablation is not None:
        data = ablation.to_dict()
        empirical = "".join(f"<div>{chips(s, 'cut')}</div>" for s in ablation.failing_sets)
        analytic = "".join(f"<div>{chips(s, 'cut')}</div>" for s in ablation.analytic_sets)
        independent = "".join(f"<div>{chips(s, 'cut')}</div>" for s in ablation.independent_sets)
        analytic_independent = "".join(f"<div>{chips(s, 'cut')}</div>" for s in ablation.analytic_independent_sets)
        inputs = "; ".join(f"{chips([name], 'off')} switches off {chips(controls, 'cut')}"
                           for name, controls in ablation.inputs.items())
        ablated = (f"<h2>Ablation ({ablation.configurations} sets, {ablation.runs} runs)</h2>"
                   f"<div class='scroll'><table id='ablation'><tr><th></th>"
                   f"<th>min failures</th><th>failing sets of that size</th></tr><tr><td>empirical (the lab)</td>"
                   f"<td>{shown(data['min_failures_empirical'], 'no breach found')}</td><td>{empirical}</td></tr>"
                   f"<tr><td>analytic (the model)</td>"
                   f"<td>{shown(data['min_failures_analytic'], 'unreachable')}</td><td>{analytic}</td></tr>"
                   f"<tr><td>independent failures, empirical (controls and input classes)</td>"
                   f"<td>{shown(data['independent_failures_empirical'], 'no breach found')}</td>"
                   f"<td>{independent}</td></tr>"
                   f"<tr><td>independent failures, analytic ({html.escape(ablation.model)})</td>"
                   f"<td>{shown(data['independent_failures_analytic'], 'unreachable')}</td>"
                   f"<td>{analytic_independent}</td></tr>"
                   f"</table></div><p id='input-classes'>Input classes (one failure each): {inputs}</p>"
                   f"<p id='agree' class='{'ok' if ablation.agree else 'bad'}'>"
                   f"{'they agree' if ablation.agree else 'THEY DISAGREE'}</p>")
    remaining = report.assets[0].to_dict()["min_failures"] if report.assets else None
    crash, attack = when(result.timeline.get("crash")), when(result.timeline.get("attack"))
    payload = json.dumps(result.to_dict()).replace("<", "\\u003c")  # inert inside <script>
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>signward lab: Storm-0558</title><style>{STYLE}
tr.passed td{{background:#ffe0e0}} tr.blocked td{{background:#e4f6e4}}
@media (max-width:700px){{.what{{display:none}}}}</style>
</head><body>
<h1>Storm-0558 against signward</h1>
<p>Controls switched off: {chips(list(result.disabled), 'off')}</p>
<p id="timeline">Crash {html.escape(crash)}, attack {html.escape(attack)}.</p>
<p id="verdict" class="{'bad' if result.breached else 'ok'}">{html.escape(verdict)}</p>
<div class='scroll'><table id="steps"><tr><th>step</th><th class='what'>what</th><th>outcome</th>\
<th>detail</th></tr>{rows}</table></div>
<h2>Alerts and warnings</h2><div class='scroll'><table id="alerts"><tr><th>severity</th><th>source</th><th>action</th>
<th>detail</th></tr>{alerts or '<tr><td colspan=4>none</td></tr>'}</table></div>
<h2>Forensics</h2><div id="forensics">{forensics_html(result.forensics)}</div>
{ablated}
<h2>Attack graph</h2><p>With the controls switched off in this run, {'no further failure is needed' if remaining == 0
else 'the asset is out of reach' if remaining is None else f'{remaining} more control failure(s) would be needed'}.</p>
{legend_html()}{graph_html(svg)}
<script type="application/json" id="result">{payload}</script>
</body></html>
"""


def to_document(result: LabResult | None, ablation: Ablation | None) -> dict[str, Any]:
    """The `--json` document: the run's, with the ablation's keys added."""
    data: dict[str, Any] = result.to_dict() if result is not None else {}
    if ablation is not None:
        data.update(ablation.to_dict())
    return data


__all__ = ["DASH", "ablation_table", "alert_text", "blocked", "forensics_html", "shown", "steps_table", "to_document",
           "to_html", "when"]
