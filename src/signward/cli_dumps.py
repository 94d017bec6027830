"""`signward dumps ...`: scan, sanitize, canary, verify-attestation. Parse, call, print."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from .cli import _home, cli, emit, err, json_option
from .errors import DumpRefused, UsageError


@cli.group()
def dumps() -> None:
    """Crash dumps: find keys in them, sanitize them fail-closed, prove it with canaries."""


@contextmanager
def _progress(label: str, enabled: bool) -> Iterator[Any]:
    """A progress bar on a terminal (stderr), nothing otherwise."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  TimeRemainingColumn(), console=err, transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _known(paths: tuple[str, ...]) -> Any:
    from .dumps import KnownKeys, load_known_keys

    return load_known_keys(paths) if paths else KnownKeys()


keys_option = click.option("--keys", "key_files", multiple=True, metavar="F",
                           help="Public keys to verify candidates against: JWKS/JWK/PEM files (repeatable).")
detectors_option = click.option("--detectors", default=None, metavar="a,b",
                                help="Detectors to run (default: all but entropy): text, der, known-key, "
                                     "unknown-rsa, aes, entropy.")


@dumps.command("scan")
@click.argument("files", nargs=-1, required=True)
@keys_option
@detectors_option
@json_option
@click.option("--sarif", "as_sarif", is_flag=True, help="Print SARIF 2.1.0 instead.")
def dumps_scan(files: tuple[str, ...], key_files: tuple[str, ...], detectors: str | None, as_json: bool,
               as_sarif: bool) -> None:
    """Scan dumps for private keys: exit 0 nothing found, 1 findings, 2 unreadable input."""
    from .dumps import scan_path
    from .dumps.detectors import select
    from .dumps.sarif import to_sarif

    if as_json and as_sarif:
        raise UsageError("choose one of --json and --sarif")
    select(detectors)  # bad names fail before any work
    known = _known(key_files)
    reports = []
    for name in files:
        with _progress(f"scanning {name}", not (as_json or as_sarif)) as progress:
            reports.append(scan_path(name, detectors, known, progress))
    if as_sarif:
        emit(to_sarif(reports), True)
    elif as_json:
        emit({"files": [r.to_dict() for r in reports]}, True)
    else:
        for report in reports:
            if not report.findings:
                emit(None, False, text=f"{report.file}: nothing found ({report.format}, {report.bytes} bytes, "
                                       f"{report.seconds:.1f} s)")
                continue
            table = Table(title=f"{report.file} ({report.format}, {report.bytes} bytes, {report.seconds:.1f} s)")
            for column in ("offset", "vaddr", "detector", "kind", "encoding", "kid", "verified"):
                table.add_column(column)
            for f in report.findings:
                table.add_row(str(f.offset), f"0x{f.vaddr:x}" if f.vaddr is not None else "-", f.detector, f.kind,
                              f.encoding, f.kid or "-", "yes" if f.verified else "no")
            emit(None, False, table=table)
            if report.incomplete:
                err.print(f"bounded passes cut short: {', '.join(report.incomplete)}", markup=False)
    if any(r.findings for r in reports):
        raise click.exceptions.Exit(1)


@dumps.command("sanitize")
@click.argument("source", metavar="IN")
@click.option("-o", "--output", "out", required=True, metavar="OUT", help="Where the sanitized dump goes.")
@keys_option
@click.option("--canary", "canary_file", default=None, metavar="F",
              help="Canary material the dumped process held: every representation must be found.")
@click.option("--minimize", is_flag=True, help="Also blank writable anonymous memory except thread stacks.")
@detectors_option
@json_option
@click.pass_context
def dumps_sanitize(ctx: click.Context, source: str, out: str, key_files: tuple[str, ...], canary_file: str | None,
                   minimize: bool, detectors: str | None, as_json: bool) -> None:
    """Redact every finding, rescan, attest: exit 0 clean, 1 refused (no OUT), 2 bad input."""
    from .dumps.canary import Canary
    from .dumps.detectors import select
    from .dumps.sanitize import sanitize

    select(detectors)
    canary = Canary.load(canary_file) if canary_file else None
    try:
        with _progress(f"sanitizing {source}", not as_json) as progress:
            result = sanitize(source, out, _home(ctx), _known(key_files), canary, minimize, detectors, progress)
    except DumpRefused as refusal:
        refused = getattr(refusal, "result", None)
        data = refused.to_dict() if refused is not None else {"status": "refused", "reason": refusal.reason}
        emit(data, as_json, text=f"REFUSED {source}: {refusal.diagnostics()}; no output written")
        raise click.exceptions.Exit(1) from None
    emit(result.to_dict(), as_json,
         text=f"clean: {out} ({result.redacted_bytes} bytes redacted, findings {result.counts or 'none'}); "
              f"attestation {result.attestation}")


@dumps.command("canary")
@click.option("-o", "--output", "out", required=True, metavar="F", help="Where to write the canary material.")
@json_option
def dumps_canary(out: str, as_json: bool) -> None:
    """Make canary material (RSA, EC, Ed25519 and AES keys) for a service to hold in memory."""
    from .dumps.canary import make_canary

    public = make_canary(out, time.time())
    emit({"file": out, "public": public}, as_json,
         text=f"canary material in {out} (mode 0600); load it with signward.dumps.canary.hold_canaries")


@dumps.command("verify-attestation")
@click.argument("out", metavar="OUT")
@json_option
@click.pass_context
def dumps_verify_attestation(ctx: click.Context, out: str, as_json: bool) -> None:
    """Check OUT against its attestation (MAC, hash, size): exit 0 valid, 1 not."""
    from .dumps.attestation import verify_attestation

    result = verify_attestation(out, _home(ctx))
    emit(result, as_json, text=f"attestation valid for {out}" if result["valid"] else
         f"attestation INVALID for {out}: {result['reason']}")
    if not result["valid"]:
        raise click.exceptions.Exit(1)
