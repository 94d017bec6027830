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
@click.option("--grpc-connections", default=1024, show_default=True, type=click.IntRange(1, 65536),
              help="gRPC connection slots; a newcomer over them displaces the connection idle the longest.")
@click.option("--grpc-per-peer", default=128, show_default=True, type=click.IntRange(1, 65536),
              help="gRPC connections from one peer address (at most --grpc-connections).")
@click.option("--grpc-handshake-seconds", default=5.0, show_default=True, type=click.FloatRange(0.05, 300),
              help="A gRPC connection without the HTTP/2 preface and SETTINGS by then is closed.")
@click.option("--grpc-idle-seconds", default=300.0, show_default=True, type=click.FloatRange(0.1, 86400),
              help="A gRPC connection with no complete call for this long is closed (bytes do not count).")
@click.pass_context
def guard(ctx: click.Context, guard_config: str, host: str, port: int, grpc_port: int | None,
          grpc_connections: int, grpc_per_peer: int, grpc_handshake_seconds: float, grpc_idle_seconds: float) -> None:
    """Serve the strict validator to proxies. With an existing home (--home), every refusal is
    written to its audit log and the home's tripwire and canary kids are honey kids."""
    from ..errors import UsageError
    from ..guard import GuardConfig, GuardService, run  # grpcio and protobuf: only this command needs them
    from ..guard.grpc_h2 import SlotLimits
    from ..guard.server import listen

    if grpc_per_peer > grpc_connections:
        raise UsageError(f"--grpc-per-peer {grpc_per_peer} is over --grpc-connections {grpc_connections}")
    slots = SlotLimits(connections=grpc_connections, per_peer=grpc_per_peer,
                       handshake_seconds=grpc_handshake_seconds, idle_seconds=grpc_idle_seconds)
    config = GuardConfig.load(guard_config)
    audit, honey, honey_keys = None, None, []
    if home_of(ctx).exists():
        opened = services(ctx)
        audit, honey = opened.audit, opened.honey_kids
        canary = opened.canary()  # in no key set: the guard checks their signatures with these
        honey_keys = list(canary.public()["keys"]) if canary is not None else []
    listening = listen(host, port, grpc_port)  # before the line below: a busy port is exit 2, named
    try:
        service = GuardService(config, audit=audit, honey=honey, honey_keys=honey_keys)
    except BaseException:
        listening.close()
        raise
    click.echo(f"signward guard on http://{host}:{listening.http_port}"
               + (f" and gRPC {host}:{listening.grpc_port}" if listening.grpc is not None else ""), err=True)
    run(service, host=host, port=port, grpc_port=grpc_port, listening=listening, slots=slots)


COMMANDS = [guard]
