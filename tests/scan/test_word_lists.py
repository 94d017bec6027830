"""Memory printed as LISTS of 2-, 4- or 8-byte words (red team rt18 group A, issue #32): Python lists
and tuples (decimal, signed, `hex()` strings), JSON arrays (one a line too), Java `int[]`/`long[]`,
C `uint16_t`/`uint32_t`/`uint64_t` initializers, Go slices, Rust `{:x?}`, node's `Uint32Array`,
numpy str/repr (2-D too), gdb `p/x` / `p/d`. `sanitize` certified each with the key recoverable
before; here the scanner's `word_lists.py` and the reader's `recheck_wordlists.py` each find it.
Fixed keys: which words are full (the rule reads runs of them) depends on the key's bytes."""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from signward.dumps import sanitize
from signward.home import Home
from signward.scan import recheck_wordlists as reader
from signward.scan import word_lists as scanner
from signward.scan.recheck import recheck_bytes
from signward.scan.scanner import scan_path
from signward.scan.word_lists import word_lists
from signward.services import init_home
from tests.scan.material import known

EC = ec.derive_private_key(0x3A41C0FFEE5EED5BADC0DE0123456789ABCDEF0FEDCBA98765432100DEADBEEF, ec.SECP256R1())
DER = EC.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
MEMORY = bytes(range(0x40, 0x50)) + DER + bytes(range(0x60, 0x60 + (-(16 + len(DER)) % 16)))  # 16-byte aligned
PRE = b"crash report for pid 4242\nregion dump follows\n"
POST = b"\nend of region\n"


def _words(size: int, signed: bool = False, order: str = "little") -> list[int]:
    return [int.from_bytes(MEMORY[i:i + size], order, signed=signed)  # type: ignore[arg-type]
            for i in range(0, len(MEMORY), size)]


def _rows(cells: list[str], per: int, indent: str = "    ") -> str:
    return "\n".join(indent + ", ".join(cells[i:i + per]) + "," for i in range(0, len(cells), per))


def _np_str(cells: list[str], per: int) -> str:
    width = max(map(len, cells))
    rows = [" ".join(c.rjust(width) for c in cells[i:i + per]) for i in range(0, len(cells), per)]
    return "[" + "\n ".join(rows) + "]"


FORMS: dict[str, Callable[[], str]] = {
    "python list i32": lambda: str(_words(4, True)),
    "python list u16": lambda: str(_words(2)),
    "python list i64": lambda: str(_words(8, True)),
    "python tuple u32": lambda: str(tuple(_words(4))),
    "python hex() strings": lambda: str([hex(w) for w in _words(4)]),
    "python list i32 big-endian": lambda: str(_words(4, True, "big")),
    "json u32": lambda: json.dumps({"key": _words(4)}),
    "json i32 indented": lambda: json.dumps({"key": _words(4, True)}, indent=2),
    "json u16": lambda: json.dumps({"key": _words(2)}),
    "java int[]": lambda: "int[] key = new int[]{" + ", ".join(map(str, _words(4, True, "big"))) + "};",
    "java long[]": lambda: "long[] k = new long[]{" + ", ".join(f"{w}L" for w in _words(8, True, "big")) + "};",
    "c uint32_t 0x..U": lambda: "static const uint32_t key[] = {\n" + _rows([f"0x{w:08X}U" for w in _words(4)], 4)
    + "\n};",
    "c uint64_t 0x..ULL": lambda: "static const uint64_t key[] = {\n"
    + _rows([f"0x{w:016x}ULL" for w in _words(8)], 3) + "\n};",
    "c uint16_t decimal": lambda: "static const uint16_t key[] = {\n" + _rows([f"{w:5d}" for w in _words(2)], 12)
    + "\n};",
    "go []uint32": lambda: "[" + " ".join(map(str, _words(4))) + "]",
    "go []uint64 %x": lambda: "[" + " ".join(f"{w:x}" for w in _words(8)) + "]",
    "rust {:x?}": lambda: "[" + ", ".join(f"0x{w:x}" for w in _words(4)) + "]",
    "node Uint32Array": lambda: f"Uint32Array({len(MEMORY) // 4}) [\n"
    + _rows([f"{w:10d}" for w in _words(4)], 4, "  ").rstrip(",") + "\n]",
    "numpy str i32": lambda: _np_str([str(w) for w in _words(4, True)], 6),
    "numpy str u32 2-D": lambda: "[" + "\n ".join(_np_str([str(w) for w in _words(4)[i:i + 4]], 4)
                                                  for i in range(0, len(MEMORY) // 4, 4)) + "]",
    "numpy repr u16": lambda: "array([" + _rows([str(w) for w in _words(2)], 8, "       ").strip().rstrip(",")
    + "], dtype=uint16)",
    "gdb p/x": lambda: "$1 = {" + ", ".join(f"0x{w:x}" for w in _words(4)) + "}",
    "gdb p/d": lambda: "$1 = {" + ", ".join(map(str, _words(4, True))) + "}",
}


def _printed(form: str) -> bytes:
    return FORMS[form]().encode()


@pytest.mark.parametrize("form", sorted(FORMS))
def test_a_key_in_a_word_list_is_a_scanner_view_over_the_whole_list(form: str) -> None:
    printed = _printed(form)
    data = PRE + printed + POST
    views = [v for v in word_lists(data, 0, len(data)) if DER in v[2]]
    assert views, form
    start, end = data.index(printed), data.index(printed) + len(printed)
    assert all(start <= v[0] and v[1] <= end for v in views), [(v[0], v[1], start, end) for v in views]
    # the list from its first number to its last (brackets and a declaration around it are not the list)
    assert any(v[1] - v[0] >= len(printed) - 64 for v in views), [(v[0], v[1], start, end) for v in views]


@pytest.mark.parametrize("form", sorted(FORMS))
def test_a_key_in_a_word_list_is_found_by_the_reader_s_list_rule_alone(form: str) -> None:
    printed = _printed(form)
    report = recheck_bytes(PRE + printed + POST, name="dump.txt")
    ours = [f for f in report.findings if "> word list (" in f.view]
    assert ours and {f.kind for f in ours} == {"der"}, (report.findings, report.incomplete)
    # only this rule finds the whole key (a row reading of the list may read its head, cut short)
    assert [f for f in report.findings if f not in ours and "cut short" not in f.key] == [], report.findings
    for finding in ours:  # inside the list, and (nearly) all of it: sanitize redacts the whole list
        assert finding.span is not None and len(PRE) <= finding.span[0] < finding.span[1] <= len(PRE) + len(printed)
        assert finding.span[1] - finding.span[0] >= len(printed) - 64, (finding.span, len(printed))


@pytest.mark.parametrize("form", ["python list i64", "c uint32_t 0x..U", "go []uint64 %x", "numpy str u32 2-D"])
def test_the_scanner_finds_a_key_in_a_word_list(form: str, tmp_path: Path) -> None:
    """Through the scanner's printed forms (printed_values.value_views calls word_lists)."""
    printed = _printed(form)
    path = tmp_path / "app.log"
    path.write_bytes(PRE + printed + POST)
    report = scan_path(path, known=known(EC))
    ours = [f for f in report.findings if not f.advisory and "word list" in f.detail]
    assert report.incomplete == [] and ours, report.findings
    assert any(f.offset <= len(PRE) + 40 and f.end >= len(PRE) + len(printed) - 8 for f in ours), \
        [(f.offset, f.end, f.detail) for f in ours]


def test_the_reader_reads_only_widths_that_hold_every_number() -> None:
    labels = [label for label, _ in reader._read([b"%d" % (0x8130_8130 + i) for i in range(16)])]
    assert labels == ["decimal, 4-byte, little", "decimal, 4-byte, big"], labels
    labels = [label for label, _ in reader._read([b"0x%x" % (0x8130_8130_8130_8130 + i) for i in range(8)])]
    assert labels == ["hex, 8-byte, little", "hex, 8-byte, big"], labels


def test_a_json_document_s_array_is_read_by_the_reader() -> None:
    """A view that IS a JSON document is read by its JSON path: the list rule runs there too."""
    report = recheck_bytes(json.dumps({"key": _words(4)}).encode(), name="key.json")
    assert [f.view for f in report.findings] == ["key.json > word list (decimal, 4-byte, little)"], report.findings


def test_only_widths_that_hold_every_number_are_read() -> None:
    """2-byte values are read as 2, 4 and 8-byte words; 4-byte ones never as 2-byte; runs of full
    words only (a u16 list read as 8-byte words has none: nothing)."""
    u16 = [0x8130 + i for i in range(40)]
    details = {view[4] for view in word_lists(str(u16).encode(), 0, 400)}
    assert details == {"decoded decimal word list (2-byte, little-endian)",
                       "decoded decimal word list (2-byte, big-endian)"}, details
    u64 = [0x8130_0000_0000_0000 + i for i in range(8)]
    details = {view[4] for view in word_lists(str(u64).encode(), 0, 400)}
    assert details == {"decoded decimal word list (8-byte, little-endian)",
                       "decoded decimal word list (8-byte, big-endian)"}, details
    negative = [-(1 << 31) + 0x8130 + i for i in range(16)]  # i32 (4-byte, sign-extended 8-byte words)
    details = {view[4] for view in word_lists(str(negative).encode(), 0, 400)}
    assert "decoded decimal word list (4-byte, little-endian)" in details
    assert not any("2-byte" in detail for detail in details), details


def _ordinary() -> bytes:
    """A CSV of integers, JSON telemetry with arrays of timestamps and small ints, a log of Python
    lists of small ints, 20-bit ids: each a list the rule may read, none a key."""
    rng = random.Random(18)
    csv = "".join(f"{i},{rng.randrange(1 << 31)},{rng.randint(-999999, 999999)},{1700000000 + 7 * i}\n"
                  for i in range(3_000))
    telemetry = "".join(json.dumps({"ts": [1733500000000 + 1000 * j for j in range(8)],
                                    "secs": [1733500000 + i + j for j in range(12)],
                                    "v": [rng.randrange(100) for _ in range(12)]}) + "\n" for i in range(2_000))
    lists = "".join(f"INFO sizes={[rng.randrange(300) for _ in range(24)]}\n" for _ in range(4_000))
    return (csv + telemetry + lists).encode()


def test_ordinary_lists_of_integers_are_certified_quickly() -> None:
    data = _ordinary()
    started = time.process_time()
    views = list(word_lists(data, 0, len(data)))
    assert time.process_time() - started < 2.0
    assert all("4-byte" in view[4] for view in views)  # the seconds' lists alone are full-word runs
    started = time.process_time()
    report = recheck_bytes(data, name="app.log")
    assert report.findings == [] and report.incomplete == [], (report.findings[:3], report.incomplete)
    assert time.process_time() - started < 30


def test_a_long_list_is_read_in_overlapping_windows() -> None:
    """20,000 small numbers with the key's words at 16,370 on: past the first window's 16,384
    numbers, whole in the next (both readers)."""
    rng = random.Random(3)
    words = [rng.randrange(1 << 16) for _ in range(20_000)]
    key = _words(4)
    words[16_370:16_370 + len(key)] = key
    data = PRE + str(words).encode() + POST
    assert any(DER in view[2] for view in word_lists(data, 0, len(data)))
    assert 16_370 < scanner.MAX_TOKENS < 16_370 + len(key)
    report = recheck_bytes(data, name="dump.txt")
    assert any("> word list (decimal, 4-byte, little)" in f.view for f in report.findings), report.findings


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    made = Home(tmp_path_factory.mktemp("wordlists") / "home")
    init_home(made)
    return made


@pytest.mark.parametrize("form", ["python list i32", "c uint64_t 0x..ULL"])
def test_sanitize_removes_a_key_printed_as_a_word_list(form: str, tmp_path: Path, home: Home) -> None:
    printed = _printed(form)
    path = tmp_path / "app.log"
    path.write_bytes(PRE + printed + POST)
    out = tmp_path / "out.log"
    result = sanitize(path, out, home, known(EC))
    assert result.status == "clean"
    cleaned = out.read_bytes()
    assert len(cleaned) == len(PRE + printed + POST) and printed not in cleaned
    numbers = re.findall(rb"0x[0-9a-fA-F]{8,}|-?[0-9]{6,}", printed)
    assert numbers and not any(number in cleaned for number in numbers)  # no word of the key is left


def test_sanitize_certifies_ordinary_lists_untouched(tmp_path: Path, home: Home) -> None:
    path = tmp_path / "app.log"
    path.write_bytes(_ordinary()[:200_000])
    out = tmp_path / "out.log"
    result = sanitize(path, out, home)
    assert result.status == "clean" and out.read_bytes() == path.read_bytes()
