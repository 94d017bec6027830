"""`signward hsm ...`: the embedded HSM process. Parse, call, print."""

from __future__ import annotations

import click
from rich.table import Table

from ..hsm import open_backend, server
from ..services import init_home
from .common import emit, home_of, json_option


@click.group()
def hsm() -> None:
    """The embedded HSM (SoftHSM2 behind p11-kit server)."""


@hsm.command("start")
@json_option
@click.pass_context
def hsm_start(ctx: click.Context, as_json: bool) -> None:
    """Start the HSM process (initialising the token on first use)."""
    home = home_of(ctx)
    config = init_home(home)
    info = server.start(home, config.hsm)
    emit(info, as_json, text=f"HSM {'started' if info['started'] else 'already running'} (pid {info['pid']}, "
                             f"socket {info['socket']})")


@hsm.command("stop")
@json_option
@click.pass_context
def hsm_stop(ctx: click.Context, as_json: bool) -> None:
    """Stop the HSM process."""
    was = server.stop(home_of(ctx))
    emit({"stopped": was}, as_json, text="HSM stopped" if was else "HSM was not running")


@hsm.command("status")
@json_option
@click.pass_context
def hsm_status(ctx: click.Context, as_json: bool) -> None:
    """Is the HSM reachable, and what does it hold? Exit 3 when it is not reachable."""
    home = home_of(ctx)
    backend = open_backend(home, home.load_config())
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


COMMANDS = [hsm]
