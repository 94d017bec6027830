"""Printed tool forms, round 2 (issue #32, red team rt17): quoted literals found in linear time by
both readers (`"` then `\\"` repeated cost 13 s for 50 KB in each), a key in a literal longer than
65,536 characters, Lua `%q`'s newline byte (a backslash and a real newline), `xxd -b` with more
than 16 groups a row, 16-bit groups or offsets past 4 GiB, `od -c` far into a core and gdb
`x/th x/tw x/tg` (binary words, little-endian). Fixed keys (tests/scan/material)."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from cryptography.hazmat.primitives import serialization

from signward.scan import recheck_tools
from signward.scan.printed_tools import decimal_escapes, tool_rows
from signward.scan.recheck import _JSON_STRING, Budget, _Reader
from tests.scan.material import EC, RSA, known
from tests.scan.tool_forms import ROWS, haskell_show, lua_q, ocaml_s, od_c, xxd_b

DER = EC.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
RSA_DER = RSA.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
SCALAR = EC.private_numbers().private_value.to_bytes(32, "big")
LOG = b"".join(b"2026-12-07T01:00:%02d INFO worker ready id=%d\n" % (i, i) for i in range(20))
HOSTILE = b'"' + b'\\"' * 100_000  # 200 KB: every `\\"` a quote a pattern could restart at
# a fixed filler (no random bytes): every byte value, high ones (decimal escapes with 8 or 9) too
FILLER = bytes(range(256)) * 60


def _reader_views(data: bytes) -> tuple[_Reader, float]:
    reader = _Reader(known(EC, RSA), Budget.for_size(len(data)))
    started = time.process_time()
    recheck_tools.read_tools(reader, data, "artifact", 0, [(0, len(data))], 10_000)
    return reader, time.process_time() - started


def test_a_quote_and_escaped_quotes_cost_linear_time_in_both_readers() -> None:
    """The hostile literal that never closes: 200 KB in well under a second each (it was
    quadratic: 13 s for 50 KB); nothing read from it."""
    started = time.process_time()
    views = list(decimal_escapes(HOSTILE, 0, len(HOSTILE)))
    assert time.process_time() - started < 10 and views == []
    lines = (b'"' + b'\\9\\"' * 20_000 + b"\n") * 5  # with a decimal hint, a line each
    started = time.process_time()
    assert list(decimal_escapes(lines, 0, len(lines))) == []
    assert time.process_time() - started < 10
    for data in (HOSTILE, lines):
        reader, spent = _reader_views(data)
        assert spent < 10 and reader.report.findings == [] and reader.report.incomplete == [], spent


def test_a_key_in_a_literal_longer_than_the_bound_is_found_by_the_scanner() -> None:
    """Haskell `show` / OCaml `%S` of a buffer of more than 65,536 characters with the key inside:
    read in overlapping windows, the key whole in one of them."""
    for write in (haskell_show, ocaml_s):
        literal = write(FILLER + DER + FILLER)
        assert len(literal) > 65_536
        data = LOG + b"buffer = " + literal + b"\n" + LOG
        views = list(decimal_escapes(data, 0, len(data)))
        assert any(DER in decoded for _, _, decoded, _, _ in views), write


def test_a_key_in_a_long_literal_is_found_by_the_reader() -> None:
    """(Read whole; in a whole recheck a literal this long is refused first by recheck_bytelists.)"""
    literal = haskell_show(FILLER + DER + FILLER)
    reader, _ = _reader_views(LOG + b"buffer = " + literal + b"\n" + LOG)
    assert [f.kind for f in reader.report.findings] and all(
        "> escaped (decimal)" in f.view for f in reader.report.findings), reader.report.findings


def test_lua_writes_a_newline_byte_as_a_backslash_and_a_newline() -> None:
    """The literal goes on past the backslash-newline (else it was two halves, neither closed)."""
    data = LOG + b"key = " + lua_q(RSA_DER) + b"\n" + LOG
    assert b"\\\n" in data
    views = list(decimal_escapes(data, 0, len(data)))
    assert [decoded for _, _, decoded, _, _ in views] == [RSA_DER]
    reader, _ = _reader_views(data)
    assert reader.report.findings and all("> escaped (decimal)" in f.view for f in reader.report.findings)


def test_the_xxd_forms_are_what_xxd_prints() -> None:
    for options, write in ((["-c", "24"], ROWS["xxd -b -c 24"]), (["-c", "32"], ROWS["xxd -b -c 32"]),
                           (["-g", "2"], ROWS["xxd -b -g 2"]), (["-o", "0x7f0000000"], ROWS["xxd -b -o 0x7f0000000"])):
        try:
            done = subprocess.run(["xxd", "-b", *options], input=DER, capture_output=True, check=False)
        except FileNotFoundError:
            return
        if done.returncode == 0:
            assert done.stdout == write(DER), options


@pytest.mark.parametrize("form", ["xxd -b -c 24", "xxd -b -c 32", "xxd -b -g 2", "xxd -b -o 0x7f0000000",
                                  "od -c -j far", "gdb x/th", "gdb x/tw", "gdb x/tg"])
def test_the_new_rows_are_read_as_the_bytes_they_print(form: str) -> None:
    """Each new form read whole by both readers (the scalar: no other reading could make it up)."""
    data = LOG + ROWS[form](SCALAR) + b"\n" + LOG
    views = [decoded for _, _, decoded, _, _ in tool_rows(data, 0, len(data))]
    assert any(decoded.startswith(SCALAR) for decoded in views), (form, [v.hex() for v in views])
    blocks = []
    for line in data.split(b"\n"):
        got = recheck_tools._line(line)
        if got is not None:
            blocks.append(got[1])
    assert b"".join(blocks).startswith(SCALAR), (form, blocks)


def test_a_tb_row_is_not_read_as_words_nor_an_xxd_row_as_gdb_words() -> None:
    """gdb `x/tb` (8 bits) stays bytes in order; xxd's 16-bit groups are bytes in order, gdb's
    16-bit groups little-endian words (the heads tell them apart)."""
    gdb = b"0x4000 <k>:\t0000000100000010\t0000001100000100"
    xxd = b"00000000: 0000000100000010 0000001100000100  ...."
    assert [decoded for _, _, decoded, _, _ in tool_rows(gdb + b"\n" + gdb, 0, 2 * len(gdb) + 1)] == []  # 8 bytes
    assert recheck_tools._line(gdb) == ("gdb binary words", bytes([2, 1, 4, 3]))
    assert recheck_tools._line(xxd) == ("binary", bytes([1, 2, 3, 4]))
    rows = (gdb + b"\n") * 4
    assert [v[2] for v in tool_rows(rows, 0, len(rows))] == [bytes([2, 1, 4, 3]) * 4]
    rows = (xxd + b"\n") * 4
    assert [v[2] for v in tool_rows(rows, 0, len(rows))] == [bytes([1, 2, 3, 4]) * 4]


def test_od_far_offsets_and_no_key_is_no_finding() -> None:
    data = LOG + od_c(bytes(range(64)), skip=0o7777777777770000) + LOG + xxd_b(bytes(range(64)), 32)
    reader, _ = _reader_views(data)
    assert reader.report.findings == []


def test_the_readers_json_strings_are_found_in_linear_time() -> None:
    """recheck's JSON string search takes an unclosed body whole (it restarted at every `\\"`:
    quadratic); a string after a short one, or with escaped quotes, is still read."""
    started = time.process_time()
    assert [m.group(1) for m in _JSON_STRING.finditer(HOSTILE)] == [None]  # one body, unclosed
    assert time.process_time() - started < 1
    pem = EC.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                           serialization.NoEncryption()).decode()
    document = ('{"a": "b", "note": "say \\"hi\\"", "pem": ' + json.dumps(pem) + "}").encode()
    strings = [json.loads(m.group(0)) for m in _JSON_STRING.finditer(document) if m.group(1) is not None]
    assert strings == ['say "hi"', pem], strings
