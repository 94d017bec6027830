"""`signward init`, `signward serve` and `signward config check`: the home and its issuer."""

from __future__ import annotations

import socket

import click

from ..errors import UsageError
from ..home import Config, HsmConfig
from ..services import init_home
from .common import emit, err, home_of, ids_table, json_option, services


@click.command()
@click.option("--hsm-module", default="",
              help="Use this vendor PKCS#11 module instead of the embedded SoftHSM2 (its token and PIN "
                   "must exist: the PIN goes in HOME/hsm/pin, mode 0600, or name pin_env in the config).")
@click.option("--token-label", default="signward", show_default=True)
@click.option("--allow-insecure-software-keys", is_flag=True,
              help="INSECURE, lab only: sign with keys held in process memory.")
@json_option
@click.pass_context
def init(ctx: click.Context, hsm_module: str, token_label: str, allow_insecure_software_keys: bool,
         as_json: bool) -> None:
    """Create a home with its configuration and canary material."""
    home = home_of(ctx)
    hsm = HsmConfig(backend="software" if allow_insecure_software_keys else "pkcs11", module=hsm_module,
                    token_label=token_label, allow_insecure_software_keys=allow_insecure_software_keys)
    config = init_home(home, Config(hsm=hsm))
    emit({"home": str(home.root), "config_file": str(home.config_path), "config": config.to_dict()}, as_json,
         text=f"home ready at {home.root} (config {home.config_path})")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Issuer processes sharing the listening socket, each with its own HSM session pool; "
                   "a worker that dies is started again.")
@click.option("--limit-concurrency", default=1000, show_default=True, type=click.IntRange(1, 100_000),
              help="Connections and requests served at once (per worker); more get 503 at once.")
@click.option("--keep-alive", default=5, show_default=True, type=click.IntRange(1, 300),
              help="Seconds an idle keep-alive connection is held.")
@click.option("--head-timeout", default=10.0, show_default=True, type=click.FloatRange(0.1, 300),
              help="Seconds a request head may take to arrive; a slower connection is closed.")
@click.option("--fd", default=None, type=click.IntRange(0, 65535), hidden=True,
              help="Serve on this inherited listening socket (set by --workers for its children).")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int, limit_concurrency: int, keep_alive: int,
          head_timeout: float, fd: int | None) -> None:
    """Run the issuer (ASGI, uvicorn); it holds the home's canaries from its start. A request
    head must arrive within --head-timeout (the connection is closed otherwise) and is capped at
    16 KiB; a body must arrive within 10 s (408 otherwise)."""
    from ..issuer import server  # the issuer's extra (uvicorn, starlette): loaded only to serve
    from ..issuer import workers as workers_mod

    limits = ["--limit-concurrency", str(limit_concurrency), "--keep-alive", str(keep_alive),
              "--head-timeout", str(head_timeout)]
    if workers > 1 and fd is None:
        home = home_of(ctx)
        home.load_config()  # a bad configuration is refused here, not by N crash-looping workers
        listening = _listen(host, port)
        err.print(f"signward issuer on http://{host}:{port} ({workers} workers)")
        own_config = ["--config", str(home.config_path)] if ctx.find_root().obj.get("config") else []
        args = ["--home", str(home.root), *own_config, "serve", "--host", host, "--port", str(port), *limits]
        raise click.exceptions.Exit(workers_mod.supervise(listening, workers, args))
    sock = None
    if fd is not None:
        try:
            sock = workers_mod.socket_from_fd(fd)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    bound = sock is None
    if sock is None:  # bound before anything says it runs: a busy port is one line and exit 2
        sock = _listen(host, port)
    opened = services(ctx)
    if bound:
        err.print(f"signward issuer on http://{host}:{port} (backend {opened.backend.name})")
    server.run(opened.issuer_app(), host=host, port=port, limit_concurrency=limit_concurrency,
               keep_alive=keep_alive, head_timeout=head_timeout, sock=sock)


def _listen(host: str, port: int) -> socket.socket:
    """The issuer's listening socket, or UsageError naming the address (in use, not ours)."""
    from ..issuer import workers as workers_mod

    try:
        return workers_mod.bind(host, port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


@click.group()
def config() -> None:
    """The home's configuration."""


@config.command("check")
@json_option
@click.pass_context
def config_check(ctx: click.Context, as_json: bool) -> None:
    """Load the configuration and list every control it weakens (with the home: its canary file,
    the retention floor its realms' keys need, its approvers): exit 0 none, 1 some, 2 invalid."""
    home = home_of(ctx)
    home.load_config()  # an invalid configuration is exit 2 before the store is opened
    weakened = services(ctx).weakened_here()
    rows = [[w.setting, w.control, w.effect] for w in weakened]
    table = ids_table(f"weakened controls in {home.config_path}", ["setting", "control", "effect"], rows,
                      f"{len(weakened)} control(s) weakened")
    emit({"config_file": str(home.config_path), "weakened": [w.to_dict() for w in weakened]}, as_json,
         table=table if weakened else None, text=f"{home.config_path}: no control weakened")
    if weakened:
        raise click.exceptions.Exit(1)


COMMANDS = [init, serve, config]
