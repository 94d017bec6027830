"""The independent reader's value reader (issue #32, round 14, F1, F2, F3b, F5): a key's bytes
printed as numbers with decorations, comments, row offsets or index columns, as escaped literals
split over lines, or with doubled backslashes; each form in a case that only this reader finds
(every other rule of the reader misses it, as main did)."""

from __future__ import annotations

import pprint
import random
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from signward.dumps import KnownKeys, sanitize
from signward.home import Home
from signward.scan import recheck_values as values
from signward.scan.recheck import Budget, RecheckFinding, _Exhausted, _Reader, recheck_bytes, recheck_path
from signward.scan.recheck_codecs import Oversized
from signward.scan.recheck_values import read_values
from tests.scan.material import EC, ED, RSA, known

KNOWN = known(EC, RSA, ED)
EC_DER = EC.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
SCALAR = EC.private_numbers().private_value.to_bytes(32, "big")
SEED = ED.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
SECRETS = {"pkcs8": EC_DER, "scalar": SCALAR, "seed": SEED}
FILLER = b"".join(b"2026-12-06T14:00:%02d INFO worker ready id=%d\n" % (i % 60, i) for i in range(50))


def _rows(d: bytes, n: int) -> list[bytes]:
    return [d[i:i + n] for i in range(0, len(d), n)]


def _sb(x: int) -> int:
    return x - 256 if x > 127 else x


def _ascii(row: bytes) -> str:
    return "".join(chr(c) if 32 <= c < 127 else "." for c in row)


def _tcpdump(d: bytes, ascii_column: bool, tab: str = "\t") -> bytes:
    out = []
    for i, row in enumerate(_rows(d, 16)):
        words = " ".join(row[j:j + 2].hex() for j in range(0, len(row), 2))
        tail = "  " + " " * (40 - len(words)) + _ascii(row) if ascii_column else ""
        out.append("%s0x%04x:  %s%s" % (tab, i * 16, words, tail))
    return ("12:00:01.000000 IP 10.0.0.1.443 > 10.0.0.2.5000: Flags [P.], length %d\n" % len(d)
            + "\n".join(out)).encode()


def _java(d: bytes, cast: Callable[[int], str], per_line: int = 8) -> bytes:
    return (b"byte[] k = {\n" + b",\n".join(b"    " + ", ".join(cast(x) for x in row).encode()
                                            for row in _rows(d, per_line)) + b"\n};")


def _c_rows(d: bytes, row: Callable[[int, bytes], str], sep: str = "\n") -> bytes:
    return (b"static const uint8_t k[] = {\n" + sep.join(row(i, r) for i, r in enumerate(_rows(d, 16))).encode()
            + b"\n};")


def _hexes(r: bytes, spec: str = "0x%02x") -> str:
    return ", ".join(spec % x for x in r)


def _literals(d: bytes, escape: str, join: str, n: int = 16, quote: str = '"') -> bytes:
    return join.join(quote + "".join(escape % x for x in r) + quote for r in _rows(d, n)).encode()


FORMS: dict[str, tuple[str, Callable[[bytes], bytes]]] = {
    # F1: decorated or unpadded numbers
    "java (byte) every element": ("values", lambda d: _java(d, lambda x: "(byte)0x%02x" % x)),
    "java (byte) only > 0x7f": ("values", lambda d: _java(d, lambda x: ("(byte)0x%02X" % x) if x > 127
                                                          else "0x%02X" % x, 40)),
    "java (byte) decimal": ("values", lambda d: _java(d, lambda x: "(byte) %d" % x, 12)),
    "c# (sbyte) signed": ("values", lambda d: _java(d, lambda x: "(sbyte)%d" % _sb(x), 12)),
    "kotlin toByte": ("values", lambda d: b"val k = byteArrayOf(" + ", ".join(
        "0x%02x.toByte()" % x for x in d).encode() + b")"),
    "kotlin toByte only > 0x7f": ("values", lambda d: b"byteArrayOf(" + ", ".join(
        ("0x%02X.toByte()" % x) if x > 127 else "0x%02X" % x for x in d).encode() + b")"),
    "python hex() list": ("values", lambda d: b"key=" + repr([hex(x) for x in d]).encode()),
    "python bin() list": ("values", lambda d: b"bits=" + repr([bin(x) for x in d]).encode()),
    "js toString(16) strings": ("values", lambda d: b"key [ " + ", ".join("'%x'" % x for x in d).encode() + b" ]"),
    "js toString(16) upper, double quotes": ("values", lambda d: ("[" + ",".join('"%X"' % x for x in d)
                                                                  + "]").encode()),
    "rust {:x?}": ("values", lambda d: ("key: [" + ", ".join("%x" % x for x in d) + "]").encode()),
    "rust u8 suffix": ("values", lambda d: ("let k = [" + ", ".join("0x%02xu8" % x for x in d) + "];").encode()),
    "nasm db 030h": ("values", lambda d: b"key:\n" + b"\n".join(
        b"    db " + ", ".join("0%02Xh" % x for x in r).encode() for r in _rows(d, 16))),
    "masm DB lower h": ("values", lambda d: b"key\n" + b"\n".join(
        b"\tDB " + ",".join("0%02xh" % x for x in r).encode() for r in _rows(d, 12))),
    "php print_r": ("values", lambda d: ("Array\n(\n" + "".join("    [%d] => %d\n" % (i + 1, x)
                                                                for i, x in enumerate(d)) + ")").encode()),
    "php var_dump": ("values", lambda d: ("array(%d) {\n" % len(d) + "".join(
        "  [%d]=>\n  int(%d)\n" % (i + 1, x) for i, x in enumerate(d)) + "}").encode()),
    "one %02x a line": ("values", lambda d: "\n".join("%02x" % x for x in d).encode()),
    "one %X a line, CRLF": ("values", lambda d: "\r\n".join("%X" % x for x in d).encode()),
    "full-width commas": ("values", lambda d: ("key=[" + "\uff0c".join(str(x) for x in d) + "]").encode()),
    "numbered lines, hex values": ("values", lambda d: "\n".join("%4d: 0x%02x" % (i, x)
                                                                 for i, x in enumerate(d)).encode()),
    "html decimal entities": ("values", lambda d: b"<p>" + b"".join(b"&#%d;" % x for x in d) + b"</p>"),
    "html hex entities": ("values", lambda d: b"<p>" + b"".join(b"&#x%X;" % x for x in d) + b"</p>"),
    # F2: rows with comments or offsets
    "c CRLF rows of 8, comments after": ("values", lambda d: b"{\r\n" + b"\r\n".join(
        ("  %s, /* %d */" % (_hexes(r), i)).encode() for i, r in enumerate(_rows(d, 8))) + b"\r\n}"),
    "c offset comments": ("values", lambda d: _c_rows(d, lambda i, r: "    /* %04x */ %s," % (i * 16, _hexes(r)))),
    "c trailing comments": ("values", lambda d: _c_rows(d, lambda i, r: "    %s, // %d" % (_hexes(r), i * 16))),
    "c# comment lines": ("values", lambda d: _c_rows(d, lambda i, r: "    %s," % _hexes(r, "0x%02X"),
                                                     "\n    // next row\n")),
    "python # comments": ("values", lambda d: b"K = [\n" + b"\n".join(
        ("    %s,  # row %d" % (", ".join(str(x) for x in r), i)).encode() for i, r in enumerate(_rows(d, 16)))
        + b"\n]"),
    "tcpdump -x": ("values", lambda d: _tcpdump(d, False)),
    "tcpdump -X": ("values", lambda d: _tcpdump(d, True)),
    "tcpdump -X, spaces": ("values", lambda d: _tcpdump(d, True, "        ")),
    # F3b: escaped literals split over lines
    "c adjacent \\x literals": ("escaped", lambda d: b"static const char k[] =\n"
                                + _literals(d, "\\x%02x", "\n    ") + b";"),
    "c adjacent octal literals": ("escaped", lambda d: b"char k[] =\n  " + _literals(d, "\\%03o", "\n  ", 12) + b";"),
    "js + lines": ("escaped", lambda d: b"var k = " + _literals(d, "\\x%02X", " +\n") + b";"),
    "java + at line start": ("escaped", lambda d: b"String k = " + _literals(d, "\\%o", "\n    + ") + b";"),
    "shell \\ continuation": ("escaped", lambda d: b"printf " + _literals(d, "\\x%02x", " \\\n  ", 16, "'")),
    "python pprint of bytes": ("escaped", lambda d: b"key = " + pprint.pformat(d, width=60).encode()),
    "python pprint of a bytearray": ("escaped", lambda d: b"x = " + pprint.pformat(bytearray(d), width=50).encode()),
    "python pprint in a dict": ("escaped", lambda d: b"cfg = " + pprint.pformat({"k": d, "n": 1}, width=50).encode()),
    # F5: PostgreSQL bytea, escape format, in COPY (doubled backslashes)
    "pg COPY bytea escape": ("escaped", lambda d: b"COPY t (k) FROM stdin;\n1\t" + b"".join(
        b"\\\\%03o" % x for x in d) + b"\n\\.\n"),
    "pg COPY bytea printable raw": ("escaped", lambda d: b"1\t" + b"".join(
        (bytes([x]) if 32 < x < 127 and x != 92 else b"\\\\%03o" % x) for x in d) + b"\t2\n"),
}


UNPADDED = {"js toString(16) strings", "js toString(16) upper, double quotes", "rust {:x?}", "one %X a line, CRLF"}


def _ours(finding: RecheckFinding, label: str) -> bool:
    if label == "values":
        return "> byte-list values (" in finding.view
    return "> escaped (joined literals)" in finding.view or "> escaped (doubled backslashes)" in finding.view


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("secret", sorted(SECRETS))
def test_a_key_printed_as_values_is_found_only_by_the_value_reader(form: str, secret: str) -> None:
    label, write = FORMS[form]
    data = SECRETS[secret]
    printed = write(data)
    artifact = FILLER + printed + b"\n" + FILLER
    assert data not in artifact and data.hex().encode() not in artifact.lower()
    report = recheck_bytes(artifact, KNOWN, "log")
    ours = [f for f in report.findings if _ours(f, label)]
    # the miss on main: no other rule of the reader finds anything here (an unpadded form of
    # bytes that are all >= 0x10 is the padded form main reads: also a key's 32-byte scalar in it)
    if form not in UNPADDED or all(any(x < 16 for x in data[i:i + 32]) for i in range(len(data) - 31)):
        # (recheck_words reads the rows of words among these forms too: its own view)
        assert [f for f in report.findings if f not in ours and "> word rows (" not in f.view] == [], report.findings
    assert ours, (form, report.incomplete)
    assert {f.kind for f in ours} <= {"der", "known-key"}, ours
    start = len(FILLER)
    for finding in ours:  # at the printed run's span (sanitize redacts it); the number ending the
        # line before (`id=49`) or opening the line after (`2026`) may join a sequence
        assert finding.span is not None and start - 3 <= finding.span[0] < finding.span[1] <= start + len(printed) + 5


def test_values_are_read_in_every_base_and_without_an_index_column() -> None:
    """The readings the forms above rely on, each alone: a mutant of one base is seen here."""
    for spelled, view in [(", ".join("0b%s" % format(x, "b") for x in SCALAR), "(binary)"),
                          (", ".join("%03o" % x for x in SCALAR), "(octal)"),
                          ("\n".join("%d %d" % (i * 3, _sb(x)) for i, x in enumerate(SCALAR)), "(decimal, indexed)")]:
        report = recheck_bytes(FILLER + spelled.encode() + b"\n" + FILLER, KNOWN, "log")
        assert any(view in f.view and f.kind == "known-key" for f in report.findings), (view, report.findings)


def _log(lines: int) -> bytes:
    rng = random.Random(7)
    out = []
    for i in range(lines):
        kind = i % 6
        if kind == 0:
            out.append("2026-12-06T14:%02d:%02d.%06dZ INFO req=%d took=%d.%03dms" % (
                i % 60, i % 60, rng.randrange(10**6), i, rng.randrange(500), rng.randrange(1000)))
        elif kind == 1:
            out.append("link %s up, mtu 1500, %s" % (":".join("%02x" % rng.randrange(256) for _ in range(6)),
                                                     "-".join(("%08x" % rng.getrandbits(32)), )))
        elif kind == 2:
            out.append("uuid=%08x-%04x-%04x-%04x-%012x version=%d.%d.%d" % (
                rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(16), rng.getrandbits(16),
                rng.getrandbits(48), rng.randrange(9), rng.randrange(30), rng.randrange(200)))
        elif kind == 3:
            out.append("| %8.3f | %8.3f | %6d | %5d |" % (rng.random() * 1000, rng.random(), rng.randrange(10**6),
                                                         rng.randrange(300)))
        elif kind == 4:
            out.append("static const int primes[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, %d};"
                       % (53 + i))
        else:
            out.append("    0x%04x, 0x%04x, /* reg %d */ 0x%04x, // mask" % (i, i * 2, i, i * 3))
    return "\n".join(out).encode()


def test_an_ordinary_log_and_code_are_no_findings() -> None:
    """3,000 lines: timestamps, MACs, UUIDs, versions, a decimal table, numeric arrays that are no
    keys, comments: no finding, nothing incomplete."""
    report = recheck_bytes(_log(3000), KNOWN, "log")
    assert report.findings == [] and report.incomplete == [], (report.findings[:3], report.incomplete)


def _cpu_seconds(data: bytes) -> float:
    reader = _Reader(KnownKeys(), Budget.for_size(len(data)))
    started = time.process_time()
    try:
        read_values(reader, data, "log", 0)
    except Oversized:
        pass  # (a run past its bound: incomplete, refused; what counts here is the time to it)
    return time.process_time() - started


@pytest.mark.parametrize("unit", [
    b"(byte)0x30, " * 15 + b"zz\n",  # 15 decorated values, then a word: no sequence
    # 14 bytes a row, no row after its ASCII column (rows that follow on are one sequence, read in
    # windows now, not refused at 2 MB: 3 MB of them is about 8 CPU s, linear)
    b"0x0000:  3081 8702 0100 3013 0607 2a86 48ce  q\n\n",
    b'"\\x30\\x81" "\\x87' + b"\n",  # literals that never close
    b"\\\\060\\\\201" * 3 + b"\\\\060 \n",  # 7 doubled escapes, a space
    b"[1] => 48\n" * 7 + b"x\n",
    b"k[1] = 0x30;\n" * 7 + b"k[1] = q;\n",  # 7 assignments a line, then no number
])
def test_three_megabytes_of_near_misses_cost_under_a_second(unit: bytes) -> None:
    data = unit * (3_000_000 // len(unit))
    assert _cpu_seconds(data) < 2.5  # (measured 0.3-0.7 s; a quadratic reading takes minutes)


def test_more_sequences_than_the_bound_is_incomplete() -> None:
    data = (b",".join(b"(byte)%d" % (i % 7) for i in range(16)) + b" zz\n") * 28_000
    with pytest.raises(_Exhausted, match="more than 2[0-9]+ value sequences"):
        read_values(_Reader(KnownKeys(), Budget.for_size(len(data))), data, "log", 0)


def test_more_windows_than_the_bound_is_incomplete(monkeypatch: pytest.MonkeyPatch) -> None:
    """(The bound is set low here: a window moves 16K+ bytes, so no real view reaches 4 + one per
    8 KiB.) Past it: incomplete, with the reason, not clean."""
    monkeypatch.setattr(values, "WINDOW_BYTES", 1 << 40)  # 4 windows at most
    data = b"k = byteArrayOf(" + b"0x0.toByte(), " * 120_000 + b")"
    with pytest.raises(Oversized, match="more than 4 value windows"):
        read_values(_Reader(KnownKeys(), Budget.for_size(len(data))), data, "log", 0)


def test_a_csv_of_integers_is_read_in_windows_not_refused() -> None:
    """rt14b F3a: a 3.2 MB CSV of integers (one sequence: no words in it) was refused on main
    (`a value sequence of more than 2097152 characters`); read in windows it is clean."""
    csv = b"t,temp,hum,press\n" + b"".join(b"%d,%d,%d,%d\n" % (1_700_000_000 + i, 200 + i % 50, 40 + i % 30,
                                                                   1000 + i % 20) for i in range(140_000))
    assert len(csv) > 3_000_000
    report = recheck_bytes(csv, KNOWN, "sensors.csv")
    assert report.findings == [] and report.incomplete == [], (report.findings[:3], report.incomplete)


def test_a_key_in_the_tail_after_the_token_bound_is_found() -> None:
    """rt14b F2: a Rust `{:x?}` list of 16,397 bytes whose last 32 are the scalar: its tail past the
    pattern's 16,385 tokens has 12 values (main dropped it); the next window starts 8,192 back."""
    rng = random.Random(14)
    body = bytes(rng.randrange(0x20, 0x7F) for _ in range(16_397 - 32)) + SCALAR
    artifact = FILLER + b"[" + b", ".join(b"%x" % x for x in body) + b"]\n" + FILLER
    report = recheck_bytes(artifact, KNOWN, "log")
    assert any("byte-list values (hex)" in f.view and f.kind == "known-key" for f in report.findings), \
        (report.findings, report.incomplete)


def test_a_sequence_cut_at_the_token_bound_is_joined_again() -> None:
    padded = bytes(16_300) + EC_DER  # across the pattern's cut after 16,385 numbers
    artifact = FILLER + b", ".join(b"0x%x.toByte()" % x for x in padded) + b"\n" + FILLER
    report = recheck_bytes(artifact, KNOWN, "log")
    assert any("byte-list values" in f.view and f.kind == "der" for f in report.findings), report.findings


def _resource(pieces: int, secret: bytes = b"", at: int = 0) -> bytes:
    """bin2c's form: adjacent literals of 16 `\\xNN` escapes each; `secret` spelled from piece `at`."""
    rng = random.Random(5)
    data = bytearray(rng.randrange(0x20, 0x7F) for _ in range(16 * pieces))
    data[16 * at:16 * at + len(secret)] = secret
    return (b"static const char font_ttf[] =\n" + b"".join(
        b'    "' + b"".join(b"\\x%02x" % x for x in row) + b'"\n' for row in _rows(bytes(data), 16)) + b";\n")


def test_five_thousand_joined_literals_are_read_in_windows_not_refused() -> None:
    """rt14b F3b: 5,000 adjacent literals (an embedded font) were refused on main (`4096 or more
    joined literals`): clean now."""
    report = recheck_bytes(FILLER + _resource(5_000) + FILLER, KNOWN, "font.c")
    assert report.findings == [] and report.incomplete == [], (report.findings[:3], report.incomplete)


def test_joined_literals_longer_than_the_bound_are_incomplete() -> None:
    """A window of 60 literals of 40,000 characters each (bodies past MAX_JOINED): incomplete."""
    piece = b'"' + b"\\x00" * 10_000 + b'"'
    report = recheck_bytes(b"k = " + b"\n".join([piece] * 60) + b";\n", KNOWN, "log")
    assert any("joined literals of more than" in why for why in report.incomplete), report.incomplete


def test_a_key_across_a_joined_literals_window_edge_is_found() -> None:
    """The scalar spelled over pieces 4,096-4,097 (the first window ends after piece 4,096): found in
    the window that starts 64 pieces before that edge, and only by the joined-literals reading."""
    report = recheck_bytes(FILLER + _resource(5_000, SCALAR, 4_096) + FILLER, KNOWN, "font.c")
    assert any("joined literals" in f.view and f.kind == "known-key" for f in report.findings), \
        (report.findings, report.incomplete)


def test_sanitize_certifies_only_with_the_values_redacted(tmp_path: Path) -> None:
    """End to end: a log with the PKCS#8 as a Java cast list, the scalar as tcpdump -X rows and
    the seed as pprint pieces is certified only with each redacted; the output reads clean."""
    forms = [FORMS["java (byte) every element"][1](EC_DER), _tcpdump(SCALAR, True),
             FORMS["python pprint of bytes"][1](SEED)]
    path = tmp_path / "app.log"
    path.write_bytes(FILLER + b"\n".join(forms) + b"\n" + FILLER)
    result = sanitize(path, tmp_path / "out", Home(tmp_path / "home"), KNOWN)
    output = (tmp_path / "out").read_bytes()
    assert result.status == "clean", result
    assert not any(form in output for form in forms) and len(output) == path.stat().st_size
    assert recheck_path(tmp_path / "out", KNOWN).clean


@pytest.mark.parametrize("spec", ["%x", "0x%x", "%X", "0X%X"])
def test_a_key_printed_as_sign_extended_bytes_is_found(spec: str) -> None:
    """rt14b F1: Java's `Integer.toHexString(b)` and C's `%x` of a signed `char` print a byte
    past 0x7f sign-extended (`ffffff81`): each read as its low byte, found as the PKCS#8 (main
    read them as 4-byte groups or not at all)."""
    spelled = ", ".join(spec % (x | 0xFFFFFF00 if x > 0x7F else x) for x in EC_DER).encode()
    report = recheck_bytes(FILLER + b"int[] k = {" + spelled + b"};\n" + FILLER, KNOWN, "log")
    assert any("byte-list values (hex)" in f.view and f.kind == "der" for f in report.findings), \
        (report.findings, report.incomplete)


def test_words_of_ffffff_below_0x80_are_no_bytes() -> None:
    """`ffffff7f` is no sign-extended byte (its low byte would be positive): no reading of it."""
    spelled = b", ".join(b"0xffffff%02x" % (x & 0x7F) for x in EC_DER)
    report = recheck_bytes(FILLER + b"int[] k = {" + spelled + b"};\n" + FILLER, KNOWN, "log")
    assert report.findings == [], report.findings


@pytest.mark.parametrize("line", ["k[%d] = 0x%02x;", "  key[%d]=%d;", "this->key_[%d] = 0x%02X;", "s.k[%d] = %d"])
def test_a_key_assigned_one_element_a_line_is_found(line: str) -> None:
    """rt14b F1: `ident[N] = 0x30;` one per line (the identifier, a word, cut every line's
    sequence on main): the identifier at a line's head is a decoration, the index column dropped."""
    spelled = "\n".join(line % (i, x) for i, x in enumerate(EC_DER)).encode()
    report = recheck_bytes(FILLER + spelled + b"\n" + FILLER, KNOWN, "log")
    assert any("byte-list values" in f.view and "indexed" in f.view and f.kind == "der" for f in report.findings), \
        (report.findings, report.incomplete)
