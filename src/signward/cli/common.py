"""What every command module shares: the consoles, output, durations, and the home's services.

Tables are for people: one that fits the terminal prints as a table; one that does not, and
every table written to a pipe or a file, prints as one record per block of `key: value` lines,
so no id or timestamp is ever cut or wrapped (`--json` is the format for programs).

Each command group lives in its own module and imports only this one (and the library);
`signward.cli` puts the groups together. No command module imports another.
"""

from __future__ import annotations

import json
import re
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import click
from rich.console import Console, Group
from rich.errors import MarkupError
from rich.table import Table
from rich.text import Text

from ..config_values import parse_duration
from ..errors import DumpRefused, SignwardError
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
        print_table(table)
    elif text is not None:
        click.echo(text)


def _plain(cell: object) -> str:
    """A cell's text as a reader sees it (rich markup in a string rendered, not shown)."""
    if isinstance(cell, Text):
        return cell.plain
    if isinstance(cell, str):
        try:
            return Text.from_markup(cell).plain
        except MarkupError:
            return cell
    return str(cell)


def table_records(table: Table) -> str:
    """The table as one block of `key: value` lines per row, keys aligned, values never cut or
    wrapped (a value over several lines continues indented under its key); the title first and
    the caption (the summary) last."""
    headers = [_plain(column.header) for column in table.columns]
    cells = [[_plain(cell) for cell in column.cells] for column in table.columns]
    width = max((len(h) for h in headers), default=0) + 1
    blocks: list[str] = []
    for row in range(table.row_count):
        lines = []
        for header, column in zip(headers, cells, strict=True):
            value = column[row] if row < len(column) else ""
            first, *more = value.split("\n") if value else [""]
            lines.append(f"{header + ':':<{width}} {first}".rstrip())
            lines += [" " * (width + 1) + line for line in more]
        blocks.append("\n".join(lines))
    parts = [_plain(table.title)] if table.title else []
    parts.append("\n\n".join(blocks))
    if table.caption:
        parts.append(_plain(table.caption))
    return "\n".join(part for part in parts if part)


def table_fits(table: Table, width: int) -> bool:
    """Whether every cell fits on its lines at its natural width (so nothing would be wrapped)."""
    natural = [max([len(_plain(column.header)),
                    *(len(line) for cell in column.cells for line in _plain(cell).split("\n"))])
               for column in table.columns]
    return sum(natural) + 3 * len(natural) + 1 <= width


def print_table(table: Table | Group) -> None:
    """A table on a terminal wide enough for it; else (a pipe, a file, a narrow terminal) records.
    A group (tables and lines of text) prints each part so."""
    if isinstance(table, Group):
        for part in table.renderables:
            if isinstance(part, (Table, Group)):
                print_table(part)
            elif out.is_terminal:
                out.print(part)
            else:
                click.echo(_plain(part))
    elif out.is_terminal and table_fits(table, out.width):
        out.print(table)
    else:
        click.echo(table_records(table))
        if table.row_count:
            click.echo()


SCRATCH_PATH = re.compile(r"/proc/(?:self|\d+)/fd/\d+")  # as signward.scan.scratch.PRIVATE_PATH


@contextmanager
def naming(path: str) -> Iterator[None]:
    """Errors raised while working on the user's file name that file, not the private copy the
    work happens on (/proc/self/fd/N)."""
    try:
        yield
    except (SignwardError, ValueError, OSError) as exc:
        if any(isinstance(arg, str) and SCRATCH_PATH.search(arg) for arg in exc.args):
            exc.args = tuple(SCRATCH_PATH.sub(path, arg) if isinstance(arg, str) else arg for arg in exc.args)
        for name in ("detail", "filename"):
            value = getattr(exc, name, None)
            if isinstance(value, str) and SCRATCH_PATH.search(value):
                try:
                    setattr(exc, name, SCRATCH_PATH.sub(path, value))
                except AttributeError:
                    pass
        raise


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


__all__ = ["Terminated", "check_output", "clean_up_on_signals", "duration", "emit", "err", "force_option", "home_of",
           "ids_table", "json_option", "naming", "out", "print_table", "refused", "services", "table_fits",
           "table_records", "write_output"]
