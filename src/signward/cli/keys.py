"""`signward realm ...` and `signward keys ...`: realms and their signing keys."""

from __future__ import annotations

import json

import click
from rich.table import Table

from ..algorithms import Alg
from ..clock import iso
from ..errors import NotFound
from ..keys import KeyRecord, RotationPolicy, verify_window
from .common import duration, emit, err, ids_table, json_option, services


@click.group()
def realm() -> None:
    """Realms: one issuer each, with its own keys."""


@realm.command("create")
@click.argument("name")
@click.option("--issuer", required=True, help="The issuer URL (https, or http on loopback).")
@click.option("--alg", default="ES256", show_default=True, help="ES256, ES384, RS256, PS256 or EdDSA.")
@click.option("--max-signing-lifetime", default="30d", show_default=True)
@click.option("--prepublish-lead", default="1d", show_default=True)
@click.option("--max-token-lifetime", default="1h", show_default=True)
@json_option
@click.pass_context
def realm_create(ctx: click.Context, name: str, issuer: str, alg: str, max_signing_lifetime: str,
                 prepublish_lead: str, max_token_lifetime: str, as_json: bool) -> None:
    """Create a realm and its first signing key (refused if its keys would outlive the audit retention)."""
    policy = RotationPolicy(max_signing_lifetime=duration(max_signing_lifetime),
                            prepublish_lead=duration(prepublish_lead),
                            max_token_lifetime=duration(max_token_lifetime))
    made = services(ctx).registry.create_realm(name, issuer, Alg.parse(alg), policy)
    emit(made.to_dict(), as_json, text=f"realm {made.name} created (issuer {made.issuer}, {made.alg.value})")


@realm.command("list")
@json_option
@click.pass_context
def realm_list(ctx: click.Context, as_json: bool) -> None:
    """Every realm: its issuer URL, algorithm and rotation policy."""
    realms = services(ctx).registry.realms()
    table = Table("realm", "issuer", "alg", "signing lifetime", "lead", "token lifetime")
    for r in realms:
        table.add_row(r.name, r.issuer, r.alg.value, f"{r.policy.max_signing_lifetime:.0f}s",
                      f"{r.policy.prepublish_lead:.0f}s", f"{r.policy.max_token_lifetime:.0f}s")
    emit([r.to_dict() for r in realms], as_json, table=table)


# a kid is base64url and may begin with '-': an unknown "option" is taken as the KID argument, and
# these commands take only --help (a kid beginning "-h", 1 in 4,096, printed the help instead)
KID_ARGUMENT = {"ignore_unknown_options": True, "help_option_names": ["--help"]}


@click.group()
def keys() -> None:
    """Signing keys: create, rotate, list, retire, revoke, jwks."""


def _key_table(records: list[KeyRecord]) -> Table:
    rows = [[k.kid, k.realm, k.alg.value, k.state.value, iso(k.sign_from) or "", iso(k.sign_until) or "",
             iso(k.verify_until) or ""] for k in records]
    states = {state: sum(1 for k in records if k.state.value == state) for state in {k.state.value for k in records}}
    summary = f"{len(records)} key(s)" + (": " + ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
                                          if states else "")
    return ids_table(None, ["kid", "realm", "alg", "state", "sign from", "sign until", "verify until"], rows,
                     summary)


@keys.command("create")
@click.option("--realm", "realm_name", required=True)
@click.option("--alg", default=None, help="Default: the realm's algorithm.")
@click.option("--now", "immediate", is_flag=True, help="Sign from now instead of after the pre-publication lead.")
@json_option
@click.pass_context
def keys_create(ctx: click.Context, realm_name: str, alg: str | None, immediate: bool, as_json: bool) -> None:
    """Create a key in the HSM, published now."""
    record = services(ctx).registry.create_key(realm_name, Alg.parse(alg) if alg else None, immediate=immediate)
    emit(record.to_dict(), as_json, table=_key_table([record]))


@keys.command("rotate")
@click.option("--realm", "realm_name", default=None, help="Default: every realm.")
@json_option
@click.pass_context
def keys_rotate(ctx: click.Context, realm_name: str | None, as_json: bool) -> None:
    """Do what each realm's rotation policy says is due (idempotent). Each realm rotates on its
    own: one that cannot (named on stderr, alerted and audited) does not stop the others; exit 1
    then."""
    reg = services(ctx).registry
    if realm_name and realm_name not in reg.realm_names():
        raise NotFound(f"no realm named {realm_name!r}")  # bad input (exit 2), not a failed rotation
    events, failed = reg.rotate_each([realm_name] if realm_name else None)
    lines = [f"{name}: {e['action']} {e.get('kid', '')}" for name, evs in events.items() for e in evs]
    # --json: the events of each realm rotated; a realm that failed maps to {"error": ...}
    emit({**events, **{name: {"error": error} for name, error in failed.items()}}, as_json,
         text="\n".join(lines) or "nothing due")
    for name, error in failed.items():
        err.print(f"rotation failed in realm {name}: {error}", markup=False)
    if failed:
        raise click.exceptions.Exit(1)


@keys.command("list")
@click.option("--realm", "realm_name", default=None)
@json_option
@click.pass_context
def keys_list(ctx: click.Context, realm_name: str | None, as_json: bool) -> None:
    """Every key (of one realm, or all): state and validity window; kids in full."""
    records = services(ctx).registry.keys(realm_name)
    emit([k.to_dict() for k in records], as_json, table=_key_table(records))


@keys.command("retire", context_settings=KID_ARGUMENT)
@click.argument("kid")
@json_option
@click.pass_context
def keys_retire(ctx: click.Context, kid: str, as_json: bool) -> None:
    """Stop a key signing now; it stays published until its verify window closes."""
    record = services(ctx).registry.retire(kid)
    emit(record.to_dict(), as_json, table=_key_table([record]))


@keys.command("revoke", context_settings=KID_ARGUMENT)
@click.argument("kid")
@json_option
@click.pass_context
def keys_revoke(ctx: click.Context, kid: str, as_json: bool) -> None:
    """Withdraw a key at once (it leaves the JWKS now); a new key is made if needed."""
    record = services(ctx).registry.revoke(kid)
    emit(record.to_dict(), as_json, table=_key_table([record]))


@keys.command("jwks")
@click.option("--realm", "realm_name", required=True)
@click.pass_context
def keys_jwks(ctx: click.Context, realm_name: str) -> None:
    """Print the realm's JWKS document (always JSON)."""
    click.echo(json.dumps(services(ctx).registry.jwks(realm_name), indent=2))



@keys.command("tripwire")
@click.option("--realm", "realm_name", required=True)
@json_option
@click.pass_context
def keys_tripwire(ctx: click.Context, realm_name: str, as_json: bool) -> None:
    """Publish the realm's tripwire keys (HSM-held, never used by a real token): one whose window
    closed a month ago and one that probes use to claim another realm's issuer. Their kids are
    honey kids; `signward watch` sends relying parties tokens under them."""
    opened = services(ctx)
    made = opened.registry.realm(realm_name)
    wires = opened.tripwires.ensure(made, verify_window(made.policy))
    emit([w.to_dict() for w in wires], as_json,
         table=ids_table(f"tripwires of {realm_name}", ["kid", "kind", "nbf", "exp"],
                         [[w.kid, w.kind.value, iso(w.nbf) or "", iso(w.exp) or ""] for w in wires]))


@keys.command("honey")
@click.pass_context
def keys_honey(ctx: click.Context) -> None:
    """The honey kids, one per line, for `token verify --honey-kids` and validators: every
    tripwire key and the home's canary keys. A token under one outside a probe is an alert."""
    for kid in services(ctx).honey_kids():
        click.echo(kid)


COMMANDS = [realm, keys]
