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
@click.option("--kinds", default=None, metavar="K,K",
              help="Key types to plant (default rsa,ec,ed25519,aes; rsa and aes always).")
@json_option
def dumps_canary(out: str, kinds: str | None, as_json: bool) -> None:
    """Make canary material (RSA, EC, Ed25519 and AES keys) for a service to hold in memory."""
    from .dumps.canary import make_canary

    public = make_canary(out, time.time(), kinds)
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


def _pipeline(ctx: click.Context) -> Any:
    from .dumps.pipeline import DumpPipeline

    return DumpPipeline(_home(ctx))


@dumps.command("capture")
@click.option("--pid", type=int, default=None, help="Crashed process id (core_pattern %P).")
@click.option("--exe", default="", help="Executable path (core_pattern %E).")
@click.option("--signal", "signal_number", type=int, default=None, help="Signal number (core_pattern %s).")
@click.option("--time", "crash_time", type=float, default=None, help="Crash time, seconds (core_pattern %t).")
@click.option("--file", "path", default=None, help="Take this gcore-made or copied dump instead of stdin.")
@json_option
@click.pass_context
def dumps_capture(ctx: click.Context, pid: int | None, exe: str, signal_number: int | None, crash_time: float | None,
                  path: str | None, as_json: bool) -> None:
    """Quarantine a core (from stdin, as a core_pattern pipe handler, or --file), seal and sanitize it.

    Exit 0 sanitized, 1 refused (kept in quarantine with the reason)."""
    pipeline = _pipeline(ctx)
    if path is not None:
        try:
            stream = open(path, "rb")
        except OSError as exc:
            raise UsageError(f"--file {path}: {exc.strerror}") from None
        with stream:
            record = pipeline.capture(stream, f"file:{path}", pid, exe, signal_number, crash_time)
    else:
        record = pipeline.capture(sys.stdin.buffer, "pipe", pid, exe, signal_number, crash_time)
    emit(record.to_dict(), as_json, text=f"{record.id}: {record.state}" + (f" ({record.reason})" if record.reason
                                                                               else ""))
    if record.state != "sanitized":
        raise click.exceptions.Exit(1)


@dumps.command("release")
@click.argument("dump_id", metavar="ID")
@click.option("--to", "store", default=None, help="The debugging store directory (default: [dumps] store).")
@json_option
@click.pass_context
def dumps_release(ctx: click.Context, dump_id: str, store: str | None, as_json: bool) -> None:
    """Release a sanitized dump into the debugging store through the gate: exit 0 released, 1 refused."""
    from .dumps.debugstore import DirectoryStore

    pipeline = _pipeline(ctx)
    if store is not None:
        pipeline.debug_store = DirectoryStore(pipeline.home.resolve(store), rescan=pipeline.config.dumps.store_rescan)
    try:
        record = pipeline.release(dump_id)
    except DumpRefused as refusal:
        emit({"id": dump_id, "state": "refused", "reason": refusal.reason, "detail": refusal.detail}, as_json,
             text=f"REFUSED {dump_id}: {refusal.diagnostics()}")
        raise click.exceptions.Exit(1) from None
    emit(record.to_dict(), as_json, text=f"{record.id}: released to {record.released_to}")


@dumps.command("list")
@json_option
@click.pass_context
def dumps_list(ctx: click.Context, as_json: bool) -> None:
    """Every dump, its state and why."""
    records = _pipeline(ctx).list()
    table = Table(title="dumps")
    for column in ("id", "state", "reason", "exe", "pid", "signal", "size"):
        table.add_column(column)
    for r in records:
        table.add_row(r.id, r.state, r.reason or "-", r.exe or "-", str(r.pid or "-"), str(r.signal or "-"),
                      str(r.size))
    emit({"dumps": [r.to_dict() for r in records]}, as_json, table=table)


@dumps.command("expire")
@json_option
@click.pass_context
def dumps_expire(ctx: click.Context, as_json: bool) -> None:
    """Delete dumps older than [dumps] retention_days (quarantine and store), audited."""
    deleted = _pipeline(ctx).expire()
    emit({"deleted": deleted}, as_json, text=f"deleted {len(deleted)} dump(s)")


@cli.group()
def debug() -> None:
    """The debugging store: time-bound grants and audited fetches."""


@debug.command("grant")
@click.option("--dump", "dump_id", required=True, metavar="ID")
@click.option("--to", "user", required=True, metavar="USER")
@click.option("--ttl", default="1h", show_default=True, help="How long the grant lives (e.g. 30m, 1h).")
@click.option("--by", "granted_by", default=None, help="Who grants (default: $USER).")
@json_option
@click.pass_context
def debug_grant(ctx: click.Context, dump_id: str, user: str, ttl: str, granted_by: str | None, as_json: bool) -> None:
    """Let USER fetch a released dump until the grant expires."""
    import os

    from .cli import duration

    result = _pipeline(ctx).grant(dump_id, user, duration(ttl), granted_by or os.environ.get("USER", "operator"))
    emit(result, as_json, text=f"grant {result['grant']}: {user} may fetch {dump_id} until {result['expires']:.0f}")


@debug.command("fetch")
@click.argument("dump_id", metavar="ID")
@click.option("--as", "user", required=True, metavar="USER")
@click.option("-o", "--output", "out", required=True, metavar="FILE")
@json_option
@click.pass_context
def debug_fetch(ctx: click.Context, dump_id: str, user: str, out: str, as_json: bool) -> None:
    """Fetch a released dump with a live grant: exit 0 fetched, 1 refused (audited)."""
    from pathlib import Path

    try:
        result = _pipeline(ctx).fetch(dump_id, user, Path(out))
    except DumpRefused as refusal:
        emit({"dump": dump_id, "user": user, "refused": refusal.reason}, as_json,
             text=f"REFUSED: {refusal.diagnostics()}")
        raise click.exceptions.Exit(1) from None
    emit(result, as_json, text=f"{dump_id} -> {out}")
