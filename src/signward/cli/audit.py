"""`signward audit ...`: verify, checkpoint, query, prune the tamper-evident audit log."""

from __future__ import annotations

import json
from datetime import datetime

import click

from ..audit import AuditRecord
from ..clock import iso
from ..errors import ConfigError
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
    published checkpoint; exit 1 naming the first broken record."""
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
            f"audit chain intact: {result.records} records, {result.checkpoints} checkpoints")
    emit(result.to_dict(), as_json, text=text)
    if not result.ok:
        raise click.exceptions.Exit(1)


@audit.command("checkpoint")
@json_option
@click.pass_context
def audit_checkpoint(ctx: click.Context, as_json: bool) -> None:
    """Sign the current chain head with the audit key in the HSM."""
    made = services(ctx).audit.checkpoint()
    emit(made or {}, as_json, text=f"checkpoint at record {made['seq']}" if made else "the log is empty")


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
