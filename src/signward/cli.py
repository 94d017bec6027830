"""The `signward` command: parse, call one function, print. Data to stdout, messages to stderr.

Exit codes: 0 yes/clean, 1 no/findings, 2 bad input or usage, 3 HSM or store unavailable.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Sequence
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from .clock import iso
from .errors import ConfigError, SignwardError
from .home import Config, Home, HsmConfig

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> float:
    """'30d', '1h', '90s' or plain seconds."""
    match = DURATION.match(text.strip())
    if not match:
        raise ConfigError(f"bad duration {text!r} (use e.g. 90s, 15m, 1h, 30d)")
    return float(match.group(1)) * UNITS[match.group(2)]


def emit(data: Any, as_json: bool, table: Table | None = None, text: str | None = None) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
    elif table is not None:
        out.print(table)
    elif text is not None:
        click.echo(text)


def _home(ctx: click.Context) -> Home:
    return Home(ctx.obj["home"], ctx.obj.get("config"))


json_option = click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON document.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", "home", default=None, envvar="SIGNWARD_HOME",
              help="The signward home (default $SIGNWARD_HOME, else ./.signward).")
@click.option("--config", "config", default=None, envvar="SIGNWARD_CONFIG",
              help="Read the configuration from this TOML file instead of HOME/config.toml.")
@click.option("-v", "--verbose", is_flag=True, help="Log more, and show tracebacks.")
@click.pass_context
def cli(ctx: click.Context, home: str | None, config: str | None, verbose: bool) -> None:
    """signward: token signing where no single failed control hands over a key."""
    ctx.ensure_object(dict)
    ctx.obj["home"] = home
    ctx.obj["config"] = config
    ctx.obj["verbose"] = verbose
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


@cli.command()
@click.option("--hsm-module", default="", help="Use this vendor PKCS#11 module instead of the embedded SoftHSM2.")
@click.option("--token-label", default="signward", show_default=True)
@click.option("--allow-insecure-software-keys", is_flag=True,
              help="INSECURE, lab only: sign with keys held in process memory.")
@json_option
@click.pass_context
def init(ctx: click.Context, hsm_module: str, token_label: str, allow_insecure_software_keys: bool,
         as_json: bool) -> None:
    """Create a home with its configuration."""
    home = _home(ctx)
    hsm = HsmConfig(backend="software" if allow_insecure_software_keys else "pkcs11", module=hsm_module,
                    token_label=token_label, allow_insecure_software_keys=allow_insecure_software_keys)
    config = home.init(Config(hsm=hsm))
    emit({"home": str(home.root), "config": config.to_dict()}, as_json, text=f"home ready at {home.root}")


# -- hsm ------------------------------------------------------------------------------------

@cli.group()
def hsm() -> None:
    """The embedded HSM (SoftHSM2 behind p11-kit server)."""


@hsm.command("start")
@json_option
@click.pass_context
def hsm_start(ctx: click.Context, as_json: bool) -> None:
    """Start the HSM process (initialising the token on first use)."""
    from .hsm import server

    home = _home(ctx)
    config = home.init()
    info = server.start(home, config.hsm)
    emit(info, as_json, text=f"HSM {'started' if info['started'] else 'already running'} (pid {info['pid']}, "
                             f"socket {info['socket']})")


@hsm.command("stop")
@json_option
@click.pass_context
def hsm_stop(ctx: click.Context, as_json: bool) -> None:
    """Stop the HSM process."""
    from .hsm import server

    was = server.stop(_home(ctx))
    emit({"stopped": was}, as_json, text="HSM stopped" if was else "HSM was not running")


@hsm.command("status")
@json_option
@click.pass_context
def hsm_status(ctx: click.Context, as_json: bool) -> None:
    """Is the HSM reachable, and what does it hold? Exit 3 when it is not reachable."""
    from .hsm import open_backend, server

    home = _home(ctx)
    config = home.load_config()
    backend = open_backend(home, config)
    try:
        status = backend.status()
        keys = backend.attributes()
    finally:
        backend.close()
    status["pid"] = server.running_pid(home)
    status["keys"] = [vars(k) for k in keys]
    table = Table("handle", "sensitive", "extractable", "value readable", title=f"HSM {status.get('token')}")
    for k in keys:
        table.add_row(k.handle, str(k.sensitive), str(k.extractable), str(k.value_readable))
    emit(status, as_json, table=table)


# -- realms and keys -----------------------------------------------------------------------

def _registry(ctx: click.Context) -> Any:
    from .issuer.service import open_context

    return open_context(_home(ctx))


@cli.group()
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
    """Create a realm and its first signing key."""
    from .algorithms import Alg
    from .keys import RotationPolicy

    from .audit import retention_floor

    policy = RotationPolicy(max_signing_lifetime=duration(max_signing_lifetime),
                            prepublish_lead=duration(prepublish_lead),
                            max_token_lifetime=duration(max_token_lifetime))
    retention = _home(ctx).load_config().audit.retention_days * 86400
    floor = retention_floor(policy.max_signing_lifetime + policy.prepublish_lead + policy.max_token_lifetime)
    if retention < floor:
        raise ConfigError(f"audit.retention_days ({retention / 86400:.0f}) is below the floor for this realm's keys "
                          f"({floor / 86400:.0f} days: the longest key verify window plus one year)")
    made = _registry(ctx).registry.create_realm(name, issuer, Alg.parse(alg), policy)
    emit(made.to_dict(), as_json, text=f"realm {made.name} created (issuer {made.issuer}, {made.alg.value})")


@realm.command("list")
@json_option
@click.pass_context
def realm_list(ctx: click.Context, as_json: bool) -> None:
    realms = _registry(ctx).registry.realms()
    table = Table("realm", "issuer", "alg", "signing lifetime", "lead", "token lifetime")
    for r in realms:
        table.add_row(r.name, r.issuer, r.alg.value, f"{r.policy.max_signing_lifetime:.0f}s",
                      f"{r.policy.prepublish_lead:.0f}s", f"{r.policy.max_token_lifetime:.0f}s")
    emit([r.to_dict() for r in realms], as_json, table=table)


@cli.group()
def keys() -> None:
    """Signing keys: create, rotate, list, retire, revoke, jwks."""


def _key_table(records: list[Any]) -> Table:
    table = Table("kid", "realm", "alg", "state", "sign from", "sign until", "verify until")
    for k in records:
        table.add_row(k.kid, k.realm, k.alg.value, k.state.value, iso(k.sign_from), iso(k.sign_until),
                      iso(k.verify_until))
    return table


@keys.command("create")
@click.option("--realm", "realm_name", required=True)
@click.option("--alg", default=None, help="Default: the realm's algorithm.")
@click.option("--now", "immediate", is_flag=True, help="Sign from now instead of after the pre-publication lead.")
@json_option
@click.pass_context
def keys_create(ctx: click.Context, realm_name: str, alg: str | None, immediate: bool, as_json: bool) -> None:
    """Create a key in the HSM, published now."""
    from .algorithms import Alg

    reg = _registry(ctx).registry
    record = reg.create_key(realm_name, Alg.parse(alg) if alg else None,
                            sign_from=reg.clock.now() if immediate else None)
    emit(record.to_dict(), as_json, table=_key_table([record]))


@keys.command("rotate")
@click.option("--realm", "realm_name", default=None, help="Default: every realm.")
@json_option
@click.pass_context
def keys_rotate(ctx: click.Context, realm_name: str | None, as_json: bool) -> None:
    """Do what each realm's rotation policy says is due (idempotent)."""
    reg = _registry(ctx).registry
    names = [realm_name] if realm_name else [r.name for r in reg.realms()]
    events = {name: reg.rotate(name) for name in names}
    lines = [f"{name}: {e['action']} {e.get('kid', '')}" for name, evs in events.items() for e in evs]
    emit(events, as_json, text="\n".join(lines) or "nothing due")


@keys.command("list")
@click.option("--realm", "realm_name", default=None)
@json_option
@click.pass_context
def keys_list(ctx: click.Context, realm_name: str | None, as_json: bool) -> None:
    records = _registry(ctx).registry.keys(realm_name)
    emit([k.to_dict() for k in records], as_json, table=_key_table(records))


@keys.command("retire")
@click.argument("kid")
@json_option
@click.pass_context
def keys_retire(ctx: click.Context, kid: str, as_json: bool) -> None:
    """Stop a key signing now; it stays published until its verify window closes."""
    record = _registry(ctx).registry.retire(kid)
    emit(record.to_dict(), as_json, table=_key_table([record]))


@keys.command("revoke")
@click.argument("kid")
@json_option
@click.pass_context
def keys_revoke(ctx: click.Context, kid: str, as_json: bool) -> None:
    """Withdraw a key at once (it leaves the JWKS now); a new key is made if needed."""
    record = _registry(ctx).registry.revoke(kid)
    emit(record.to_dict(), as_json, table=_key_table([record]))


@keys.command("jwks")
@click.option("--realm", "realm_name", required=True)
@click.pass_context
def keys_jwks(ctx: click.Context, realm_name: str) -> None:
    """Print the realm's JWKS document (always JSON)."""
    click.echo(json.dumps(_registry(ctx).registry.jwks(realm_name), indent=2))


# -- clients and tokens --------------------------------------------------------------------

@cli.group()
def client() -> None:
    """OAuth clients (client credentials grant)."""


@client.command("create")
@click.option("--realm", "realm_name", required=True)
@click.option("--tenant", required=True)
@click.option("--audience", "audiences", multiple=True, help="Allowed audience (repeat); first is the default.")
@click.option("--scope", "scopes", multiple=True, help="Allowed scope (repeat).")
@json_option
@click.pass_context
def client_create(ctx: click.Context, realm_name: str, tenant: str, audiences: tuple[str, ...],
                  scopes: tuple[str, ...], as_json: bool) -> None:
    """Register a client; its secret is shown once, here."""
    made, secret = _registry(ctx).clients.create(realm_name, tenant, list(audiences), list(scopes))
    data = {"client_id": made.client_id, "client_secret": secret, "realm": made.realm, "tenant": made.tenant,
            "audiences": list(made.audiences), "scopes": list(made.scopes)}
    emit(data, as_json, text=f"client_id={made.client_id}\nclient_secret={secret}\n(the secret is not shown again)")


@cli.group()
def token() -> None:
    """Access tokens."""


@token.command("issue")
@click.option("--realm", "realm_name", required=True)
@click.option("--sub", required=True)
@click.option("--tenant", default="default", show_default=True)
@click.option("--aud", "audience", default="api", show_default=True)
@click.option("--scope", default="")
@click.option("--ttl", type=float, default=None, help="Seconds; default and maximum: the realm's max token lifetime.")
@json_option
@click.pass_context
def token_issue(ctx: click.Context, realm_name: str, sub: str, tenant: str, audience: str, scope: str,
                ttl: float | None, as_json: bool) -> None:
    """Issue a token through the same HSM signing path as the service."""
    issued = _registry(ctx).tokens.issue(realm_name, sub=sub, audience=audience, tenant=tenant, scope=scope, ttl=ttl)
    emit({"access_token": issued.token, "kid": issued.kid, "jti": issued.jti, "expires_in": issued.expires_in,
          "claims": issued.claims}, as_json, text=issued.token)


def _read_token(token: str) -> str:
    text = sys.stdin.read() if token == "-" else token
    return text.strip()


def _honey(path: str | None) -> list[str]:
    if not path:
        return []
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read honey list {path}: {exc.strerror}") from exc
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


@token.command("verify")
@click.argument("token_arg", metavar="TOKEN")
@click.option("--trust", "trusts", multiple=True, required=True, metavar="ISSUER=SOURCE",
              help="An issuer and its JWKS (file or http(s) URL); repeat for several issuers.")
@click.option("--audience", required=True)
@click.option("--honey-kids", default=None, help="File of honey kids / key thumbprints, one per line.")
@click.option("--clock-skew", default=60.0, show_default=True, type=float)
@click.option("--max-lifetime", default="1d", show_default=True)
@click.option("--allow-plain-jwt", is_flag=True, help="Do not require typ at+jwt (RFC 9068).")
@json_option
def token_verify(token_arg: str, trusts: tuple[str, ...], audience: str, honey_kids: str | None,
                 clock_skew: float, max_lifetime: str, allow_plain_jwt: bool, as_json: bool) -> None:
    """Validate an access token strictly: exit 0 valid, 1 rejected. TOKEN '-' reads stdin."""
    from .verify import Validator

    trust: dict[str, str] = {}
    for item in trusts:
        issuer, sep, source = item.partition("=")
        if not sep or not issuer or not source:
            raise ConfigError(f"--trust wants ISSUER=SOURCE, not {item!r}")
        trust[issuer] = source
    on_reject = None
    home = _home(click.get_current_context())
    if home.exists():  # with a home, every rejection is audited (alerts at alert severity)
        audit_log = _audit_log(click.get_current_context())

        def on_reject(event: dict[str, Any]) -> None:
            audit_log.append("validator", "token.reject", str(event.get("kid") or ""),
                             {k: v for k, v in event.items() if k not in ("event", "severity")},
                             severity=str(event["severity"]))

    with Validator(trust=trust, audience=audience, honey=_honey(honey_kids), clock_skew=clock_skew,
                   max_lifetime=duration(max_lifetime), require_at_jwt=not allow_plain_jwt,
                   on_reject=on_reject) as validator:
        verdict = validator.verify(_read_token(token_arg))
    emit(verdict.to_dict(), as_json,
         text=f"valid (issuer {verdict.issuer}, kid {verdict.kid})" if verdict.valid
         else f"rejected: {verdict.reason.value if verdict.reason else '?'}")
    if not verdict.valid:
        raise click.exceptions.Exit(1)


@cli.group()
def jws() -> None:
    """JWS-level checks (header and signature rules, any payload)."""


@jws.command("verify")
@click.argument("token_arg", metavar="TOKEN")
@click.option("--jwks", "jwks_path", required=True, help="A JWKS file.")
@click.option("--honey-kids", default=None)
@json_option
def jws_verify(token_arg: str, jwks_path: str, honey_kids: str | None, as_json: bool) -> None:
    """Check a compact JWS against a JWKS file: exit 0 valid, 1 rejected."""
    from .verify import Validator, load_jwks

    try:
        document = json.loads(open(jwks_path, encoding="utf-8").read())
        keys = load_jwks(document, None, jwks_path)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot load JWKS {jwks_path}: {exc}") from exc
    with Validator(trust={"jws:": jwks_path}, audience="-", honey=_honey(honey_kids)) as validator:
        verdict = validator.verify_jws(_read_token(token_arg), keys)
    emit(verdict.to_dict(), as_json, text="valid" if verdict.valid
         else f"rejected: {verdict.reason.value if verdict.reason else '?'}")
    if not verdict.valid:
        raise click.exceptions.Exit(1)


@cli.group()
def audit() -> None:
    """The tamper-evident audit log."""


def _audit_log(ctx: click.Context, with_backend: bool = False) -> Any:
    from .audit import AuditLog
    from .store import store_for

    home = _home(ctx)
    config = home.load_config()
    backend = None
    if with_backend:
        from .hsm import open_backend

        backend = open_backend(home, config)
    return AuditLog(store_for(config.store.url, home.db_path), backend)


@audit.command("verify")
@json_option
@click.pass_context
def audit_verify(ctx: click.Context, as_json: bool) -> None:
    """Recompute the chain and checkpoint signatures; exit 1 naming the first broken record."""
    result = _audit_log(ctx).verify()
    text = (f"audit chain intact: {result.records} records, {result.checkpoints} checkpoints" if result.ok else
            f"audit chain BROKEN at record {result.broken.seq}: {result.broken.reason}")
    emit(result.to_dict(), as_json, text=text)
    if not result.ok:
        raise click.exceptions.Exit(1)


@audit.command("checkpoint")
@json_option
@click.pass_context
def audit_checkpoint(ctx: click.Context, as_json: bool) -> None:
    """Sign the current chain head with the audit key in the HSM."""
    made = _audit_log(ctx, with_backend=True).checkpoint()
    emit(made or {}, as_json, text=f"checkpoint at record {made['seq']}" if made else "the log is empty")


def _records_out(records: list[Any], as_json: bool, jsonl: bool = False) -> None:
    if jsonl:
        for r in records:
            click.echo(json.dumps(r.to_dict(), sort_keys=True))
        return
    table = Table("seq", "time", "actor", "action", "object", "severity")
    for r in records:
        table.add_row(str(r.seq), iso(r.time) or "", r.actor, r.action, r.object, r.severity)
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
    from datetime import datetime

    when = None
    if since is not None:
        try:
            when = float(since)
        except ValueError:
            try:
                when = datetime.fromisoformat(since.replace("Z", "+00:00")).timestamp()
            except ValueError:
                raise ConfigError(f"--since wants an ISO 8601 time or epoch seconds, not {since!r}") from None
    _records_out(_audit_log(ctx).records(action=action, kid=kid, actor=actor, since=when), as_json, jsonl)


@audit.command("prune")
@json_option
@click.pass_context
def audit_prune(ctx: click.Context, as_json: bool) -> None:
    """Remove whole checkpointed segments older than audit.retention_days (never below the floor)."""
    from .audit import retention_floor

    context = _registry(ctx)
    config = _home(ctx).load_config()
    windows = [r.policy.max_signing_lifetime + r.policy.prepublish_lead + r.policy.max_token_lifetime
               for r in context.registry.realms()]
    floor = retention_floor(max(windows, default=0.0))
    result = context.audit.prune(config.audit.retention_days * 86400, floor, actor=context.registry.actor)
    emit(result, as_json, text=f"pruned {result['pruned']} records (up to {result['up_to']})")


@audit.command("alerts")
@json_option
@click.pass_context
def audit_alerts(ctx: click.Context, as_json: bool) -> None:
    """Records at alert severity."""
    _records_out(_audit_log(ctx).records(severity="alert"), as_json)


@cli.group()
def depth() -> None:
    """Defense in depth: how many controls must fail before an asset falls."""


def _report_table(report: Any, title: str) -> Table:
    table = Table("asset", "min failures", "minimum failing sets", "width", "attack path", title=title)
    for a in report.assets:
        depth_text = "unreachable" if a.min_failures is None else str(a.to_dict()["min_failures"])
        if not a.exact:
            depth_text = f"{a.lower:g}..{a.upper:g} (bounds)"
        table.add_row(a.asset, depth_text, "\n".join(", ".join(s) or "(none)" for s in a.failing_sets),
                      str(a.width), "\n".join(a.path))
    return table


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
    from .depth import ProbeContext, analyze, load_model, run_probe, to_dot, to_html

    model = load_model(model_path)
    known = [c.strip() for c in failed.split(",") if c.strip()]
    report = analyze(model, known, max_sets=max_sets, time_limit=time_limit)
    data = report.to_dict()
    designed = report
    if run_probes:
        probe_ctx = ProbeContext(_home(ctx))
        results = [run_probe(c.name, c.probe, probe_ctx, probe_timeout) for c in model.controls.values() if c.probe]
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
            out.print(_report_table(designed, f"{model.name}: as designed"))
        out.print(_report_table(report, f"{model.name}: {'current' if run_probes else 'analysis'}"))
        for s in report.spofs:
            out.print(f"single point of failure: {s['control']} opens {s['asset']}")
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
    from .depth import analyze, depth_diff, load_model

    result = depth_diff(analyze(load_model(old_path), max_sets=max_sets),
                        analyze(load_model(new_path), max_sets=max_sets))
    table = Table("asset", "old", "new", "change")
    for row in result["assets"]:
        table.add_row(row["asset"], str(row["old"]), str(row["new"]), row["change"])
    emit(result, as_json, table=table)
    if result["shallower"]:
        raise click.exceptions.Exit(1)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Run the issuer (ASGI, uvicorn)."""
    import uvicorn

    from .issuer import create_app

    context = _registry(ctx)
    home = _home(ctx)
    canary = home.canary_path(home.load_config())
    if canary is not None and canary.exists():  # every dump of this process carries the canaries
        from .dumps.canary import hold_canaries

        hold_canaries(canary)
    err.print(f"signward issuer on http://{host}:{port} (backend {context.tokens.signer.backend.name})")
    uvicorn.run(create_app(context), host=host, port=port, log_level="warning", access_log=False)


from . import cli_dumps, cli_lab  # noqa: E402,F401  (register `signward dumps`, `signward lab`)


def _fail(message: str, code: int) -> int:
    err.print(f"signward: {message}", markup=False)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (tests call it directly)."""
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = "-v" in args or "--verbose" in args
    try:
        rv = cli.main(args=args, prog_name="signward", standalone_mode=False)
        if isinstance(rv, int):  # click returns an Exit's code instead of raising it here
            return rv
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except click.UsageError as exc:
        return _fail(exc.format_message().splitlines()[0] if exc.format_message() else "usage error", 2)
    except click.Abort:
        return _fail("aborted", 2)
    except (SignwardError, ConfigError) as exc:
        if verbose:
            raise
        return _fail(exc.diagnostics(), exc.exit_code)
    except OSError as exc:
        if verbose:
            raise
        return _fail(f"{exc.strerror or exc}{': ' + str(exc.filename) if exc.filename else ''}", 3)
    except Exception as exc:  # a bug: still one line, still fail closed
        if verbose:
            raise
        return _fail(f"internal error: {type(exc).__name__}: {exc} (run with -v for the traceback)", 3)
    return 0


if __name__ == "__main__":
    sys.exit(main())
