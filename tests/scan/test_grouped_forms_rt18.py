"""rt18 group D (issue #32): decimal integers in digit groups of other sizes (PARI/Mathematica blocks
of 5 and 10, `{:_}` regrouped by 4), `{:_}` and `{:_x}` cut at 40 columns inside a group, bare
digits wrapped at 32, Python's backslash continuation, hex with `_` every 8: `sanitize` certified
them with the key recoverable. Both readers now read each (scanner `grouped_forms.py`, reader
`recheck_grouping.py`). The key is fixed: where a line is cut and how long the last group is
depend on its digits."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from signward.dumps import sanitize, scan_path
from signward.home import Home
from signward.scan import printed_encodings
from signward.scan.grouped_forms import grouped_integers, regrouped_integers
from signward.scan.knownkeys import KnownKeys
from signward.scan.recheck import recheck_bytes
from signward.scan.recheck_grouping import grouped_runs, regrouped_runs
from signward.services import init_home
from tests.scan.material import known

# a fixed P-256 key: 77 decimal digits, 64 hex digits
SCALAR = int("8180935e3bea697689a69531a2a57194d0784a2cc72ee2b8e3f5c6f56d044bc9", 16)
KEY = ec.derive_private_key(SCALAR, ec.SECP256R1())
DIGITS = str(SCALAR)
LOG = b"".join(b"2026-12-07T00:00:%02d INFO worker ready id=%d\n" % (n % 60, n) for n in range(50))


def _blocks(size: int) -> bytes:
    """PARI/Mathematica: blocks of `size` from the left, the last shorter."""
    return " ".join(DIGITS[at:at + size] for at in range(0, len(DIGITS), size)).encode()


def _cut(text: str, width: int = 40) -> bytes:
    return (text[:width] + "\n" + text[width:]).encode()


def _fours_space() -> str:
    head = len(DIGITS) % 4
    return " ".join(([DIGITS[:head]] if head else []) + [DIGITS[at:at + 4] for at in range(head, len(DIGITS), 4)])


FORMS: dict[str, tuple[Callable[[], bytes], str, str]] = {  # form: (text, scanner detail, reader label)
    "blocks-of-5": (lambda: _blocks(5), "decimal integer (regrouped)", "decimal (regrouped)"),
    "blocks-of-10": (lambda: _blocks(10), "decimal integer (regrouped)", "decimal (regrouped)"),
    "threes-underscore-cut-40": (lambda: _cut(f"{SCALAR:_}"), "decimal integer (regrouped)", "decimal (regrouped)"),
    "fours-space-cut-40": (lambda: _cut(_fours_space()), "decimal integer (regrouped)", "decimal (regrouped)"),
    "hex-underscore-8": (lambda: ("0x" + "_".join(f"{SCALAR:064x}"[at:at + 8] for at in range(0, 64, 8))).encode(),
                         "hex integer (regrouped)", "hex (regrouped)"),
    "hex-underscore-4-cut-40": (lambda: _cut(f"{SCALAR:_x}"), "hex integer (regrouped)", "hex (regrouped)"),
    "python-continuation": (lambda: (DIGITS[:40] + " \\\n    " + DIGITS[40:]).encode(),
                            "decimal integer (continued lines)", "decimal (continued lines)"),
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_a_scalar_in_rt18_groupings_is_read_by_both_readers(form: str) -> None:
    make, detail, label = FORMS[form]
    data = LOG + b"config loaded: secret=" + make() + b" ok\n" + LOG
    spans = [(0, len(data))]
    # the rule: the regrouping reads it, and no grouping read before rt18 did
    assert (SCALAR, detail) in [(value, how) for _, _, value, how in regrouped_integers(data, len(data), spans)]
    assert SCALAR not in [value for _, _, value in grouped_integers(data, len(data), spans)]
    views = list(printed_encodings.integer_views(data, len(data)))
    assert any(int.from_bytes(view[2], "big") == SCALAR and view[4] == detail for view in views), views
    assert (SCALAR, label) in [(value, how) for _, value, how in regrouped_runs(data)]
    assert SCALAR not in [value for _, value in grouped_runs(data)]


def test_bare_digits_wrapped_at_32_are_read_by_both_readers() -> None:
    text = b"\n".join(DIGITS[at:at + 32].encode() for at in range(0, len(DIGITS), 32))
    data = LOG + b"d:\n" + text + b"\n" + LOG
    assert SCALAR in [value for _, _, value in grouped_integers(data, len(data), [(0, len(data))])]
    assert SCALAR in [value for _, value in grouped_runs(data)]


@pytest.mark.parametrize("before", [b"n 7 ", b"checksum total: 42135\n"], ids=["short-group", "whole-line"])
def test_a_number_written_before_the_key_does_not_hide_it(before: bytes) -> None:
    """A short group before blocks of 5 (read as a thousands-style head), or a line ending in a
    whole group (read as the number's first line): the number is read without it too."""
    data = LOG + before + _blocks(5) + b"\n" + LOG
    assert SCALAR in [value for _, _, value, _ in regrouped_integers(data, len(data), [(0, len(data))])]
    assert SCALAR in [value for _, value, _ in regrouped_runs(data)]


def test_sanitize_redacts_two_rt18_forms(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    init_home(home)
    source, out = tmp_path / "app.log", tmp_path / "clean.log"
    blocks, hexed = _blocks(5), _cut(f"{SCALAR:_x}")
    source.write_bytes(LOG + b"d = " + blocks + b"\n" + LOG + b"secret=" + hexed + b" ok\n" + LOG)
    result = sanitize(source, out, home, known(KEY))
    cleaned = out.read_bytes()
    assert result.status == "clean" and result.redacted_bytes > 0, result
    assert blocks[:30] not in cleaned and hexed[:30] not in cleaned and hexed[-30:] not in cleaned
    assert cleaned.startswith(LOG[:200])
    assert recheck_bytes(cleaned, KnownKeys()).clean


def _amounts(size: int) -> bytes:
    """A CSV of grouped amounts: thousands with `,` and `_`, decimals, card-like groups of four."""
    rng = random.Random(5)
    rows: list[str] = []
    while sum(map(len, rows)) < size:
        rows.append(",".join([f"2026-12-{rng.randrange(1, 29):02d}", f'"{rng.randrange(10 ** 9):,}"',
                              f"{rng.randrange(10 ** 12):_}", f'"{rng.randrange(10 ** 7):,}.{rng.randrange(100):02d}"',
                              " ".join(f"{rng.randrange(10 ** 4):04d}" for _ in range(4))]))
    return "\r\n".join(rows).encode()[:size]


def _wrapped_ids(size: int) -> bytes:
    """A log of 20-digit IDs: several on a line wrapped onto the next, or one a line."""
    rng = random.Random(6)
    rows: list[str] = []
    while sum(map(len, rows)) < size:
        ids = [str(rng.randrange(10 ** 19, 10 ** 20)) for _ in range(rng.randrange(1, 9))]
        rows.append("2026-12-07 00:00:01 INFO batch ids: " + " ".join(ids[:3]))
        rows.extend("    " + " ".join(ids[at:at + 3]) for at in range(3, len(ids), 3))
        rows.append(str(rng.randrange(10 ** 19, 10 ** 20)))
    return "\n".join(rows).encode()[:size]


@pytest.mark.parametrize("kind", ["amounts", "ids"])
def test_ordinary_grouped_numbers_are_certified(kind: str, tmp_path: Path) -> None:
    data = _amounts(1 << 16) if kind == "amounts" else _wrapped_ids(1 << 16)
    assert list(printed_encodings.integer_views(data, len(data))) == []
    assert [value for _, value, _ in regrouped_runs(data) if value.bit_length() >= 216] == []
    path = tmp_path / f"ordinary.{kind}"
    path.write_bytes(data)
    report = scan_path(path, known=known(KEY))
    assert report.findings == [] and report.incomplete == [], report
    reading = recheck_bytes(data, known(KEY))
    assert reading.clean and not reading.incomplete, reading
