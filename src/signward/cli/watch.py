"""`signward watch`: validate every control where it is deployed, on a schedule."""

from __future__ import annotations

import json
import threading
import time
from importlib import resources
from pathlib import Path

import click
import uvicorn
from rich.table import Table
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ..depth import load_model
from ..safefile import HTML_MARK
from ..watch import Round, WatchConfig, WatchMetrics, parse_duration, record_round, run_round
from ..watch.report import History, render_html
from .common import (
    check_output,
    clean_up_on_signals,
    emit,
    err,
    force_option,
    home_of,
    ids_table,
    json_option,
    out,
    services,
    write_output,
)

DEFAULT_MODEL = "storm-0558-signward.yaml"


def _round_tables(found: Round) -> list[Table]:
    probes = ids_table("probes", ["control", "verdict", "detail", "seconds"],
                       [[r.control, "works" if r.held else "FAILED", r.detail or "-", f"{r.duration:.2f}"]
                        for r in found.results],
                       summary=f"unprobed: {', '.join(found.unprobed)}" if found.unprobed else "")
    depth = ids_table("depth", ["asset", "designed", "current"],
                      [[asset, str(d["designed"]), str(d["current"])] for asset, d in found.depths().items()],
                      summary=f"policy: at least {found.current.to_dict()['policy_min_failures']}, "
                              f"{'ok' if found.current.policy_ok else 'VIOLATED'}")
    return [probes, depth]


def _metrics_server(metrics: WatchMetrics, port: int) -> uvicorn.Server:
    async def serve_metrics(request: Request) -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/metrics", serve_metrics), Route("/healthz", healthz)])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    threading.Thread(target=server.run, daemon=True, name="signward-watch-metrics").start()
    return server


@click.group(invoke_without_command=True)
@click.option("--model", "model_path", default=None,
              help=f"The depth model (default: the packaged {DEFAULT_MODEL}).")
@click.option("--watch-config", "watch_config", default=None, type=click.Path(dir_okay=False),
              help="WATCH.toml: relying parties, schedule, probe timeout, webhook.")
@click.option("--every", default=None, help="Interval between rounds (e.g. 15m; default from the config).")
@click.option("--once", is_flag=True, help="One round, then exit (cron, CI).")
@click.option("--rounds", default=0, type=click.IntRange(0, 1_000_000), help="Stop after N rounds (0: never).")
@click.option("--only", default=None, help="Probe only these controls (comma-separated); the rest are unprobed.")
@click.option("--metrics-port", default=0, type=click.IntRange(0, 65535),
              help="Serve /metrics and /healthz on 127.0.0.1:PORT while watching.")
@json_option
@click.pass_context
def watch(ctx: click.Context, model_path: str | None, watch_config: str | None, every: str | None, once: bool,
          rounds: int, only: str | None, metrics_port: int, as_json: bool) -> None:
    """Probe every control where it lives, record each result in the audit log, and compare the
    current depth with the designed one; alert when a control fails or the depth falls below
    policy. Exit 1 when the last round's current depth is below policy. `watch report` draws
    the history."""
    if ctx.invoked_subcommand is not None:
        return
    home = home_of(ctx)
    model = load_model(model_path or Path(str(resources.files("signward").joinpath("models", DEFAULT_MODEL))))
    config = WatchConfig.load(watch_config) if watch_config else WatchConfig()
    interval = parse_duration(every, "--every") if every else config.every
    limit = 1 if once else rounds
    chosen = [c.strip() for c in only.split(",") if c.strip()] if only is not None else None
    metrics = WatchMetrics()
    server = _metrics_server(metrics, metrics_port) if metrics_port else None
    clean_up_on_signals()  # SIGTERM ends the loop between or inside rounds, the metrics server with it
    done = 0
    found: Round | None = None
    try:
        while True:
            found = run_round(home, model, config, only=chosen)
            record_round(home, found, config.webhook)
            metrics.update(found)
            done += 1
            if as_json and not once:
                click.echo(json.dumps(found.to_dict(), sort_keys=True, default=str))  # one line per round
            elif not as_json:
                for table in _round_tables(found):
                    out.print(table)
            if limit and done >= limit:
                break
            time.sleep(interval)
    finally:
        if server is not None:
            server.should_exit = True
    if once and as_json and found is not None:
        emit(found.to_dict(), True)
    if found is not None and found.below_policy:
        raise click.exceptions.Exit(1)


@watch.command("report")
@click.option("--html", "html_out", required=True, type=click.Path(dir_okay=False),
              help="Write the page here (a new file, or one this command wrote before).")
@force_option
@click.pass_context
def watch_report(ctx: click.Context, html_out: str, force: bool) -> None:
    """One HTML page: the depth over time, each control's history, the last failures."""
    check_output(html_out, force=force, mark=HTML_MARK, what="--html")
    records = services(ctx).audit.records(actor="signward-watch")
    write_output(html_out, render_html(History.from_records(records)), force=force, mark=HTML_MARK, what="--html")
    err.print(f"wrote {html_out}")


COMMANDS = [watch]
