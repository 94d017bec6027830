"""`signward audit ...`: verify, checkpoint, query, prune the tamper-evident audit log."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from ..audit import AuditRecord
from ..audit.merkle import ProofError
from ..audit.note import MAX_NOTE_BYTES
from ..audit.proofs import verify_proof
from ..clock import iso
from ..errors import ConfigError, UsageError
from ..safefile import read_text_file
from ..verify.sources import read_json_file
from .common import emit, ids_table, json_option, services


@click.group()
def audit() -> None:
    """The tamper-evident audit log."""


@audit.command("verify")
@click.option("--key", "key_file", default=None, metavar="FILE",
              help="The audit public key (JWK) to hold the log to (default: the home's pinned key).")
@json_option
@click.pass_context
def audit_verify(ctx: click.Context, key_file: str | None, as_json: bool) -> None:
    """Recompute the chain and checkpoint signatures against the pinned audit key and the
    published checkpoint; exit 1 naming the first broken record, or when nothing anchors the
    log (records, but no audit key and no checkpoint: `unanchored`)."""
    pinned = None
    if key_file is not None:
        try:
            pinned = read_json_file(key_file, 64 * 1024)
        except ValueError as exc:
            raise ConfigError(f"--key {key_file}: {exc}") from None
        if not isinstance(pinned, dict):
            raise ConfigError(f"--key {key_file}: not a JWK")
    result = services(ctx).audit.verify(pinned)
    broken = result.broken
    text = (f"audit chain BROKEN at record {broken.seq}: {broken.reason}" if broken is not None else
            f"audit chain UNANCHORED: {result.records} records and no audit key or checkpoint hold them (whoever "
            f"can write the database can rewrite them); start the HSM and run 'signward audit checkpoint'"
            if result.unanchored else
            f"audit chain intact: {result.records} records, {result.checkpoints} checkpoints")
    emit({**result.to_dict(), "ok": result.ok and not result.unanchored}, as_json, text=text)
    if not result.ok or result.unanchored:
        raise click.exceptions.Exit(1)


@audit.command("checkpoint")
@json_option
@click.pass_context
def audit_checkpoint(ctx: click.Context, as_json: bool) -> None:
    """Sign the current head with the audit key in the HSM: the chain head, and the Merkle tree
    head as a C2SP signed note (printed; publish it for auditors and relying parties)."""
    made = services(ctx).audit.checkpoint()
    emit(made.to_dict() if made else {}, as_json,
         text=(made.note or f"checkpoint at record {made.seq}\n").rstrip("\n") if made else "the log is empty")


def _proof_out(proof: dict[str, Any], as_json: bool) -> None:
    click.echo(json.dumps(proof, indent=None if as_json else 2, sort_keys=True))


@audit.command("prove")
@click.argument("seq", type=click.IntRange(1, 2**62))
@click.option("--size", type=click.IntRange(1, 2**62), default=None,
              help="Prove against the signed checkpoint of this size (default: the latest; one is signed "
                   "now if none covers the record).")
@json_option
@click.pass_context
def audit_prove(ctx: click.Context, seq: int, size: int | None, as_json: bool) -> None:
    """An inclusion proof of record SEQ (RFC 9162), with the record and the signed checkpoint;
    check it with `audit verify-proof`."""
    try:
        proof = services(ctx).audit.prove(seq, size)
    except ProofError as exc:
        raise UsageError(str(exc)) from None
    _proof_out(proof, as_json)


@audit.command("consistency")
@click.argument("old_size", type=click.IntRange(1, 2**62))
@click.option("--size", type=click.IntRange(1, 2**62), default=None,
              help="Prove up to the signed checkpoint of this size (default: the latest).")
@json_option
@click.pass_context
def audit_consistency(ctx: click.Context, old_size: int, size: int | None, as_json: bool) -> None:
    """A consistency proof that the log of OLD_SIZE records is a prefix of the current one."""
    try:
        proof = services(ctx).audit.consistency(old_size, size)
    except ProofError as exc:
        raise UsageError(str(exc)) from None
    _proof_out(proof, as_json)


def _read_text(path: str | None, what: str) -> str | None:
    if path is None:
        return None
    try:
        return read_text_file(path, MAX_NOTE_BYTES)
    except ValueError as exc:
        raise UsageError(f"{what} {path}: {exc}") from None


def _read_json(path: str, limit: int) -> Any:
    """A bounded JSON file; an error names the user's file."""
    try:
        return read_json_file(path, limit)
    except ValueError as exc:
        raise UsageError(f"{path}: {exc}") from None


@audit.command("verify-proof")
@click.argument("proof_file", metavar="PROOF")
@click.option("--key", "key_file", required=True, metavar="FILE", help="The pinned audit public key (JWK).")
@click.option("--checkpoint", "checkpoint_file", default=None, metavar="FILE",
              help="The signed checkpoint to hold the proof to (default: the one the proof carries).")
@click.option("--old-checkpoint", "old_file", default=None, metavar="FILE",
              help="A checkpoint seen before: a consistency proof must extend it, and one of the same size "
                   "with another root is a fork.")
@click.option("--origin", default=None, help="The log's name the checkpoints must carry.")
@json_option
def audit_verify_proof(proof_file: str, key_file: str, checkpoint_file: str | None, old_file: str | None,
                       origin: str | None, as_json: bool) -> None:
    """Check an inclusion or consistency proof offline, from the audit public key alone (no home,
    no database): exit 0 when it holds, 1 when it does not."""
    proof = _read_json(proof_file, 4 * 1024 * 1024)
    key = _read_json(key_file, 64 * 1024)
    result = verify_proof(proof, key, _read_text(checkpoint_file, "--checkpoint"),
                          _read_text(old_file, "--old-checkpoint"), origin)
    emit(result.to_dict(), as_json, text=("proof holds: " if result.ok else "PROOF FAILS: ") + result.reason)
    if not result.ok:
        raise click.exceptions.Exit(1)


def _records_out(records: list[AuditRecord], as_json: bool, jsonl: bool = False) -> None:
    if jsonl:
        for r in records:
            click.echo(json.dumps(r.to_dict(), sort_keys=True))
        return
    rows = [[str(r.seq), iso(r.time) or "", r.actor, r.action, r.object, r.severity] for r in records]
    table = ids_table(None, ["seq", "time", "actor", "action", "object", "severity"], rows, f"{len(records)} record(s)")
    emit([r.to_dict() for r in records], as_json, table=table)


@audit.command("query")
@click.option("--kid", default=None)
@click.option("--action", default=None)
@click.option("--actor", default=None)
@click.option("--since", default=None, help="ISO 8601 time or epoch seconds.")
@click.option("--jsonl", is_flag=True, help="JSON lines, for a SIEM.")
@json_option
@click.pass_context
def audit_query(ctx: click.Context, kid: str | None, action: str | None, actor: str | None, since: str | None,
                jsonl: bool, as_json: bool) -> None:
    """Records matching every given filter."""
    when = None
    if since is not None:
        try:
            when = float(since)
        except ValueError:
            try:
                when = datetime.fromisoformat(since.replace("Z", "+00:00")).timestamp()
            except ValueError:
                raise ConfigError(f"--since wants an ISO 8601 time or epoch seconds, not {since!r}") from None
    _records_out(services(ctx).audit.records(action=action, kid=kid, actor=actor, since=when), as_json, jsonl)


@audit.command("prune")
@json_option
@click.pass_context
def audit_prune(ctx: click.Context, as_json: bool) -> None:
    """Remove whole checkpointed segments older than audit.retention_days (never below the floor)."""
    result = services(ctx).prune_audit()
    emit(result, as_json, text=f"pruned {result['pruned']} records (up to {result['up_to']})")


@audit.command("alerts")
@json_option
@click.pass_context
def audit_alerts(ctx: click.Context, as_json: bool) -> None:
    """Records at alert severity."""
    _records_out(services(ctx).audit.records(severity="alert"), as_json)



COMMANDS = [audit]
