"""The scanner reads od listings of several types per type and hexdump cells that touch by width
(typed_rows.py, red team rt18 group B: `od -td4 -tx4`, `od -tx1 -td4`, `od -tu2 -c`,
`hexdump -e '8/2 "%6d"'` were certified with the key recoverable). Fixed keys (tests/scan/typed_forms)."""

from __future__ import annotations

import random
import subprocess
import time
from pathlib import Path

import pytest

from signward.dumps import sanitize
from signward.home import Home
from signward.scan import typed_rows as module
from signward.scan.scanner import scan_path
from signward.scan.typed_rows import typed_rows
from signward.scan.word_rows import word_rows
from signward.services import init_home
from tests.scan.material import known
from tests.scan.typed_forms import EC, FORMS, KEYS, POST, PRE, TOOLS, hexdump_cells, memory, od

LAYOUT = {"od -td4 -tx4": "od row type", "od -tx4 -td4": "od row type", "od -tx1 -td4": "od row type",
          "od -tu2 -c": "od row type", "hexdump -e 8/2 %6d": "fixed-width cells of 6",
          "od -An -td4 -tx4": "od -An row type", "od -An -tu2 -c": "od -An row type",
          "od -td4 -tx4 | awk": "od row type",
          "od -td4 -tx4 | unexpand": "od row type", "od -td4 -tx4 | unexpand -a": "od row type",
          "hexdump -e 4/4 %8x": "fixed-width hex cells of 8",
          "hexdump -e %08_ax: 4/4 %11d": "fixed-width cells of 11 behind a column of 10",
          "hexdump -e %07_ad 8/2 %6d": "fixed-width cells of 6 behind a column of 7"}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    made = Home(tmp_path_factory.mktemp("typedrows") / "home")
    init_home(made)
    return made


@pytest.mark.parametrize("form", sorted(TOOLS))
def test_the_forms_are_what_the_tools_print(form: str) -> None:
    data = memory(KEYS["ec"])
    try:
        done = subprocess.run(TOOLS[form], input=data, capture_output=True, check=False)
    except FileNotFoundError:
        pytest.skip(f"{TOOLS[form][0]} is not installed")
    assert done.returncode == 0 and done.stdout == FORMS[form](data), (done.stdout[:200], FORMS[form](data)[:200])


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("key", sorted(KEYS))
def test_each_type_s_rows_are_read_as_one_block(form: str, key: str) -> None:
    """The key's bytes are read whole by this layout's reading, never by word_rows on the raw rows
    (rows of two types alternate; cells touch), and the view spans the listing's rows."""
    printed = FORMS[form](memory(KEYS[key]))
    data = PRE + printed + POST
    assert not any(KEYS[key] in view[2] for view in word_rows(data, 0, len(data)))
    ours = [view for view in typed_rows(data, 0, len(data)) if KEYS[key] in view[2]]
    assert ours and all(LAYOUT[form] in view[4] for view in ours), ours
    rows = printed.rstrip(b"\n")
    if form.startswith("od") and "-An" not in form:
        rows = rows[:rows.rindex(b"\n")]  # (the last offset alone prints no byte)
    assert any(view[0] == len(PRE) and view[1] == len(PRE) + len(rows) for view in ours), [v[:2] for v in ours]


@pytest.mark.parametrize("form", sorted(FORMS))
def test_a_key_in_rows_of_several_types_is_found_by_the_scanner(tmp_path: Path, form: str) -> None:
    path = tmp_path / "app.log"
    path.write_bytes(PRE + FORMS[form](memory(KEYS["ec"])) + POST)
    report = scan_path(path, known=known(EC))
    found = [f for f in report.findings if not f.advisory and LAYOUT[form] in f.detail]
    assert report.incomplete == [] and {f.kind for f in found} & {"pkcs8-ec", "ec-private-scalar"}, report.findings


def test_sanitize_removes_a_key_printed_by_od_with_two_types(tmp_path: Path, home: Home) -> None:
    printed = FORMS["od -td4 -tx4"](memory(KEYS["ec"]))
    path = tmp_path / "app.log"
    path.write_bytes(PRE + printed + POST)
    out = tmp_path / "out.log"
    result = sanitize(path, out, home, known(EC))
    assert result.status == "clean"
    cleaned = out.read_bytes()
    assert len(cleaned) == len(PRE + printed + POST)
    assert not any(line in cleaned for line in printed.splitlines()[:-1])  # every row of both types redacted


def test_cells_apart_or_of_another_width_are_left_to_word_rows() -> None:
    """The widest width that cuts every row into numbers is taken, and only when cells touch: the
    same words printed `%7d` (a blank before each) are no touching cells."""
    data = memory(KEYS["ec"])
    apart = hexdump_cells(data, 7)
    assert not list(module._touching(apart, 0, len(apart)))
    lines = hexdump_cells(data).splitlines()
    assert module._width(lines) == 6
    assert module._width([b"  1234-12345 12345 -1234", b" 12345  1234-12345  9999"]) == 6  # (3 cuts them too)


def test_od_rows_behind_other_blanks_are_no_second_type() -> None:
    """A line after an offset row that is not behind blanks as wide as the offset ends the listing."""
    printed = od(memory(KEYS["ec"]), "x4", "d4")
    assert [view for view in module._od_types(printed, 0, len(printed)) if KEYS["ec"] in view[2]]
    printed = printed.replace(b"\n       ", b"\n      x")  # (the hex rows alone are read by printed.py)
    assert not [view for view in module._od_types(printed, 0, len(printed)) if KEYS["ec"] in view[2]]


def test_numbers_in_ordinary_text_cost_little_and_read_as_nothing(tmp_path: Path) -> None:
    """A log with counters and an indented listing behind octal counts: no view; a fixed-width table
    of numbers whose cells touch is read (cells of 5) and holds no key. Each in bounded time."""
    log = b"".join(b"2026-12-07 00:%02d:%02d.%03d INFO worker-%d requests=%d bytes=%d status=200\n"
                   % (i // 60 % 60, i % 60, i % 1000, i % 16, i * 37, i * 7919) for i in range(5_000))
    listing = b"".join(b"%07o build step %d\n        took %d ms\n" % (i * 16, i, i % 977) for i in range(3_000))
    table = b"".join(b"".join(b"%5d" % ((i * 7_919 + j * 104_729) % 100_000) for j in range(8)) + b"\n"
                     for i in range(3_000))
    for data, expect in ((log, False), (listing, False), (table, True)):
        started = time.process_time()
        views = list(typed_rows(data, 0, len(data)))
        assert time.process_time() - started < 4, time.process_time() - started
        assert bool(views) == expect and all("cells of 5" in view[4] for view in views), views[:2]
    path = tmp_path / "table.txt"
    path.write_bytes(table)
    report = scan_path(path)
    assert report.incomplete == [] and [f for f in report.findings if not f.advisory] == [], report.findings[:2]


@pytest.mark.parametrize("form", ["od -An -td4 -tx4", "od -td4 -tx4 | awk", "hexdump -e 4/4 %8x",
                                  "hexdump -e %07_ad 8/2 %6d"])
def test_sanitize_removes_a_key_in_the_rt19_forms(tmp_path: Path, home: Home, form: str) -> None:
    printed = FORMS[form](memory(KEYS["ec"]))
    path = tmp_path / "app.log"
    path.write_bytes(PRE + printed + POST)
    out = tmp_path / "out.log"
    result = sanitize(path, out, home, known(EC))
    assert result.status == "clean"
    cleaned = out.read_bytes()
    assert len(cleaned) == len(PRE + printed + POST) and not any(line in cleaned for line in printed.splitlines()[1:-1])


def test_od_An_types_are_the_period_of_the_rows_forms() -> None:
    """Without offsets the types repeat every P lines (P found on the rows' forms: decimal, hex of one
    width, characters); rows of one type only, neighbours alike, are no listing of several types."""
    data = memory(KEYS["ec"])
    assert module._period(od(data, "d4", "x4", offsets=False).splitlines()) == 2
    assert module._period(od(data, "d4", "x4", "c", offsets=False).splitlines()) == 3
    single = od(data, "d4", offsets=False)
    assert module._period(single.splitlines()) is None
    assert not list(module._od_types(single, 0, len(single)))


def test_line_numbers_are_dropped_only_when_they_count_by_one() -> None:
    numbered = b"".join(b"%d %s" % (3 * n + 1, line) for n, line in enumerate(od(memory(KEYS["ec"]), "d4", "x4")
                                                                               .splitlines(True)))
    assert not [view for view in module._od_types(numbered, 0, len(numbered)) if KEYS["ec"] in view[2]]
    counted = FORMS["od -td4 -tx4 | awk"](memory(KEYS["ec"]))
    assert [view for view in module._od_types(counted, 0, len(counted)) if KEYS["ec"] in view[2]]


def test_hex_cells_are_read_at_every_word_width_up_to_the_widest() -> None:
    """`%8x` cells whose every other cell is full look like cells of 16: the 8-digit cut is read too."""
    data = bytes.fromhex("a1b2c3d4" * 2) + memory(KEYS["ec"])
    lines = hexdump_cells(data, 8, 4, "x").splitlines()
    full = b"\n".join(line[:8] + line[8:16].replace(b" ", b"f") + line[16:24] + line[24:].replace(b" ", b"f")
                      for line in lines) + b"\n"  # (a blank in cells 2 and 4 of no row: 16 cuts them)
    assert module._width(full.splitlines(), module._HEX_CELL) == 16
    views = list(module._touching(full, 0, len(full)))
    assert {view[4].split("(")[-1] for view in views} >= {"fixed-width hex cells of 16)", "fixed-width hex cells of 8)"}


def test_cells_behind_an_offset_column_are_cut_after_it() -> None:
    printed = FORMS["hexdump -e %07_ad 8/2 %6d"](memory(KEYS["ec"]))
    other = printed.replace(b"\n0", b"\n-")  # (a column that is no offset: no cut after it)
    assert not [view for view in module._touching(other, 0, len(other)) if KEYS["ec"] in view[2]]
    assert [view for view in module._touching(printed, 0, len(printed)) if KEYS["ec"] in view[2]]


def test_od_of_random_bytes_in_two_types_is_certified_in_seconds(tmp_path: Path) -> None:
    """400 KB of random bytes in `od -td4 -tx4` (a 2.8 MB listing, 25,000 rows a type): nothing found."""
    path = tmp_path / "mem.txt"
    path.write_bytes(od(random.Random(7).randbytes(400_000), "d4", "x4"))
    started = time.process_time()
    report = scan_path(path)
    assert time.process_time() - started < 40, time.process_time() - started
    assert report.incomplete == [] and [f for f in report.findings if not f.advisory] == [], report.findings[:2]
