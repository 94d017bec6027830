"""What every command module shares: the consoles, output, durations, and the home's services.

Each command group lives in its own module and imports only this one (and the library);
`signward.cli` puts the groups together. No command module imports another.
"""

from __future__ import annotations

import json
import signal
import threading
from typing import Any, cast

import click
from rich.console import Console
from rich.table import Table

from ..config_values import parse_duration
from ..errors import DumpRefused
from ..home import Home
from ..safefile import check_target, write_file
from ..services import Services, open_services

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

json_option = click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON document.")
force_option = click.option("--force", is_flag=True,
                            help="Replace an existing file this command did not write (never a directory).")


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived during a dump command: unwind so every `finally` runs (the
    temporary copies of a dump are removed on this path too); `main` exits 128 + the signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _terminate(signum: int, frame: object) -> None:
    raise Terminated(signum)


def clean_up_on_signals() -> None:
    """For commands that hold temporary copies of dumps (not `serve`, whose server handles its
    own signals)."""
    if threading.current_thread() is threading.main_thread():
        for number in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(number, _terminate)


def duration(text: str) -> float:
    """'30d', '1h', '90s' or plain seconds (zero allowed: a lead time may be none)."""
    return parse_duration(text, "duration", allow_zero=True)


def emit(data: Any, as_json: bool, table: Table | None = None, text: str | None = None) -> None:
    """Exactly one JSON document with --json; else the table or the text."""
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
    elif table is not None:
        out.print(table)
    elif text is not None:
        click.echo(text)


def refused(refusal: DumpRefused, as_json: bool, text: str) -> None:
    """The one shape of a refusal (`status`, `reason`, `detail`, what the step knew); exit 1."""
    emit(refusal.to_dict(), as_json, text=text)
    raise click.exceptions.Exit(1)


def write_output(path: str, text: str, *, force: bool, mark: str | None, what: str) -> None:
    """Every file a command writes: through `signward.safefile` (a new file or one of its own,
    never through a link, renamed into place; `--force` to replace another); exit 2 naming it."""
    write_file(path, text, force=force, mark=mark, what=what)


def check_output(path: str | None, *, force: bool, mark: str | None, what: str) -> None:
    """Before long work: exit 2 now if `write_output` would refuse `path` at the end."""
    if path is not None:
        check_target(path, force=force, mark=mark, what=what)


def home_of(ctx: click.Context) -> Home:
    root = ctx.find_root().obj
    return Home(root["home"], root.get("config"))


def services(ctx: click.Context) -> Services:
    """The home's services, opened once per command and closed when it ends."""
    root = ctx.find_root()
    opened = root.obj.get("services")
    if opened is None:
        opened = open_services(home_of(ctx))
        root.obj["services"] = opened
        root.call_on_close(opened.close)
    return cast(Services, opened)


def ids_table(title: str | None, columns: list[str], rows: list[list[str]], summary: str = "") -> Table:
    """A table whose first column holds ids the next command needs: never truncated (the
    column is as wide as its longest id; the other columns wrap), with a summary line."""
    table = Table(title=title, caption=summary or None)
    width = max([len(columns[0]), *(len(r[0]) for r in rows)])
    table.add_column(columns[0], no_wrap=True, min_width=width)
    for column in columns[1:]:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


__all__ = ["Terminated", "check_output", "clean_up_on_signals", "duration", "emit", "err", "force_option", "home_of", "ids_table", "json_option", "out", "refused", "services", "write_output"]
