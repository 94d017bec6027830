"""rt17 (issue #32, round 2): printed encodings both readers missed, so `sanitize` certified a file
with the key recoverable: decimal integers wrapped bare at 64 columns, by fours with `_`, en_IN
lakh with U+00A0, by threes wrapped over CRLF lines with the comma starting the next line; base58
DER wrapped at 64 behind a line prefix; yEnc multipart parts placed past 1 MiB; cp1252 mojibake in
UTF-16LE after a Russian transcript (no BOM) or appended late to a UTF-8 log. Every key here is
fixed: the forms' shapes (digit counts, where a line wraps, which bytes cp1252 maps) depend on it."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from signward.dumps import sanitize, scan_path
from signward.home import Home
from signward.scan import printed_encodings, yenc_parts
from signward.scan.grouped_forms import grouped_integers
from signward.scan.knownkeys import KnownKeys
from signward.scan.recheck import recheck_bytes
from signward.scan.recheck_grouping import grouped_runs
from signward.scan.recheck_utf16text import cp1252_windows
from signward.services import init_home
from tests.scan.material import known
from tests.scan.test_printed_encodings import base58, yenc, z85

# a fixed P-256 key: 77 decimal digits (two lines at 64 columns), its DER holds bytes 0x80-0x9F
SCALAR = int("8180935e3bea697689a69531a2a57194d0784a2cc72ee2b8e3f5c6f56d044bc9", 16)
KEY = ec.derive_private_key(SCALAR, ec.SECP256R1())
DER = KEY.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption())
LOG = b"".join(b"2026-12-07T00:00:%02d INFO worker ready id=%d\n" % (n % 60, n) for n in range(50))


def _wrap64(value: int) -> bytes:
    text = str(value).encode()
    return b"\n".join(text[at:at + 64] for at in range(0, len(text), 64))


def _fours_underscore(value: int) -> bytes:
    text = str(value)
    head = len(text) % 4 or 4
    return "_".join([text[:head], *(text[at:at + 4] for at in range(head, len(text), 4))]).encode()


def _lakh_nbsp(value: int) -> bytes:
    text = str(value)
    head, last = text[:-3], text[-3:]
    pairs = [head[max(0, end - 2):end] for end in range(len(head), 0, -2)][::-1]
    return "\u00a0".join([*pairs, last]).encode()


def _threes_comma_first(value: int) -> bytes:
    """`{:,}` wrapped at 64 columns over CRLF lines, each next line indented and starting with `,`."""
    groups = f"{value:,}".split(",")
    lines, line = [], groups[0]
    for group in groups[1:]:
        if len(line) + 4 > 64:
            lines.append(line)
            line = "," + group
        else:
            line += "," + group
    return "\r\n    ".join([*lines, line]).encode()


DECIMALS: dict[str, Callable[[int], bytes]] = {
    "bare-wrapped-64": _wrap64, "fours-underscore": _fours_underscore, "lakh-nbsp": _lakh_nbsp,
    "threes-comma-first-crlf": _threes_comma_first,
}


@pytest.mark.parametrize("form", sorted(DECIMALS))
def test_a_scalar_printed_in_rt17_decimal_forms_is_read_by_both_readers(form: str, tmp_path: Path) -> None:
    text = DECIMALS[form](SCALAR)
    assert b"\n" in text or form in ("fours-underscore", "lakh-nbsp")
    data = LOG + b"d =\n" + text + b"\n" + LOG
    # the rule: this module's grouping (or wrapping) reads the scalar whole, in both readers
    assert SCALAR in [value for _, _, value in grouped_integers(data, len(data), [(0, len(data))])]
    assert SCALAR in [value for _, value in grouped_runs(data)]
    path = tmp_path / "app.log"
    path.write_bytes(data)
    report = scan_path(path, known=known(KEY))
    assert any(f.kind == "ec-private-scalar" and f.encoding.startswith("decimal") for f in report.findings), report
    reading = recheck_bytes(data, known(KEY))
    assert any("> decimal (grouped)" in f.view for f in reading.findings), reading


def test_a_column_of_long_ids_is_not_one_wrapped_number() -> None:
    """Lines of 19-digit IDs (under the 40-digit wrapping width) are not joined into a number."""
    rng = random.Random(7)
    data = b"\n".join(b"%d" % rng.randrange(10 ** 18, 10 ** 19) for _ in range(400)) + b"\n"
    assert list(grouped_integers(data, len(data), [(0, len(data))])) == []
    assert list(grouped_runs(data)) == []


PREFIXES = {"email-quote": lambda row: b"> " + row,
            "log-prefix": lambda row: b"2026-12-07 00:00:%02d INFO  " % (len(row) % 60) + row}


Z85_PREFIXES = PREFIXES | {  # Z85's alphabet holds `>`, `:`, `[`, `]`: only the blank ends these prefixes
    "nested-quote": lambda row: b"> > " + row,
    "bracketed-log": lambda row: b"[2026-12-07 00:00:01] worker.INFO: " + row}
WRAPPED_BEHIND = {"base58": (base58, printed_encodings.base58_views, PREFIXES),
                  "z85": (z85, printed_encodings.z85_views, Z85_PREFIXES)}  # z85: session 17 (rt17 leftover)


@pytest.mark.parametrize(("encoding", "form"), [(encoding, form) for encoding, (_, _, prefixes) in
                                                sorted(WRAPPED_BEHIND.items()) for form in sorted(prefixes)])
def test_der_wrapped_behind_a_line_prefix_is_joined_by_both_readers(encoding: str, form: str, tmp_path: Path) -> None:
    encode, views, prefixes = WRAPPED_BEHIND[encoding]
    text = encode(DER)
    rows = [prefixes[form](text[at:at + 64]) for at in range(0, len(text), 64)]
    data = LOG + b"\n".join(rows) + b"\n" + LOG
    assert any(DER in view[2] for view in views(data, len(data)))
    path = tmp_path / "mail.txt"
    path.write_bytes(data)
    report = scan_path(path, known=known(KEY))
    first, last = data.index(text[:64]), data.index(text[-10:]) + 10
    assert any(f.kind == "pkcs8-ec" and f.encoding.startswith(encoding) and f.offset <= first and f.end >= last
               for f in report.findings), report.findings
    reading = recheck_bytes(data, known(KEY))
    assert any(f"> {encoding}" in f.view and f.span and f.span[0] <= first and f.span[1] >= last
               for f in reading.findings), reading


def _part(number: int, offset: int, body: bytes) -> bytes:
    encoded = yenc(body).split(b"\r\n")[1:-2]
    return (b"=ybegin part=%d total=20 line=128 size=2097152 name=core.bin\r\n=ypart begin=%d end=%d\r\n"
            % (number, offset + 1, offset + len(body)) + b"\r\n".join(encoded)
            + b"\r\n=yend size=%d part=%d pcrc32=00000000\r\n" % (len(body), number))


def test_yenc_parts_past_a_mebibyte_are_joined_by_both_readers(tmp_path: Path) -> None:
    """rt17: the key split between parts 9 and 10 of a 2 MiB file: `begin=` past 1 MiB was left out."""
    base = (1 << 20) + 100_000
    first, second = b"A" * 200 + DER[:60], DER[60:] + b"B" * 200
    data = LOG + _part(9, base - 200, first) + _part(10, base - 200 + len(first), second) + LOG
    joined = [view for view in printed_encodings.yenc_views(data, len(data)) if "multipart" in view[4]]
    assert len(joined) == 1 and DER in joined[0][2], joined
    path = tmp_path / "post.txt"
    path.write_bytes(data)
    report = scan_path(path, known=known(KEY))
    assert any(f.kind == "pkcs8-ec" and f.encoding.startswith("yenc") for f in report.findings), report.findings
    reading = recheck_bytes(data, known(KEY))
    assert any("> yenc multipart@" in f.view for f in reading.findings), reading


def test_more_yenc_parts_than_the_bound_is_incomplete() -> None:
    data = b"".join(_part(n, 100 * n, b"x" * 100) for n in range(1, yenc_parts.MAX_PARTS + 2))
    views = list(printed_encodings.yenc_views(data, len(data)))
    assert [view[3] for view in views if not view[2]] == [printed_encodings.INCOMPLETE]


def _cp1252(data: bytes) -> str:
    return "".join(bytes([byte]).decode("cp1252", "ignore") or chr(byte) for byte in data)


UTF16 = {  # PowerShell 5: `Out-File` after a Russian transcript (no BOM), `>>` onto a UTF-8 log
    "russian-no-bom": lambda: ("PS> Получить-Секрет\r\n" + "строка журнала: всё в порядке\r\n" * 300
                               + _cp1252(DER) + "\r\n").encode("utf-16-le"),
    "appended-to-utf8": lambda: b"build log line ok\n" * 400 + ("PS> Get-Secret\r\n" + _cp1252(DER)
                                                                 + "\r\n").encode("utf-16-le"),
}


@pytest.mark.parametrize("form", sorted(UTF16))
def test_cp1252_mojibake_in_utf16le_anywhere_is_read_by_both_readers(form: str, tmp_path: Path) -> None:
    data = UTF16[form]()
    views = list(printed_encodings.encoding_views(data, len(data)))
    assert any(DER in view[2] and "(UTF-16LE text)" in view[4] for view in views)
    # one UTF-16LE window (rt18: the same bytes one byte on read as UTF-16BE may make a second, of that order)
    assert [window[1] for window in cp1252_windows(data)].count("utf-16le") == 1
    path = tmp_path / "transcript.txt"
    path.write_bytes(data)
    report = scan_path(path, known=known(KEY))
    assert any(f.kind == "pkcs8-ec" and f.encoding.startswith("cp1252") for f in report.findings), report.findings
    reading = recheck_bytes(data, known(KEY))
    assert any("> utf-16le near cp1252@" in f.view and "cp1252 mojibake" in f.view for f in reading.findings), reading


def _csv(size: int) -> bytes:
    """A numeric export: IDs, amounts, long integers (up to 39 digits), grouped thousands, a column
    of 20-digit values on lines of their own, empty fields, CRLF."""
    rng = random.Random(17)
    rows: list[str] = []
    while sum(map(len, rows)) < size:
        if rng.random() < 0.1:
            rows.append(str(rng.randrange(10 ** 19, 10 ** 20)))
            continue
        rows.append(",".join([str(rng.randrange(10 ** 9)), f"{rng.randrange(10 ** 12):,}".join('""'),
                              str(rng.randrange(10 ** rng.randrange(1, 40))), "", f"{rng.random() * 1e6:.4f}",
                              *(str(rng.randrange(1000)) for _ in range(rng.randrange(3, 12)))]))
    return "\r\n".join(rows).encode()[:size]


def _timestamped_log(size: int) -> bytes:
    """A service log: timestamps, padded columns (double spaces), short request IDs in base58's alphabet
    ending lines, trace IDs, nanosecond durations."""
    rng = random.Random(23)
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    rows: list[str] = []
    while sum(map(len, rows)) < size:
        rows.append(f"2026-12-07 {rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}."
                    f"{rng.randrange(10 ** 6):06d}  {rng.choice(['INFO ', 'WARN ', 'DEBUG'])}  "
                    f"[worker-{rng.randrange(16):<2}]  took={rng.randrange(10 ** 12)}ns "
                    f"trace={rng.randrange(1 << 64):016x}  "
                    f"id={''.join(rng.choice(alphabet) for _ in range(11))}")
    return "\n".join(rows).encode()[:size]


@pytest.mark.parametrize("kind", ["csv", "log"])
def test_ordinary_three_megabyte_files_are_certified(kind: str, tmp_path: Path) -> None:
    """1 MiB here (seconds); 3 MB measured before/after in docs/dumps.md (rt17). The bound is wide."""
    data = _csv(1 << 20) if kind == "csv" else _timestamped_log(1 << 20)
    path = tmp_path / f"ordinary.{kind}"
    path.write_bytes(data)
    began = time.process_time()
    report = scan_path(path, known=known(KEY))
    assert report.findings == [] and report.incomplete == [], report
    reading = recheck_bytes(data, known(KEY))
    assert reading.clean and not reading.incomplete, reading
    assert time.process_time() - began < 120


def test_sanitize_redacts_the_rt17_forms(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    init_home(home)
    source, out = tmp_path / "app.log", tmp_path / "clean.log"
    text = base58(DER)
    quoted = b"\n".join(b"> " + text[at:at + 64] for at in range(0, len(text), 64))
    source.write_bytes(LOG + b"d =\n" + _wrap64(SCALAR) + b"\n" + LOG + quoted + b"\n" + LOG)
    result = sanitize(source, out, home, known(KEY))
    cleaned = out.read_bytes()
    assert result.status == "clean" and result.redacted_bytes > 0, result
    assert str(SCALAR).encode()[:64] not in cleaned and text[64:128] not in cleaned
    assert cleaned.startswith(LOG[:200])
    assert recheck_bytes(cleaned, KnownKeys()).clean
