"""The scanner reads `od -b` rows (octal bytes behind an octal offset) and lists of character
literals (`'0', '\\x82', '\\001'` in C/Java arrays of char) (brief forms, issue #32): each was clean on
main cd29e5a (the scanner found nothing); here only `printed_chars.py` finds it."""

from __future__ import annotations

import random
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from signward.scan.printed_chars import char_lists, od_rows
from signward.scan.printed_tools import decimal_escapes, tool_rows
from signward.scan.scanner import scan_path
from tests.scan.material import EC, RSA, known
from tests.scan.tool_forms import DECIMAL, ROWS

DER = EC.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
RSA_DER = RSA.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
SCALAR = EC.private_numbers().private_value.to_bytes(32, "big")
LOG = b"".join(b"2026-12-06T14:00:%02d INFO worker ready id=%d\n" % (i, i) for i in range(20))
DETAILS = ("decoded od -b rows", "decoded character literals")


def _od(d: bytes, *options: str) -> bytes:
    """What `od -b` prints (octal offsets, 16 octal bytes a row, the last offset alone), as od writes it."""
    rows = []
    for at in range(0, len(d), 16):
        offset = {"": "%07o", "-Ax": "%06x", "-Ad": "%07d"}[options[0] if options else ""] % at
        rows.append(offset + "".join(" %03o" % x for x in d[at:at + 16]))
    return ("\n".join(rows) + "\n" + ("%07o" % len(d)) + "\n").encode()


def _char(x: int, escape: str = "\\x%02x") -> bytes:
    if x in (39, 92):
        return b"'\\%c'" % x
    return b"'%c'" % x if 32 <= x < 127 else (("'" + escape + "'") % x).encode()


FORMS: dict[str, Callable[[bytes], bytes]] = {
    "od -b": _od,
    "od -Ax -b": lambda d: _od(d, "-Ax"),
    "od -Ad -b": lambda d: _od(d, "-Ad"),
    "c char[] \\x": lambda d: b"static const char k[] = {" + b", ".join(_char(x) for x in d) + b"};",
    "c char[] octal": lambda d: b"char k[] = {" + b",".join(_char(x, "\\%03o") for x in d) + b"};",
    "java char[] \\u over lines": lambda d: b"char[] k = {\n" + b",\n".join(
        b"    " + b", ".join(_char(x, "\\u%04x") for x in d[i:i + 8]) for i in range(0, len(d), 8)) + b"\n};",
}


def test_the_od_form_is_what_od_prints() -> None:
    done = subprocess.run(["od", "-b"], input=DER, capture_output=True, check=False)
    if done.returncode == 0:  # (od is coreutils: where it runs, the form is its own output)
        assert done.stdout == _od(DER)


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("key", ["ec", "rsa"])
def test_a_key_in_od_rows_or_char_literals_is_found_by_the_scanner(tmp_path: Path, form: str, key: str) -> None:
    printed = FORMS[form](DER if key == "ec" else RSA_DER)
    text = LOG + printed + b"\nend of the form\n" + LOG
    path = tmp_path / "app.log"
    path.write_bytes(text)
    report = scan_path(path, known=known(EC, RSA))  # (the scanner alone: the reader runs in `dumps scan`)
    found = [f for f in report.findings if not f.advisory]
    assert report.incomplete == [] and found, (form, found)
    # no other reading of the scanner takes these forms but the joined literals' (rt18 C): a C char
    # array is written as Python's `''.join(['\\x30', '\\x81', ...])` is, and the scanner keeps one
    # finding of the two; the character-list view itself holds the key (read alone below)
    readings = DETAILS + (("decoded joined escaped literals",) if "char" in form else ())
    ours = [f for f in found if f.detail.startswith(readings)]
    assert ours == found, found
    if "char" in form:
        secret = DER if key == "ec" else RSA_DER
        assert any(secret in view[2] for view in char_lists(text, 0, len(text))), form
    assert ours and {f.kind for f in ours} & {"pkcs8-ec", "rsa-private-key", "pkcs1-rsa", "ec-private-scalar"}, found
    start = text.index(printed)
    assert any(f.offset <= start + 32 and f.end >= start + len(printed) - 32 for f in ours), (ours, start, len(printed))


@pytest.mark.parametrize("form", sorted(FORMS))
def test_the_scalar_alone_is_read(form: str) -> None:
    printed = FORMS[form](SCALAR)
    data = LOG + printed + b"\n" + LOG
    views = list(od_rows(data, 0, len(data))) + list(char_lists(data, 0, len(data)))
    assert any(SCALAR == decoded for _, _, decoded, _, _ in views), (form, [v[2].hex() for v in views])


def test_near_misses_are_no_views_and_cost_little() -> None:
    """15 literals, a literal that is no byte (`'\\u0100'`, `'ab'`), od rows of 4-digit octal: no view;
    3 MB of them in well under a second's CPU per MB."""
    d = bytes(range(0x70, 0x7F))
    unit = (b"char k[] = {" + b", ".join(_char(x) for x in d) + b"};\n"
            + b"{'\\u0100', " + b", ".join(_char(x) for x in d) + b", 'ab', " + b", ".join(_char(x) for x in d) + b"}\n"
            + b"0000000 0601 2017 0020 0010 0007 0052 0206 0110\nsay 'hi', 'there'\n")
    data = unit * (3_000_000 // len(unit))
    started = time.process_time()
    views = list(od_rows(data, 0, len(data))) + list(char_lists(data, 0, len(data)))
    assert time.process_time() - started < 3 and views == [], views[:3]


def test_no_finding_in_a_log_of_these_forms_holding_random_values(tmp_path: Path) -> None:
    rng = random.Random(9)
    lines = [FORMS[sorted(FORMS)[i % len(FORMS)]](rng.randbytes(rng.choice((16, 40, 100)))) for i in range(600)]
    path = tmp_path / "app.log"
    path.write_bytes(b"\n".join(lines))
    report = scan_path(path, known=known(EC))
    assert [f for f in report.findings if not f.advisory] == [] and report.incomplete == []


TOOL_DETAILS = ("decoded od -c rows", "decoded binary rows", "decoded gdb x/cb rows", "decoded WinDbg word rows",
                "decoded lldb word rows", "decoded decimal escapes")
TOOL_FORMS = {**ROWS, **DECIMAL}


def test_the_tool_forms_are_what_the_tools_print() -> None:
    """od -c, od -An -c and xxd -b as written in tool_forms are the real tools' output (rt16 B)."""
    for command, write in ((["od", "-c"], ROWS["od -c"]), (["od", "-An", "-c"], ROWS["od -An -c"]),
                           (["xxd", "-b"], ROWS["xxd -b"])):
        try:
            done = subprocess.run(command, input=DER, capture_output=True, check=False)
        except FileNotFoundError:
            continue
        if done.returncode == 0:
            assert done.stdout == write(DER), command


@pytest.mark.parametrize("form", sorted(TOOL_FORMS))
@pytest.mark.parametrize("key", ["ec", "rsa"])
def test_a_key_in_tool_rows_or_decimal_escapes_is_found_by_the_scanner(tmp_path: Path, form: str, key: str) -> None:
    """rt16 B: the tool-row and decimal-escape readings of the scanner find these forms."""
    printed = TOOL_FORMS[form](DER if key == "ec" else RSA_DER)
    text = LOG + printed + b"\nend of the form\n" + LOG
    path = tmp_path / "app.log"
    path.write_bytes(text)
    report = scan_path(path, known=known(EC, RSA))
    found = [f for f in report.findings if not f.advisory]
    assert report.incomplete == [] and found, (form, found)
    ours = [f for f in found if f.detail.startswith(TOOL_DETAILS)]
    assert ours, found
    assert {f.kind for f in ours} & {"pkcs8-ec", "rsa-private-key", "pkcs1-rsa", "ec-private-scalar", "rsa-prime",
                                     "rsa-private-exponent"}, found


@pytest.mark.parametrize("form", sorted(TOOL_FORMS))
def test_the_scalar_alone_is_read_from_tool_forms(form: str) -> None:
    data = LOG + TOOL_FORMS[form](SCALAR) + b"\n" + LOG
    views = list(tool_rows(data, 0, len(data))) + list(decimal_escapes(data, 0, len(data)))
    assert any(decoded.startswith(SCALAR) for _, _, decoded, _, _ in views), (form, [v[2].hex() for v in views])


def test_tool_form_near_misses_are_no_views_and_cost_little() -> None:
    """Octal literals (no 8 or 9), 15-byte rows, blank indented lines, a C string of `\\1`: no view;
    3 MB of them in a few seconds."""
    unit = (b'"\\001\\002\\003\\004\\005\\006\\007\\010\\011\\012\\013\\014\\015\\016\\017\\020\\021"\n'
            + b"                                                                \n"
            + b"0x4020 <key>:\t00110000\t10000001\n0x4040 <k>:\t1 '\\001'\t2 '\\002'\n"
            + b"00000000`00401000  02878130 13300001 862a07\nsay \"hi \\9\" and \"there\"\n")
    data = unit * (3_000_000 // len(unit))
    started = time.process_time()
    views = list(tool_rows(data, 0, len(data))) + list(decimal_escapes(data, 0, len(data)))
    assert time.process_time() - started < 6, time.process_time() - started
    assert views == [], views[:3]
