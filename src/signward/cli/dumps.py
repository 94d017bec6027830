"""`signward dumps ...` and `signward debug ...`: scan, sanitize, the pipeline, grants. Parse, call, print."""

from __future__ import annotations

import hashlib
import os
import stat
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

from ..dumps import KnownKeys, load_known_keys, scan_path
from ..dumps.access import Access, read_credential
from ..dumps.attestation import verify_attestation
from ..dumps.canary import Canary, make_canary
from ..dumps.pipeline import DumpPipeline, DumpRecord
from ..dumps.reasons import DumpReason, DumpState
from ..dumps.sanitize import sanitize
from ..dumps.sarif import to_sarif
from ..errors import DumpRefused, UsageError
from ..home import Home
from ..scan.detectors import select
from ..scan.recheck import recheck_path
from .common import (
    SCRATCH_PATH,
    clean_up_on_signals,
    duration,
    emit,
    err,
    home_of,
    ids_table,
    json_option,
    naming,
    refused,
    services,
)


@click.group()
def dumps() -> None:
    """Crash dumps: find keys in them, sanitize them fail-closed, prove it with canaries."""
    clean_up_on_signals()


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


def _known(paths: tuple[str, ...]) -> KnownKeys:
    return load_known_keys(paths) if paths else KnownKeys()


keys_option = click.option("--keys", "key_files", multiple=True, metavar="F",
                           help="Public keys to verify candidates against: JWKS/JWK/PEM files (repeatable).")
max_bytes_option = click.option("--max-bytes", type=click.IntRange(1 << 20, 1 << 50), default=None, metavar="N",
                                help="Refuse a dump that expands past N bytes (default 64 GiB; never past the "
                                     "free disk space).")
workers_option = click.option("--workers", type=click.IntRange(0, 256), default=0, show_default=True,
                              help="Processes scanning chunks in parallel (0: one per core, at most 8; each "
                                   "holds about 0.5 GB). The findings are the same for any number.")
detectors_option = click.option("--detectors", default=None, metavar="a,b",
                                help="Detectors to run (default: all but entropy): text, der, known-key, "
                                     "unknown-rsa, aes, entropy.")


@dumps.command("scan")
@click.argument("files", nargs=-1, required=True)
@keys_option
@detectors_option
@json_option
@click.option("--sarif", "as_sarif", is_flag=True, help="Print SARIF 2.1.0 instead.")
@max_bytes_option
@workers_option
@click.option("--no-reader", "no_reader", is_flag=True,
              help="Skip the independent reader (exit 0 then means only that the scanner found nothing).")
def dumps_scan(files: tuple[str, ...], key_files: tuple[str, ...], detectors: str | None, as_json: bool,
               as_sarif: bool, max_bytes: int | None, workers: int, no_reader: bool) -> None:
    """Scan dumps for private keys with the scanner and the independent reader (the reader that
    certifies sanitize's output): exit 0 nothing found by either, 1 findings or a pass cut short,
    2 unreadable input."""
    if as_json and as_sarif:
        raise UsageError("choose one of --json and --sarif")
    select(detectors)  # bad names fail before any work
    known = _known(key_files)
    reports = []
    readings: list[dict[str, Any]] = []
    for name in files:
        with naming(name), _progress(f"scanning {name}", not (as_json or as_sarif)) as progress:
            reports.append(scan_path(name, detectors, known, progress, max_bytes=max_bytes, workers=workers))
        if not no_reader:
            second = recheck_path(name, known, name=name)
            readings.append({"file": name, "clean": second.clean, "findings": [f.describe() for f in second.findings],
                             "incomplete": list(second.incomplete)})
    if as_sarif:
        emit(to_sarif(reports), True)
    elif as_json:
        emit({"files": [r.to_dict() for r in reports], **({} if no_reader else {"reader": readings})}, True)
    else:
        for report in (leaf for top in reports for leaf in top.leaves()):  # a bundle: each member
            head = f"{report.file} ({report.format}, {report.bytes} bytes, {report.seconds:.1f} s)"
            if not report.findings:  # a pass cut short is never "nothing found" (rt14 F7)
                emit(None, False, text=f"{head}: " + (f"NOT CLEAN, nothing found in what was read; bounded passes cut "
                                                      f"short: {', '.join(report.incomplete)}" if report.incomplete
                                                      else "nothing found"))
                continue
            rows = [[str(f.offset), f"0x{f.vaddr:x}" if f.vaddr is not None else "-", f.detector, f.kind, f.encoding,
                     f.kid or "-", "yes" if f.verified else "no"] for f in report.findings]
            by_detector = ", ".join(f"{d} {n}" for d, n in sorted(report.counts().items()))
            emit(None, False, table=ids_table(head, ["offset", "vaddr", "detector", "kind", "encoding", "kid",
                                                     "verified"], rows,
                                              f"{len(report.findings)} finding(s): {by_detector}"))
            if report.incomplete:
                err.print(f"bounded passes cut short: {', '.join(report.incomplete)}", markup=False)
        for reading in readings:
            what = ("nothing found" if reading["clean"] else
                    f"{len(reading['findings'])} finding(s)" + "".join(f"\n  {f}" for f in reading["findings"][:20]) +
                    "".join(f"\n  incomplete: {i}" for i in reading["incomplete"][:5]))
            emit(None, False, text=f"{reading['file']}: independent reader: {what}")
    # not accounted for is never clean; either reader's finding is a finding
    if any(r.findings or r.incomplete for r in reports) or any(not r["clean"] for r in readings):
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
@max_bytes_option
@workers_option
@click.pass_context
def dumps_sanitize(ctx: click.Context, source: str, out: str, key_files: tuple[str, ...], canary_file: str | None,
                   minimize: bool, detectors: str | None, as_json: bool, max_bytes: int | None, workers: int) -> None:
    """Redact every finding, re-scan with every default detector, attest: exit 0 clean,
    1 refused (no OUT), 2 bad input. The attestation key is the home's: give --home."""
    select(detectors)
    home = _attesting_home(ctx)
    canary = Canary.load(canary_file) if canary_file else None
    try:
        with naming(source), _progress(f"sanitizing {source}", not as_json) as progress:
            result = sanitize(source, out, home, _known(key_files), canary, minimize, detectors, progress,
                              max_bytes=max_bytes, workers=workers)
    except DumpRefused as refusal:
        refused(refusal, as_json, f"REFUSED {source}: {refusal.diagnostics()}; no output written")
    emit(result.to_dict(), as_json,
         text=f"clean: {out} ({result.redacted_bytes} bytes redacted, findings {result.counts or 'none'}); "
              f"attestation {result.attestation}, signed by key {result.key_id} of {home.root}")


@dumps.command("canary")
@click.option("-o", "--output", "out", required=True, metavar="F", help="Where to write the canary material.")
@click.option("--kinds", default=None, metavar="K,K",
              help="Key types to plant (default rsa,ec,ed25519,aes; rsa and aes always).")
@json_option
def dumps_canary(out: str, kinds: str | None, as_json: bool) -> None:
    """Make canary material (RSA, EC, Ed25519 and AES keys) for a service to hold in memory."""
    made = make_canary(out, time.time(), kinds)
    emit(made.to_dict(), as_json,
         text=f"canary material in {out} (mode 0600); load it with signward.dumps.canary.hold_canaries")


@dumps.command("verify-attestation")
@click.argument("out", metavar="OUT")
@json_option
@click.pass_context
def dumps_verify_attestation(ctx: click.Context, out: str, as_json: bool) -> None:
    """Check OUT against its attestation (MAC, hash, size): exit 0 valid, 1 not."""
    result = verify_attestation(out, home_of(ctx))
    emit(result.to_dict(), as_json, text=f"attestation valid for {out} (key {result.key_id})" if result.valid else
         f"attestation INVALID for {out}: {result.reason}" + (f" ({result.detail})" if result.detail else ""))
    if not result.valid:
        raise click.exceptions.Exit(1)


def _attesting_home(ctx: click.Context) -> Home:
    """The home whose key signs attestations: given, or existing; never made implicitly."""
    home = home_of(ctx)
    if not home.exists():
        raise UsageError(f"no signward home at {home.root}: sanitize signs its attestation with a home's key; "
                         f"give --home (or run 'signward --home DIR init')")
    return home


def _reason(record: DumpRecord) -> str:
    """A dump's reason as its reader knows the dump: by the file it was captured from (or its id),
    not by the private copy the pipeline worked on (/proc/self/fd/N)."""
    text = f"{record.reason}: {record.detail}" if record.detail else record.reason
    return _named(record, text)


def _named(record: DumpRecord, text: str) -> str:
    return SCRATCH_PATH.sub(lambda _: record.name(), text or "")  # a record kept before they named it


def _record(record: DumpRecord) -> dict[str, Any]:
    return {**record.to_dict(), "reason": _named(record, record.reason), "detail": _named(record, record.detail)}


def _pipeline(ctx: click.Context) -> DumpPipeline:
    return services(ctx).pipeline


@dumps.command("capture")
@click.option("--pid", type=int, default=None, help="Crashed process id (core_pattern %P).")
@click.option("--exe", default="", help="Executable name (core_pattern %e; %E gives the path with '!' for '/').")
@click.option("--signal", "signal_number", type=int, default=None, help="Signal number (core_pattern %s).")
@click.option("--time", "crash_time", type=float, default=None, help="Crash time, seconds (core_pattern %t).")
@click.option("--file", "path", default=None, help="Take this gcore-made or copied dump instead of stdin.")
@click.option("--incident", default=None, metavar="REF",
              help="Link the crash to this incident (grant requests name it).")
@json_option
@click.pass_context
def dumps_capture(ctx: click.Context, pid: int | None, exe: str, signal_number: int | None, crash_time: float | None,
                  path: str | None, incident: str | None, as_json: bool) -> None:
    """Quarantine a core (from stdin, as a core_pattern pipe handler, or --file), seal and sanitize it.

    Exit 0 sanitized, 1 refused (kept in quarantine with the reason)."""
    pipeline = _pipeline(ctx)
    if path is not None:
        try:  # never blocks on a FIFO; a device (/dev/zero) or a directory is refused unread
            descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as exc:
            raise UsageError(f"--file {path}: {exc.strerror}") from None
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            os.close(descriptor)
            raise UsageError(f"--file {path}: not a regular file")
        with os.fdopen(descriptor, "rb") as stream:
            record = pipeline.capture(stream, f"file:{path}", pid, exe, signal_number, crash_time, incident)
    else:
        record = pipeline.capture(sys.stdin.buffer, "pipe", pid, exe, signal_number, crash_time, incident)
    emit(_record(record), as_json, text=f"{record.id}: {record.state}" + (f" ({_reason(record)})" if record.reason
                                                                               else ""))
    if record.state != DumpState.SANITIZED:
        raise click.exceptions.Exit(1)


@dumps.command("link")
@click.argument("dump_id", metavar="ID")
@click.option("--incident", required=True, metavar="REF")
@click.option("--credential", envvar="SIGNWARD_CREDENTIAL", default=None, metavar="FILE",
              help="Your credential from `debug enroll` (default: $SIGNWARD_CREDENTIAL, else the OS user).")
@json_option
@click.pass_context
def dumps_link(ctx: click.Context, dump_id: str, incident: str, credential: str | None, as_json: bool) -> None:
    """Link a captured dump's crash to an incident, so that grants for it can be requested."""
    access = _pipeline(ctx).access
    access.link(dump_id, incident, _caller(access, credential))
    emit({"dump": dump_id, "incident": incident}, as_json, text=f"{dump_id} linked to {incident}")


def _caller(access: Access, credential: str | None) -> str:
    """Who runs this command: the credential's user, else the operating-system user."""
    return access.identify(read_credential(credential) if credential else None)


@dumps.command("release")
@click.argument("dump_id", metavar="ID")
@click.option("--to", "store", default=None, help="The debugging store directory (default: [dumps] store).")
@json_option
@click.pass_context
def dumps_release(ctx: click.Context, dump_id: str, store: str | None, as_json: bool) -> None:
    """Release a sanitized dump into the debugging store through the gate: exit 0 released, 1 refused."""
    try:
        record = _pipeline(ctx).release(dump_id, store)
    except DumpRefused as refusal:
        refused(refusal, as_json, f"REFUSED {dump_id}: {refusal.diagnostics()}")
    emit(record.to_dict(), as_json, text=f"{record.id}: released to {record.released_to}")


@dumps.command("list")
@json_option
@click.pass_context
def dumps_list(ctx: click.Context, as_json: bool) -> None:
    """Every dump, its state and why."""
    records = _pipeline(ctx).list()
    rows = [[r.id, r.state.value, _reason(r) or "-", r.exe or "-", str(r.pid or "-"), str(r.signal or "-"), str(r.size)]
            for r in records]
    states = {s: sum(1 for r in records if r.state == s) for s in {r.state for r in records}}
    summary = f"{len(records)} dump(s)" + (": " + ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
                                           if states else "")
    table = ids_table("dumps", ["id", "state", "reason", "exe", "pid", "signal", "size"], rows, summary)
    emit({"dumps": [_record(r) for r in records]}, as_json, table=table)


@dumps.command("expire")
@json_option
@click.pass_context
def dumps_expire(ctx: click.Context, as_json: bool) -> None:
    """Delete dumps older than [dumps] retention_days: every copy (quarantine and every store it
    was released to), audited. Exit 1 when a copy could not be removed (named)."""
    expired = _pipeline(ctx).expire()
    failed = [e for e in expired if not e.deleted]
    lines = [f"deleted {len(expired) - len(failed)} dump(s)"]
    lines += [f"NOT deleted {e.id}: {f.store}: {f.error}" for e in failed for f in e.failed]
    emit({"expired": [e.to_dict() for e in expired]}, as_json, text="\n".join(lines))
    if failed:
        raise click.exceptions.Exit(1)


@click.group()
@click.option("--credential", envvar="SIGNWARD_CREDENTIAL", default=None, metavar="FILE",
              help="Your credential from `debug enroll` (default: $SIGNWARD_CREDENTIAL, else the OS user).")
@click.pass_context
def debug(ctx: click.Context, credential: str | None) -> None:
    """The debugging store: requests, approvals by a second person, time-bound grants, audited fetches."""
    clean_up_on_signals()
    ctx.meta["signward.credential"] = credential


def _identity(ctx: click.Context) -> str:
    """Who runs this debug command; refused (`foreign_config`, audited at alert, exit 1) under a
    configuration that is not the home's own: the approvers and every grant rule come from it."""
    pipeline = _pipeline(ctx)
    caller = _caller(pipeline.access, ctx.meta.get("signward.credential"))
    try:  # every audit record of the debug commands names the configuration they ran under
        with open(pipeline.home.config_path, "rb") as handle:  # loaded already: a small regular file
            digest = hashlib.sha256(handle.read(1 << 20)).hexdigest()
    except OSError:
        digest = ""
    pipeline.access.config_sha256 = digest
    why = pipeline.home.foreign_config()
    if why:
        pipeline.audit.append(caller, "debug.config_refused", str(pipeline.home.config_path),
                              {"reason": DumpReason.FOREIGN_CONFIG.value, "why": why, "config_sha256": digest,
                               "command": ctx.info_name or ""}, severity="alert")
        refused(DumpRefused(DumpReason.FOREIGN_CONFIG, f"debug commands run only under the home's own "
                                                       f"configuration: {why}"),
                bool(ctx.params.get("as_json")), f"REFUSED: foreign_config: {why}")
    return caller


@debug.command("enroll")
@click.argument("user", metavar="USER")
@click.option("-o", "--output", "out", required=True, metavar="FILE", help="A new file for the credential (0600).")
@click.option("--as-admin", is_flag=True, help="Act as the home's administrator (you must own the home directory): "
                                              "how the first approver is enrolled. Audited at warning.")
@json_option
@click.pass_context
def debug_enroll(ctx: click.Context, user: str, out: str, as_admin: bool, as_json: bool) -> None:
    """Issue USER a credential; give them the file. Only a member of dumps.approvers or the home's
    owner with --as-admin may; an enrolled USER is never replaced (`debug revoke` first). Exit 1 refused."""
    pipeline = _pipeline(ctx)
    caller = _identity(ctx)
    try:  # a new file only: never through a symlink, never over a path the tool did not write
        descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise UsageError(f"{out}: {exc.strerror}; enroll writes only a new file") from None
    with os.fdopen(descriptor, "w") as handle:
        try:
            token = pipeline.access.enroll(user, caller, admin_of=pipeline.home if as_admin else None)
        except BaseException as exc:
            os.unlink(out)  # the empty file this command made
            if isinstance(exc, DumpRefused):
                refused(exc, as_json, f"REFUSED: {exc.diagnostics()}")
            raise
        handle.write(token + "\n")
    emit({"user": user, "credential": out}, as_json, text=f"{user}: credential in {out}")


@debug.command("revoke")
@click.argument("user", metavar="USER")
@click.option("--as-admin", is_flag=True, help="Act as the home's administrator (you must own the home directory).")
@json_option
@click.pass_context
def debug_revoke(ctx: click.Context, user: str, as_admin: bool, as_json: bool) -> None:
    """Revoke USER's credential (it stops working at once; USER may then be enrolled again).
    The same people as `enroll` may. Exit 1 refused."""
    pipeline = _pipeline(ctx)
    try:
        pipeline.access.revoke(user, _identity(ctx), admin_of=pipeline.home if as_admin else None)
    except DumpRefused as refusal:
        refused(refusal, as_json, f"REFUSED: {refusal.diagnostics()}")
    emit({"user": user, "revoked": True}, as_json, text=f"{user}: credential revoked")


@debug.command("request")
@click.option("--dump", "dump_id", required=True, metavar="ID")
@click.option("--reason", required=True, help="Why you need the dump.")
@click.option("--incident", required=True, metavar="REF", help="The incident the dump's crash is linked to.")
@click.option("--ttl", default="4h", show_default=True, help="How long the grant should live (at most 8h).")
@json_option
@click.pass_context
def debug_request(ctx: click.Context, dump_id: str, reason: str, incident: str, ttl: str, as_json: bool) -> None:
    """Ask for a grant to a released dump; someone else in dumps.approvers approves it."""
    try:
        result = _pipeline(ctx).access.request(dump_id, _identity(ctx), reason, incident, duration(ttl))
    except DumpRefused as refusal:
        refused(refusal, as_json, f"REFUSED: {refusal.diagnostics()}")
    emit(result.to_dict(), as_json, text=f"request {result.id}: waiting for approval (lapses {result.lapses_at})")


@debug.command("approve")
@click.argument("request_id", metavar="REQUEST")
@json_option
@click.pass_context
def debug_approve(ctx: click.Context, request_id: str, as_json: bool) -> None:
    """Approve someone else's request: they get a grant. Exit 1 refused (audited)."""
    try:
        result = _pipeline(ctx).access.approve(request_id, _identity(ctx))
    except DumpRefused as refusal:
        refused(refusal, as_json, f"REFUSED: {refusal.diagnostics()}")
    emit(result.to_dict(), as_json, text=f"grant {result.id}: {result.user} may fetch {result.dump} "
                                         f"until {result.expires_at}")


@debug.command("requests")
@json_option
@click.pass_context
def debug_requests(ctx: click.Context, as_json: bool) -> None:
    """Requests waiting for approval."""
    pending = _pipeline(ctx).access.pending()
    emit({"requests": pending}, as_json, text="\n".join(
        f"{r['request']}  {r['dump']}  {r['requester']}  {r['incident']}  {r['reason']}" for r in pending)
        or "no pending requests")


@debug.command("grant")
@click.option("--dump", "dump_id", required=True, metavar="ID")
@click.option("--to", "user", required=True, metavar="USER")
@click.option("--ttl", default="1h", show_default=True, help="How long the grant lives (e.g. 30m, 1h).")
@json_option
@click.pass_context
def debug_grant(ctx: click.Context, dump_id: str, user: str, ttl: str, as_json: bool) -> None:
    """Grant USER a dump directly: refused unless dumps.insecure_self_grant (use request and approve)."""
    try:
        result = _pipeline(ctx).grant(dump_id, user, duration(ttl), _identity(ctx))
    except DumpRefused as refusal:
        refused(refusal, as_json, f"REFUSED: {refusal.diagnostics()}")
    emit(result.to_dict(), as_json, text=f"grant {result.id}: {user} may fetch {dump_id} until {result.expires_at}")


@debug.command("fetch")
@click.argument("dump_id", metavar="ID")
@click.option("-o", "--output", "out", required=True, metavar="FILE")
@json_option
@click.pass_context
def debug_fetch(ctx: click.Context, dump_id: str, out: str, as_json: bool) -> None:
    """Fetch a released dump with your live grant, from whichever store holds it: exit 0
    fetched, 1 refused (audited; without an approved grant, at alert severity)."""
    try:
        result = _pipeline(ctx).fetch(dump_id, _identity(ctx), Path(out))
    except DumpRefused as refusal:
        refused(refusal, as_json, f"REFUSED: {refusal.diagnostics()}")
    emit(result.to_dict(), as_json, text=f"{dump_id} -> {out}")


def _credential_here(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:  # given after the subcommand: it wins over the group's (and the environment)
        ctx.meta["signward.credential"] = value


# `--credential F` where a user types it: after the subcommand (`debug request --credential F`)
# as well as before it (`debug --credential F request`)
for _command in debug.commands.values():
    _command.params.append(click.Option(["--credential"], default=None, metavar="FILE", expose_value=False,
                                        callback=_credential_here, help="Your credential from `debug enroll` "
                                        "(also accepted before the subcommand; default $SIGNWARD_CREDENTIAL)."))

COMMANDS = [dumps, debug]
