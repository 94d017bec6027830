"""`signward depth ...`: how many controls must fail before an asset falls."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from ..depth import Report, analyze, depth_diff, load_model, run_probe, to_dot, to_html
from ..depth.probes import ProbeResult
from ..probes import ProbeContext
from .common import emit, home_of, ids_table, json_option, out


@click.group()
def depth() -> None:
    """Defense in depth: how many controls must fail before an asset falls."""


def _report_table(report: Report, title: str) -> Table:
    table = Table("asset", "min failures", "minimum failing sets", "width", "attack path", title=title)
    for a in report.assets:
        depth_text = "unreachable" if a.min_failures is None else str(a.to_dict()["min_failures"])
        if not a.exact:
            bounds = a.to_dict().get("bounds", {})
            depth_text = f"{bounds.get('lower')}..{bounds.get('upper')} (bounds)"
        table.add_row(a.asset, depth_text, "\n".join(", ".join(s) or "(none)" for s in a.failing_sets),
                      str(a.width), "\n".join(a.path))
    return table


def _probe_table(results: list[ProbeResult]) -> Table:
    """Every probe with its verdict and why: a probe that could not run is a failed probe."""
    rows = [[r.control, "works" if r.works else "FAILED", r.detail or "-", r.probe] for r in results]
    failed = sum(1 for r in results if not r.works)
    return ids_table("probes", ["control", "result", "why", "probe"], rows,
                     f"{len(results)} probe(s), {failed} failed")


@depth.command("analyze")
@click.argument("model_path", metavar="MODEL")
@click.option("--failed", default="", help="Controls known to be broken, comma-separated.")
@click.option("--probe", "run_probes", is_flag=True, help="Run each control's probe against the live system.")
@click.option("--max-sets", default=5, show_default=True, type=click.IntRange(1, 1000))
@click.option("--time-limit", default=30.0, show_default=True, type=float, help="Seconds per exact solve.")
@click.option("--probe-timeout", default=60.0, show_default=True, type=float)
@click.option("--html", "html_out", default=None, help="Write a self-contained HTML report.")
@click.option("--dot", "dot_out", default=None, help="Write the attack graph as Graphviz DOT.")
@json_option
@click.pass_context
def depth_analyze(ctx: click.Context, model_path: str, failed: str, run_probes: bool, max_sets: int,
                  time_limit: float, probe_timeout: float, html_out: str | None, dot_out: str | None,
                  as_json: bool) -> None:
    """Minimum failures per asset; exit 1 when an asset needs fewer than the policy asks."""
    model = load_model(model_path)
    known = [c.strip() for c in failed.split(",") if c.strip()]
    report = analyze(model, known, max_sets=max_sets, time_limit=time_limit)
    data = report.to_dict()
    designed = report
    results: list[ProbeResult] = []
    if run_probes:
        probe_ctx = ProbeContext(home_of(ctx))
        results = [run_probe(c.name, c.probe, probe_ctx, probe_timeout, env=probe_ctx.env())
                   for c in model.controls.values() if c.probe]
        broken = sorted({*known, *(r.control for r in results if not r.works)})
        report = analyze(model, broken, max_sets=max_sets, time_limit=time_limit)
        data = report.to_dict()
        data["probes"] = [r.to_dict() for r in results]
        data["designed"] = designed.to_dict()
    if dot_out:
        with open(dot_out, "w", encoding="utf-8") as fh:
            fh.write(to_dot(model, report))
    if html_out:
        extra = ""
        if run_probes:
            rows = "".join(f"<tr><td>{p['control']}</td><td>{'works' if p['works'] else 'FAILED'}</td>"
                           f"<td>{p['detail']}</td></tr>" for p in data["probes"])
            extra = ("<h2>Probes: designed vs current</h2><table id='probes'><tr><th>control</th><th>probe</th>"
                     f"<th>detail</th></tr>{rows}</table>")
        with open(html_out, "w", encoding="utf-8") as fh:
            fh.write(to_html(model, report, extra))
    if as_json:
        emit(data, True)
    else:
        if run_probes:
            out.print(_probe_table(results))
            out.print(_report_table(designed, f"{model.name}: as designed"))
        out.print(_report_table(report, f"{model.name}: {'current' if run_probes else 'analysis'}"))
        for s in report.spofs:
            out.print(f"single point of failure: {s['control']} opens {s['asset']}")
        for a in report.assets:
            if a.independent is not None:
                d = a.to_dict()
                shared = "; ".join(f"{u['name']} ({', '.join(u['controls'])}) costs {u['costs']}" for u in a.common_mode)
                out.print(f"independent failures: {a.asset} needs {d['independent_failures']} "
                          f"({d['min_failures']} controls){'; shared: ' + shared if shared else ''}")
        out.print(f"policy: {'ok' if report.policy_ok else 'VIOLATED'}")
    if not report.policy_ok:
        raise click.exceptions.Exit(1)


@depth.command("diff")
@click.argument("old_path", metavar="OLD")
@click.argument("new_path", metavar="NEW")
@click.option("--max-sets", default=3, type=click.IntRange(1, 100))
@json_option
def depth_diff_cmd(old_path: str, new_path: str, max_sets: int, as_json: bool) -> None:
    """What changed in depth per asset; exit 1 if any asset got shallower."""
    result = depth_diff(analyze(load_model(old_path), max_sets=max_sets),
                        analyze(load_model(new_path), max_sets=max_sets))
    table = Table("asset", "old", "new", "change")
    for row in result["assets"]:
        table.add_row(row["asset"], str(row["old"]), str(row["new"]), row["change"])
    emit(result, as_json, table=table)
    if result["shallower"]:
        raise click.exceptions.Exit(1)



COMMANDS = [depth]
