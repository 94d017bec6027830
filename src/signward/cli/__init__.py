"""The `signward` command: parse, call one function, print. Data to stdout, messages to stderr.

One module per command group (`hsm`, `keys`, `tokens`, `audit`, `depth`, `dumps`, `lab`,
`watch`, `guard`, `home`); this module builds the root group from them and maps errors to exit
codes: 0 yes/clean, 1 no/findings, 2 bad input or usage, 3 HSM or store unavailable.
`--home` and `--config` may come before or after the subcommand; so may an option of a group
(`debug request --credential F` as well as `debug --credential F request`). `signward` alone
prints the command groups (exit 0); `signward --version` the version.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Sequence
from importlib import metadata

import click

from ..errors import ConfigError, SignwardError, UsageError
from .common import Terminated, err

# each top-level command and the module (of this package) that defines it in its COMMANDS:
# a command's module is imported only when that command runs (or help lists them all), so
# `signward debug ...` does not pay for scipy and `signward depth ...` not for the HSM
COMMAND_MODULES = {"init": "home", "serve": "home", "config": "home", "hsm": "hsm", "realm": "keys",
                   "keys": "keys", "client": "tokens", "token": "tokens", "jws": "tokens", "audit": "audit",
                   "depth": "depth", "models": "depth", "dumps": "dumps", "debug": "dumps", "lab": "lab",
                   "watch": "watch", "guard": "guard"}


def _version() -> str:
    try:
        return metadata.version("signward")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


class LazyGroup(click.Group):
    """The root group, loading each command's module on first use (click's lazy-group recipe)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMAND_MODULES.get(cmd_name)
        if module is None:
            return None
        try:
            commands: list[click.Command] = importlib.import_module(f"{__package__}.{module}").COMMANDS
        except ModuleNotFoundError as exc:  # an extra that is not installed: one line, exit 2
            raise UsageError(f"`signward {cmd_name}` needs {exc.name}, which is not installed; install "
                             "signward[all] (or [issuer], [dumps], [depth], [guard])") from None
        return next(command for command in commands if command.name == cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of `signward` and `signward --help`; a command whose extra is not
        installed is still listed (with what to install) instead of failing the whole list."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            try:
                command = self.get_command(ctx, name)
                text = command.get_short_help_str(limit) if command is not None else ""
            except UsageError:
                text = "(not installed: install signward[all])"
            rows.append((name, text))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), "--version", prog_name="signward", message="%(prog)s %(version)s")
@click.option("--home", "home_dir", default=None, envvar="SIGNWARD_HOME",
              help="The signward home (default $SIGNWARD_HOME, else ./.signward).")
@click.option("--config", "config", default=None, envvar="SIGNWARD_CONFIG",
              help="Read the configuration from this TOML file instead of HOME/config.toml.")
@click.option("-v", "--verbose", is_flag=True, help="Log more, and show tracebacks.")
@click.pass_context
def cli(ctx: click.Context, home_dir: str | None, config: str | None, verbose: bool) -> None:
    """signward: token signing where no single failed control hands over a key.

    Start: `signward init`, `signward hsm start`, `signward realm create NAME --issuer URL`,
    `signward token issue --realm NAME --sub S` (README.md: the five-minute path). Every
    group's `--help` is its reference."""
    if ctx.invoked_subcommand is None:  # `signward` alone: the command groups, not a usage error
        click.echo(ctx.get_help())
        ctx.exit(0)
    ctx.ensure_object(dict)
    ctx.obj["home"] = home_dir
    ctx.obj["config"] = config
    ctx.obj["verbose"] = verbose
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


GLOBAL_OPTIONS = ("--home", "--config")
OWN_CONFIG = frozenset({"guard"})  # commands whose --config is their own file (GUARD.toml), not the home's


def hoist_global_options(args: list[str]) -> list[str]:
    """Move `--home X` / `--config X` (or `--home=X`) given after the subcommand to the front,
    so `signward hsm start --home H` works as well as `signward --home H hsm start`."""
    front: list[str] = []
    rest: list[str] = []
    command: str | None = None
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        name = arg.split("=", 1)[0]
        if command is None and not arg.startswith("-"):  # the values of global options were consumed
            command = arg
        if name in GLOBAL_OPTIONS and not (name == "--config" and command in OWN_CONFIG):
            if "=" in arg:
                front.append(arg)
            elif i + 1 < len(args):
                front.extend(args[i:i + 2])
                i += 1
            else:
                rest.append(arg)
        else:
            rest.append(arg)
        i += 1
    return front + rest


def _fail(message: str, code: int) -> int:
    err.print(f"signward: {message}", markup=False)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (tests call it directly)."""
    try:
        return _main(argv)
    except Terminated as stop:
        err.print(f"signward: stopped by signal {stop.signum}; temporary copies removed", markup=False)
        return 128 + stop.signum


def _main(argv: Sequence[str] | None) -> int:
    args = hoist_global_options(list(sys.argv[1:] if argv is None else argv))
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


__all__ = ["cli", "main"]
