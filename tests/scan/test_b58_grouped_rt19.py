"""rt19 groups 4 and 5 (issue #32): an Ed25519 pair (Solana's 64-byte seed and public key) in base58
wrapped at 8-11 columns, rows behind line numbers touching them (`nl -s ''`), groups of 4 joined by
`-`; a known key's scalar in decimal grouped by `, `, `. `, `-` (sixes) or U+066C, hex by fours with
U+202F: `sanitize` certified them with the key recoverable. Both readers now read each (scanner
`printed_encodings.py`/`wrapped_runs.py`/`grouped_forms.py`, reader `recheck_encodings.py`/
`recheck_wrapped.py`/`recheck_grouping.py`). The keys are fixed: a row's width, a group's length and
whether a run decodes to 64 bytes depend on their bytes."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from signward.dumps import sanitize, scan_path
from signward.home import Home
from signward.scan import printed_encodings
from signward.scan.grouped_forms import grouped_integers, regrouped_integers
from signward.scan.knownkeys import KnownKeys
from signward.scan.recheck import recheck_bytes
from signward.scan.recheck_grouping import grouped_runs, regrouped_runs
from signward.scan.recheck_wrapped import numbered_b58
from signward.scan.wrapped_runs import numbered_runs
from signward.services import init_home
from tests.scan.material import known
from tests.scan.test_printed_encodings import base58

SEED = bytes([51, *range(2, 33)])  # its pair is 88 base58 characters: rows of 8 and 11 all full
ED = ed25519.Ed25519PrivateKey.from_private_bytes(SEED)
PAIR = SEED + ED.public_key().public_bytes_raw()
SCALAR = int("8180935e3bea697689a69531a2a57194d0784a2cc72ee2b8e3f5c6f56d044bc9", 16)
KEY = ec.derive_private_key(SCALAR, ec.SECP256R1())
DIGITS = str(SCALAR)
LOG = b"".join(b"2026-12-07T00:00:%02d INFO worker ready id=%d\n" % (n % 60, n) for n in range(50))
PAIR_FOUND = "Ed25519 seed followed by its own public key"


def _rows(text: bytes, width: int) -> bytes:
    return b"\n".join(text[at:at + width] for at in range(0, len(text), width))


def _numbered(text: bytes, width: int) -> bytes:
    """`nl -s ''`: a right-aligned line number touching each row."""
    return b"\n".join(b"%6d%s" % (number + 1, text[at:at + width])
                      for number, at in enumerate(range(0, len(text), width)))


def _threes(separator: str) -> bytes:
    head = len(DIGITS) % 3 or 3
    return separator.join([DIGITS[:head]] + [DIGITS[at:at + 3] for at in range(head, len(DIGITS), 3)]).encode()


def _sizes(size: int, separator: str, digits: str = DIGITS) -> bytes:
    return separator.join(digits[at:at + size] for at in range(0, len(digits), size)).encode()


B58_FORMS: dict[str, Callable[[], bytes]] = {
    "rows-of-11": lambda: b"keypair:\n" + _rows(base58(PAIR), 11),
    "rows-of-8": lambda: b"keypair:\n" + _rows(base58(PAIR), 8),
    "numbered-rows-of-12": lambda: _numbered(base58(PAIR), 12),
    "numbered-rows-of-10": lambda: _numbered(base58(PAIR), 10),
    "groups-of-4-dash": lambda: b"keypair: " + _sizes(4, "-", base58(PAIR).decode()),
}


@pytest.mark.parametrize("form", sorted(B58_FORMS))
def test_an_ed25519_pair_in_rt19_base58_forms_is_found_by_both_readers(form: str, tmp_path: Path) -> None:
    data = LOG + B58_FORMS[form]() + b"\nend of region\n" + LOG  # the last line's tail: no row
    views = [view for view in printed_encodings.encoding_views(data, len(data)) if view[2] == PAIR]
    assert views, form
    path = tmp_path / "wallet.log"
    path.write_bytes(data)
    report = scan_path(path, known=KnownKeys())  # no known key: the pair proves itself
    assert any(f.kind == "ed25519-keypair" for f in report.findings), report.findings
    reading = recheck_bytes(data, KnownKeys())
    assert any(f.key == PAIR_FOUND and "> base58" in f.view for f in reading.findings), reading


@pytest.mark.parametrize("width", [8, 11])
def test_narrow_rows_are_joined_only_for_a_self_checking_pair(width: int) -> None:
    """The rule for rows under 12 columns: the same rows of 64 bytes whose public half is not the
    seed's (one byte changed), and a 32-byte seed, give no view in either reader (the reader, told
    the key, finds no base58 view holding its seed); at 12 columns the seed is read (the rt18 rule)."""
    spoiled = PAIR[:40] + bytes([PAIR[40] ^ 1]) + PAIR[41:]
    for value in (spoiled, SEED):
        data = LOG + b"key:\n" + _rows(base58(value), width) + b"\n" + LOG
        assert [view for view in printed_encodings.encoding_views(data, len(data)) if value in view[2]] == []
        reading = recheck_bytes(data, known(ED))
        assert not any("> base58" in f.view for f in reading.findings), reading
    data = LOG + b"key:\n" + _rows(base58(SEED), 12) + b"\n" + LOG
    assert any("> base58" in f.view for f in recheck_bytes(data, known(ED)).findings)
    data = LOG + b"key:\n" + _rows(base58(SEED), 12) + b"\n" + LOG
    assert [view[4] for view in printed_encodings.encoding_views(data, len(data)) if view[2] == SEED] \
        == ["decoded base58 run"]


def test_row_numbers_are_taken_off_by_both_readers() -> None:
    """The numbers counting up by one are taken off (`nl -s ''` puts 1-9 and then 10, 11 against the
    rows); the rows as they stand are not the pair."""
    text = base58(PAIR)
    data = LOG + _numbered(text, 8) + b"\n" + LOG
    assert [run for _, _, run, _ in numbered_runs(data, 0, len(data), 4096, 8)] == [text]
    assert [run for _, run, _ in numbered_b58(data, 4096)] == [text]
    assert len(text) > 80  # 11 rows: numbers of one and two digits


DECIMAL_FORMS: dict[str, Callable[[], bytes]] = {
    "threes-comma-space": lambda: _threes(", "),
    "threes-dot-space": lambda: _threes(". "),
    "sixes-dash": lambda: _sizes(6, "-"),
    "threes-u066c": lambda: _threes("\u066c"),
    "hex-fours-u202f": lambda: _sizes(4, "\u202f", f"{SCALAR:064X}"),
    "hex-fours-u2009": lambda: _sizes(4, "\u2009", f"{SCALAR:064x}"),
}


@pytest.mark.parametrize("form", sorted(DECIMAL_FORMS))
def test_a_scalar_in_rt19_groupings_is_read_by_both_readers(form: str) -> None:
    data = LOG + b"secret=" + DECIMAL_FORMS[form]() + b" ok\n" + LOG
    spans = [(0, len(data))]
    # the rule: the regrouping reads it, and no grouping read before rt18 did
    assert SCALAR in [value for _, _, value, _ in regrouped_integers(data, len(data), spans)]
    assert SCALAR not in [value for _, _, value in grouped_integers(data, len(data), spans)]
    assert any(int.from_bytes(view[2], "big") == SCALAR for view in printed_encodings.integer_views(data, len(data)))
    assert SCALAR in [value for _, value, _ in regrouped_runs(data)]
    assert SCALAR not in [value for _, value in grouped_runs(data)]


def test_u066c_is_read_in_a_large_chunk_where_text_spans_stop_at_it() -> None:
    """Past 64 KiB the scanner reads numbers only in text spans, which U+066C's bytes end: it
    reads near each U+066C too."""
    data = LOG * 40 + b"secret=" + _threes("\u066c") + b" ok\n" + LOG * 40
    assert len(data) > 1 << 16
    views = printed_encodings.integer_views(data, len(data))
    assert any(int.from_bytes(view[2], "big") == SCALAR for view in views)


def test_sanitize_redacts_rt19_forms(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    init_home(home)
    source, out = tmp_path / "app.log", tmp_path / "clean.log"
    rows, dashed, commas = _rows(base58(PAIR), 9), _sizes(4, "-", base58(PAIR).decode()), _threes(", ")
    source.write_bytes(LOG + b"keypair:\n" + rows + b"\n" + LOG + b"k " + dashed + b"\n" + LOG
                       + b"d = " + commas + b"\n" + LOG)
    result = sanitize(source, out, home, known(KEY))
    cleaned = out.read_bytes()
    assert result.status == "clean" and result.redacted_bytes > 0, result
    assert rows[9:40] not in cleaned and dashed[10:40] not in cleaned and commas[10:40] not in cleaned
    assert cleaned.startswith(LOG[:200])
    assert recheck_bytes(cleaned, known(KEY)).clean


def _ordinary(size: int) -> bytes:
    """Text with the rt19 shapes and no key: amounts listed with `, ` and `. `, Arabic amounts
    (U+066C), dates, phone numbers, UUIDs, licence keys in dashed groups of 4, a listing numbered
    by `nl -s ''`, a log whose lines end in 8-11 character ids of the base58 alphabet."""
    rng = random.Random(19)
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    rows: list[str] = []
    while sum(map(len, rows)) < size:  # among a service's log lines (text dense with random ids is the
        # known-key windows' limit, docs/dumps.md: not this test's)
        rows.extend(f"2026-12-07 00:00:{second:02d} INFO request served in {rng.randrange(900)} ms"
                    for second in range(30))
        rows.append("amounts: " + ", ".join(f"{rng.randrange(10 ** 3, 10 ** 9):,}" for _ in range(12)))
        rows.append("totals: " + ". ".join(str(rng.randrange(100, 1000)) for _ in range(30)))
        rows.append("المبلغ " + "\u066c".join(str(rng.randrange(100, 1000)) for _ in range(4)))
        rows.append(" ".join(f"2026-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}" for _ in range(8)))
        rows.append("call " + ", ".join(f"+1-555-{rng.randrange(1000):03d}-{rng.randrange(10 ** 4):04d}"
                                        for _ in range(5)))
        rows.append(" ".join(str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(3)))
        rows.append("licence " + "-".join("".join(rng.choice(alphabet) for _ in range(4)) for _ in range(5)))
        rows.extend(f"{number:6d}{''.join(rng.choice(alphabet) for _ in range(10))}" for number in range(1, 12))
        rows.extend(f"2026-12-07 INFO tx {''.join(rng.choice(alphabet) for _ in range(rng.choice((8, 11))))}"
                    for _ in range(10))
        rows.append("0x" + "\u202f".join(f"{rng.getrandbits(16):04x}" for _ in range(8)))
    return "\n".join(rows).encode()[:size]


def test_ordinary_text_with_rt19_shapes_is_certified(tmp_path: Path) -> None:
    data = _ordinary(1 << 18)
    began = time.process_time()
    assert list(printed_encodings.integer_views(data, len(data))) == []
    assert list(printed_encodings.base58_views(data, len(data))) == []
    # amounts grouped by `,` listed with `, `: two separator kinds, no number (a `. ` list of threes of a
    # key's length is the attack's shape: read, checked, no finding)
    lines = [data[data.rfind(b"\n", 0, start) + 1:start] for (start, _), value, _ in regrouped_runs(data)
             if value.bit_length() >= 216]
    assert [line for line in lines if line.startswith(b"amounts")] == []
    path = tmp_path / "ordinary.log"
    path.write_bytes(data)
    report = scan_path(path, known=known(KEY))
    assert report.findings == [] and report.incomplete == [], report
    reading = recheck_bytes(data, known(KEY))
    assert reading.clean and not reading.incomplete, reading
    assert time.process_time() - began < 60
