"""`signward client ...`, `signward token ...` and `signward jws ...`: clients, issuing and validating."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..errors import ConfigError
from ..safefile import read_text_file
from ..services import operator
from ..verify import Validator, load_jwks
from ..verify.sources import MAX_JWKS_BYTES, read_json_file
from .common import duration, emit, home_of, json_option, services


@click.group()
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
    made, secret = services(ctx).clients.create(realm_name, tenant, list(audiences), list(scopes))
    data = {"client_id": made.client_id, "client_secret": secret, "realm": made.realm, "tenant": made.tenant,
            "audiences": list(made.audiences), "scopes": list(made.scopes)}
    emit(data, as_json, text=f"client_id={made.client_id}\nclient_secret={secret}\n(the secret is not shown again)")


@click.group()
def token() -> None:
    """Access tokens."""


@token.command("issue")
@click.option("--realm", "realm_name", required=True)
@click.option("--sub", required=True)
@click.option("--tenant", default="default", show_default=True)
@click.option("--aud", "audience", default="api", show_default=True)
@click.option("--scope", default="")
@click.option("--ttl", type=float, default=None, help="Seconds; default and maximum: the realm's max token lifetime.")
@click.option("--client-id", default="signward-cli", show_default=True,
              help="The client_id claim (RFC 9068): who the token was issued to.")
@json_option
@click.pass_context
def token_issue(ctx: click.Context, realm_name: str, sub: str, tenant: str, audience: str, scope: str,
                ttl: float | None, client_id: str, as_json: bool) -> None:
    """Issue a token through the same HSM signing path as the service."""
    issued = services(ctx).tokens.issue(realm_name, sub=sub, audience=audience, tenant=tenant, scope=scope, ttl=ttl,
                                        client_id=client_id)
    emit({"access_token": issued.token, "kid": issued.kid, "jti": issued.jti, "expires_in": issued.expires_in,
          "claims": issued.claims}, as_json, text=issued.token)


@token.command("revoke")
@click.argument("jti")
@click.option("--reason", default="", help="Why (kept in the audit record).")
@json_option
@click.pass_context
def token_revoke(ctx: click.Context, jti: str, reason: str, as_json: bool) -> None:
    """Revoke an issued token by its jti: introspection answers inactive for it within 5 s on
    every replica (relying parties that cache an active answer see it within their cache time)."""
    opened = services(ctx)
    revoked = opened.issuance.revoke(jti)
    opened.audit.append(operator(), "token.revoke", revoked.kid, {"jti": jti, "realm": revoked.realm,
                                                                  "sub": revoked.sub, "reason": reason[:512]},
                        severity="warning")
    emit({"jti": jti, "realm": revoked.realm, "revoked_at": revoked.revoked_at}, as_json,
         text=f"revoked {jti} (realm {revoked.realm})")


def _read_token(token: str) -> str:
    text = sys.stdin.read() if token == "-" else token
    return text.strip()


HONEY_LIMIT = 1 << 20  # a honey list of more than 1 MiB is refused


def _honey(path: str | None) -> list[str]:
    if not path:
        return []
    try:
        lines = read_text_file(path, HONEY_LIMIT).splitlines()
    except ValueError as exc:
        raise ConfigError(f"cannot read honey list {path}: {exc}") from None
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
    trust: dict[str, str] = {}
    for item in trusts:
        issuer, sep, source = item.partition("=")
        if not sep or not issuer or not source:
            raise ConfigError(f"--trust wants ISSUER=SOURCE, not {item!r}")
        trust[issuer] = source
    on_reject = None
    honey_keys: list[dict[str, Any]] = []
    ctx = click.get_current_context()
    if home_of(ctx).exists():  # with a home, every rejection is audited (alerts at alert severity)
        audit_log = services(ctx).audit
        canary = services(ctx).pipeline.canary()  # in no key set: a canary alert needs its public key
        honey_keys = list(canary.public()["keys"]) if canary is not None else []

        def on_reject(event: dict[str, Any]) -> None:
            audit_log.append("validator", "token.reject", str(event.get("kid") or ""),
                             {k: v for k, v in event.items() if k not in ("event", "severity")},
                             severity=str(event["severity"]))

    with Validator(trust=trust, audience=audience, honey=_honey(honey_kids), clock_skew=clock_skew,
                   max_lifetime=duration(max_lifetime), require_at_jwt=not allow_plain_jwt,
                   on_reject=on_reject, honey_keys=honey_keys) as validator:
        verdict = validator.verify(_read_token(token_arg))
    emit(verdict.to_dict(), as_json,
         text=f"valid (issuer {verdict.issuer}, kid {verdict.kid})" if verdict.valid
         else f"rejected: {verdict.reason.value if verdict.reason else '?'}"
              + (f" ({verdict.detail})" if verdict.detail else ""))
    if not verdict.valid:
        raise click.exceptions.Exit(1)


@click.group()
def jws() -> None:
    """JWS-level checks (header and signature rules, any payload)."""


@jws.command("verify")
@click.argument("token_arg", metavar="TOKEN")
@click.option("--jwks", "jwks_path", required=True, help="A JWKS file.")
@click.option("--honey-kids", default=None)
@json_option
def jws_verify(token_arg: str, jwks_path: str, honey_kids: str | None, as_json: bool) -> None:
    """Check a compact JWS against a JWKS file: exit 0 valid, 1 rejected."""
    try:
        document = read_json_file(jwks_path, MAX_JWKS_BYTES)
        keys = load_jwks(document, None, jwks_path)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot load JWKS {jwks_path}: {exc}") from exc
    with Validator(trust={"jws:": jwks_path}, audience="-", honey=_honey(honey_kids)) as validator:
        verdict = validator.verify_jws(_read_token(token_arg), keys)
    emit(verdict.to_dict(), as_json, text="valid" if verdict.valid
         else f"rejected: {verdict.reason.value if verdict.reason else '?'}")
    if not verdict.valid:
        raise click.exceptions.Exit(1)



COMMANDS = [client, token, jws]
