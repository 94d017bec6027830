"""The independent reader reads od listings of several types per type and hexdump cells that touch
by width (recheck_typedrows.py, red team rt18 group B: `od -td4 -tx4`, `od -tx1 -td4`, `od -tu2 -c`,
`hexdump -e '8/2 "%6d"'` were certified with the key recoverable: no other view of the reader finds
anything in them). Fixed keys (tests/scan/typed_forms)."""

from __future__ import annotations

import random
import time

import pytest

from signward.scan import recheck_typedrows as reader
from signward.scan import recheck_words
from signward.scan.knownkeys import KnownKeys
from signward.scan.recheck import Budget, _Reader, recheck_bytes
from signward.scan.recheck_codecs import MAX_CANDIDATES
from tests.scan.typed_forms import FORMS, KEYS, POST, PRE, hexdump_cells, memory, od

VIEW = {"od -td4 -tx4": "> od rows of one type > word rows (", "od -tx4 -td4": "> od rows of one type > word rows (",
        "od -tx1 -td4": "> od rows of one type > word rows (", "od -tu2 -c": "> od rows of one type > word rows (",
        "hexdump -e 8/2 %6d": "> fixed-width cells > word rows (decimal, 2-byte, little)",
        "od -An -td4 -tx4": "> od -An rows of one type > word rows (",
        "od -An -tu2 -c": "> od -An rows of one type > word rows (",
        "od -td4 -tx4 | awk": "> od rows of one type > word rows (",
        "od -td4 -tx4 | unexpand": "> od rows of one type > word rows (",
        "od -td4 -tx4 | unexpand -a": "> od rows of one type > word rows (",
        "hexdump -e 4/4 %8x": "> fixed-width cells > word rows (decimal, 4-byte, little)",
        "hexdump -e %08_ax: 4/4 %11d": "> fixed-width cells > word rows (decimal, 4-byte, little)",
        "hexdump -e %07_ad 8/2 %6d": "> fixed-width cells > word rows (decimal, 2-byte, little)"}


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("key", sorted(KEYS))
def test_a_key_in_rows_of_several_types_is_found_by_this_reading_alone(form: str, key: str) -> None:
    printed = FORMS[form](memory(KEYS[key]))
    report = recheck_bytes(PRE + printed + POST, name="dump.txt")
    ours = [f for f in report.findings if VIEW[form] in f.view]
    assert ours and {f.kind for f in ours} == {"der"}, (report.findings, report.incomplete)
    assert [f for f in report.findings if f not in ours] == [], report.findings  # only this reading finds it
    rows = printed.rstrip(b"\n")
    if form.startswith("od") and "-An" not in form:
        rows = rows[:rows.rindex(b"\n")]  # (the last offset alone prints no byte)
    assert any(f.span == (len(PRE), len(PRE) + len(rows)) for f in ours), [f.span for f in ours]


def test_every_type_is_read_apart() -> None:
    """`od -tx1 -td4`: the hex bytes of the first type and the decimal words of the second both read."""
    report = recheck_bytes(PRE + od(memory(KEYS["ec"]), "x1", "d4") + POST, name="dump.txt")
    views = {f.view for f in report.findings}
    assert {"dump.txt > od rows of one type > word rows (hex, 1-byte, bytes)",
            "dump.txt > od rows of one type > word rows (decimal, 4-byte, little)"} <= views, views


def test_rows_not_behind_blanks_as_wide_as_the_offset_are_no_second_type() -> None:
    printed = od(memory(KEYS["ec"]), "u2", "c").replace(b"\n       ", b"\n      x")
    assert not [f for f in recheck_bytes(PRE + printed + POST, name="dump.txt").findings
                if "od rows of one type" in f.view]


def test_cells_are_split_by_the_widest_width_only_when_they_touch() -> None:
    lines = hexdump_cells(memory(KEYS["ec"])).splitlines()
    assert reader._width(lines) == 6
    assert reader._width([b"  1234-12345 12345 -1234", b" 12345  1234-12345  9999"]) == 6  # (3 cuts them too)
    assert reader._width(hexdump_cells(memory(KEYS["ec"]), 7).splitlines()) is None  # a blank before every cell
    report = recheck_bytes(PRE + hexdump_cells(memory(KEYS["ec"]), 7) + POST, name="dump.txt")
    assert not [f for f in report.findings if "fixed-width cells" in f.view]


def test_numbers_in_ordinary_text_are_certified_and_read_quickly() -> None:
    """A log with counters, an indented build listing behind octal counts and a fixed-width table of
    numbers (cells of 5 that touch): nothing found, each in a few seconds."""
    log = b"".join(b"2026-12-07 00:%02d:%02d.%03d INFO worker-%d requests=%d bytes=%d status=200\n"
                   % (i // 60 % 60, i % 60, i % 1000, i % 16, i * 37, i * 7919) for i in range(2_000))
    listing = b"".join(b"%07o build step %d\n        took %d ms\n" % (i * 16, i, i % 977) for i in range(3_000))
    table = b"".join(b"".join(b"%5d" % ((i * 7_919 + j * 104_729) % 100_000) for j in range(8)) + b"\n"
                     for i in range(3_000))
    for data in (log, listing, table):
        started = time.process_time()
        report = recheck_bytes(data, name="app.log")
        assert time.process_time() - started < 10, time.process_time() - started
        assert report.findings == [] and report.incomplete == [], (report.findings[:2], report.incomplete)


def test_od_An_types_repeat_with_a_period_of_the_rows_shapes() -> None:
    """Without offsets the types repeat every P lines; one type alone (neighbours alike) is none."""
    data = memory(KEYS["ec"])
    shapes = [reader._shape(line) for line in od(data, "d4", "x4", offsets=False).splitlines()]
    assert reader._repeats(shapes) == 2
    assert reader._repeats([reader._shape(line) for line in od(data, "u2", "x4", "c", offsets=False).splitlines()]) == 3
    single = od(data, "d4", offsets=False)
    assert reader._repeats([reader._shape(line) for line in single.splitlines()]) == 0
    assert not [f for f in recheck_bytes(PRE + single + POST, name="dump.txt").findings if "od -An rows" in f.view]


def test_line_numbers_are_dropped_when_they_count_by_one_only() -> None:
    listing = od(memory(KEYS["ec"]), "d4", "x4")
    skipping = b"".join(b"%d %s" % (2 * n + 1, line) for n, line in enumerate(listing.splitlines(True)))
    assert not [f for f in recheck_bytes(PRE + skipping + POST, name="dump.txt").findings
                if "od rows of one type" in f.view]
    lines = reader._lines(FORMS["od -td4 -tx4 | awk"](memory(KEYS["ec"])), 0, 200)
    assert lines[0][2].startswith(b"0000000 ") and lines[1][2].startswith(b" " * 11)


def test_hex_cells_are_read_at_each_word_width_up_to_the_widest() -> None:
    """`%8x` cells whose every other cell is full would be cut by 16 alone: 8 is read too."""
    lines = hexdump_cells(bytes.fromhex("a1b2c3d4" * 2) + memory(KEYS["ec"]), 8, 4, "x").splitlines()
    full = [line[:8] + line[8:16].replace(b" ", b"f") + line[16:24] + line[24:].replace(b" ", b"f") for line in lines]
    assert reader._width(full, reader._HEXNUMBER) == 16
    text = b"\n".join(full) + b"\n"
    widths = {len(rows[0][3]) for rows in reader._cells(text, 0, len(text)) if rows[0] is not None}
    assert {2, 4} <= widths, widths  # (cells of 16 and of 8: 2 and 4 a row)


def test_cells_behind_a_column_that_is_an_offset_only_are_cut_after_it() -> None:
    printed = FORMS["hexdump -e %07_ad 8/2 %6d"](memory(KEYS["ec"]))
    other = printed.replace(b"\n0", b"\n-")
    assert not [f for f in recheck_bytes(PRE + other + POST, name="dump.txt").findings if "fixed-width" in f.view]
    assert [f for f in recheck_bytes(PRE + printed + POST, name="dump.txt").findings if "fixed-width" in f.view]


def test_od_of_random_bytes_in_two_types_is_read_within_the_word_row_block_budget() -> None:
    """400 KB of random bytes in `od -td4 -tx4`: the word-row reader sees rows of two types alternate,
    a block of two lines per 112 bytes (25,000 > the 22,734 of the candidate cap alone): within its
    budget, no finding."""
    printed = od(random.Random(7).randbytes(400_000), "d4", "x4")
    assert (MAX_CANDIDATES + len(printed) // 1024) < printed.count(b"\n") // 2
    rows = _Reader(KnownKeys(), Budget.for_size(len(printed)))
    started = time.process_time()
    recheck_words.read_words(rows, printed, "mem.txt", 0)  # (was Oversized: more than 22734 word-row blocks)
    assert time.process_time() - started < 20, time.process_time() - started
    assert rows.report.findings == [] and rows.report.incomplete == [], rows.report.incomplete
