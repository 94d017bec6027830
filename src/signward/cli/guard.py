"""`signward guard`: the strict validator as a service for Envoy, nginx and Traefik."""

from __future__ import annotations

import click

from .common import home_of, services


@click.command("guard")
@click.option("--config", "guard_config", required=True, type=click.Path(dir_okay=False),
              help="GUARD.toml: trusted issuers, routes, claim headers (see the README).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Listen here; only the proxies should reach the guard.")
@click.option("--port", default=8181, show_default=True, type=click.IntRange(0, 65535),
              help="HTTP: Envoy HTTP ext_authz, nginx auth_request, Traefik ForwardAuth, /healthz, /metrics.")
@click.option("--grpc-port", default=None, type=click.IntRange(0, 65535),
              help="Envoy ext_authz over gRPC on this port (off without it).")
@click.pass_context
def guard(ctx: click.Context, guard_config: str, host: str, port: int, grpc_port: int | None) -> None:
    """Serve the strict validator to proxies. With an existing home (--home), every refusal is
    written to its audit log and the home's tripwire and canary kids are honey kids."""
    from ..guard import GuardConfig, GuardService, run  # grpcio and protobuf: only this command needs them

    config = GuardConfig.load(guard_config)
    audit, honey, honey_keys = None, None, []
    if home_of(ctx).exists():
        opened = services(ctx)
        audit, honey = opened.audit, opened.honey_kids
        canary = opened.pipeline.canary()  # in no key set: the guard checks their signatures with these
        honey_keys = list(canary.public()["keys"]) if canary is not None else []
    service = GuardService(config, audit=audit, honey=honey, honey_keys=honey_keys)
    click.echo(f"signward guard on http://{host}:{port}" + (f" and gRPC {host}:{grpc_port}" if grpc_port else ""),
               err=True)
    run(service, host=host, port=port, grpc_port=grpc_port)


COMMANDS = [guard]
