"""`signward depth ...`: how many controls must fail before an asset falls."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import click
from rich.table import Table

from ..depth import Report, analyze, depth_diff, load_model, run_probe, to_dot, to_html
from ..depth.render import probes_html
from ..errors import UsageError
from ..probes.base import ProbeContext, ProbeOutcome
from ..safefile import DOT_MARK, HTML_MARK
from .common import check_output, emit, force_option, home_of, ids_table, json_option, out, print_table, write_output


@click.group()
def depth() -> None:
    """Defense in depth: how many controls must fail before an asset falls."""


def shipped_models() -> dict[str, Path]:
    """The models that ship inside the package, by name (the file name without .yaml)."""
    folder = resources.files("signward").joinpath("models")
    return {entry.name[:-len(".yaml")]: Path(str(entry)) for entry in sorted(folder.iterdir(), key=lambda e: e.name)
            if entry.name.endswith(".yaml")}


def model_path_of(text: str) -> Path:
    """MODEL as given: a file that exists, else a shipped model by name (`storm-0558-signward`,
    also `storm-0558-signward.yaml` or `models/storm-0558-signward.yaml` from any directory)."""
    path = Path(text)
    if path.exists():
        return path
    name = path.name[:-len(".yaml")] if path.name.endswith(".yaml") else path.name
    shipped = shipped_models()
    if name in shipped and (path.parent == Path(".") or path.parent.name == "models"):
        return shipped[name]
    raise UsageError(f"{text}: no such file, and no shipped model of that name "
                     f"(`signward models` lists them: {', '.join(shipped)})")


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


def unproven_lines(report: Report, time_limit: float) -> list[str]:
    """One line per answer part a re-solve stopped by --time-limit left open (that asset's JSON
    says `exact: false` and lists them under `not_proven`)."""
    return [f"not proven ({a.asset}: exact false; a solve stopped at --time-limit {time_limit:g} s): {what}"
            for a in report.assets for what in a.unproven]


def _probe_table(results: list[ProbeOutcome]) -> Table:
    """Every probe with its verdict and why: a probe that could not run is a failed probe."""
    rows = [[r.control, "works" if r.held else "FAILED", r.detail or "-", r.probe] for r in results]
    failed = sum(1 for r in results if not r.held)
    return ids_table("probes", ["control", "result", "why", "probe"], rows,
                     f"{len(results)} probe(s), {failed} failed")


@depth.command("analyze")
@click.argument("model_path", metavar="MODEL")
@click.option("--failed", default="", help="Controls known to be broken, comma-separated.")
@click.option("--probe", "run_probes", is_flag=True, help="Run each control's probe against the live system.")
@click.option("--max-sets", default=5, show_default=True, type=click.IntRange(1, 1000))
@click.option("--time-limit", default=30.0, show_default=True, type=click.FloatRange(0.001, 86400.0),
              help="Seconds per exact solve (the whole run: at most 300 s, or this if longer).")
@click.option("--probe-timeout", default=60.0, show_default=True, type=float)
@click.option("--html", "html_out", default=None, help="Write a self-contained HTML report.")
@click.option("--dot", "dot_out", default=None, help="Write the attack graph as Graphviz DOT.")
@force_option
@json_option
@click.pass_context
def depth_analyze(ctx: click.Context, model_path: str, failed: str, run_probes: bool, max_sets: int,
                  time_limit: float, probe_timeout: float, html_out: str | None, dot_out: str | None,
                  force: bool, as_json: bool) -> None:
    """Minimum failures per asset; exit 1 when an asset needs fewer than the policy asks.
    MODEL is a YAML file or the name of a shipped model (`signward models` lists them). --html
    and --dot write a new file or one this command wrote before (--force: any regular file)."""
    check_output(html_out, force=force, mark=HTML_MARK, what="--html")
    check_output(dot_out, force=force, mark=DOT_MARK, what="--dot")
    model = load_model(model_path_of(model_path))
    known = [c.strip() for c in failed.split(",") if c.strip()]
    report = analyze(model, known, max_sets=max_sets, time_limit=time_limit)
    data = report.to_dict()
    designed = report
    results: list[ProbeOutcome] = []
    if run_probes:
        probe_ctx = ProbeContext(home_of(ctx))
        results = [run_probe(c.name, c.probe, probe_ctx, probe_timeout, env=probe_ctx.env())
                   for c in model.controls.values() if c.probe]
        broken = sorted({*known, *(r.control for r in results if not r.held)})
        report = analyze(model, broken, max_sets=max_sets, time_limit=time_limit)
        data = report.to_dict()
        data["probes"] = [r.to_dict() for r in results]
        data["designed"] = designed.to_dict()
    if dot_out:
        write_output(dot_out, to_dot(model, report), force=force, mark=DOT_MARK, what="--dot")
    if html_out:
        extra = probes_html(data["probes"]) if run_probes else ""
        write_output(html_out, to_html(model, report, extra), force=force, mark=HTML_MARK, what="--html")
    if as_json:
        emit(data, True)
    else:
        if run_probes:
            print_table(_probe_table(results))
            print_table(_report_table(designed, f"{model.name}: as designed"))
        print_table(_report_table(report, f"{model.name}: {'current' if run_probes else 'analysis'}"))
        for s in report.spofs:
            out.print(f"single point of failure: {s['control']} opens {s['asset']}")
        for a in report.assets:
            if a.independent is not None:
                d = a.to_dict()
                shared = "; ".join(f"{u['name']} ({', '.join(u['controls'])}) costs {u['costs']}"
                                   for u in a.common_mode)
                out.print(f"independent failures: {a.asset} needs {d['independent_failures']} "
                          f"({d['min_failures']} controls){'; shared: ' + shared if shared else ''}")
        for line in unproven_lines(report, time_limit):
            out.print(line, markup=False)
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
    result = depth_diff(analyze(load_model(model_path_of(old_path)), max_sets=max_sets),
                        analyze(load_model(model_path_of(new_path)), max_sets=max_sets))
    table = Table("asset", "old", "new", "change")
    for row in result.assets:
        table.add_row(row.asset, str(row.old), str(row.new), row.change)
    emit(result.to_dict(), as_json, table=table)
    if result.shallower:
        raise click.exceptions.Exit(1)


@click.command("models")
@json_option
def models(as_json: bool) -> None:
    """The defense-in-depth models shipped with signward and where they are installed; give
    `signward depth analyze` a model by its name."""
    shipped = shipped_models()
    rows = [[name, str(path)] for name, path in shipped.items()]
    emit({"models": [{"name": name, "path": str(path)} for name, path in shipped.items()]}, as_json,
         table=ids_table(None, ["name", "path"], rows, f"{len(rows)} model(s); e.g. signward depth analyze "
                                                          f"{next(iter(shipped), 'NAME')}"))


COMMANDS = [depth, models]
