"""The scanner reads keys printed as text (issue #32, session 13, red team F1): byte lists, escaped
string literals, separated hex and word dumps, and base64 split into pieces. In each case the raw
text holds no armour, no DER and no base64 run another rule reads, so only `printed.py` can find
it; the finding covers the whole printed form."""

from __future__ import annotations

import base64
import json
import random
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from signward.scan.chunks import Chunk
from signward.scan.decoded_runs import split_runs
from signward.scan.detectors import select
from signward.scan.formats import Layout, Region
from signward.scan.printed import printed_views, scan_printed
from signward.scan.scanner import scan_path
from tests.scan.material import EC, RSA, known

DER = EC.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
LOG = b"".join(b"2026-12-06T14:00:%02d INFO worker ready id=%d\n" % (i, i) for i in range(20))


def _signed(value: int) -> int:
    return value - 256 if value > 127 else value


def _tool(*command: str) -> bytes:
    """A real tool's dump of DER (`xxd`, `hexdump`, `od`)."""
    return subprocess.run(command, input=DER, capture_output=True, check=True).stdout


def _spaced(data: bytes) -> bytes:
    return " ".join(f"{b:02x}" for b in data).encode()


def _wrapped(values: list[str], per_line: int, separator: str) -> str:
    lines = [separator.join(values[at:at + per_line]) for at in range(0, len(values), per_line)]
    return "[" + (separator.rstrip() + "\n ").join(lines) + "]"


FORMS: dict[str, Callable[[], bytes]] = {
    "python-repr": lambda: repr(DER).encode(),
    "python-list": lambda: str(list(DER)).encode(),
    "python-list-wrapped": lambda: _wrapped([str(b) for b in DER], 12, ", ").encode(),
    "java-signed": lambda: str([_signed(b) for b in DER]).encode(),
    "java-signed-no-brackets": lambda: ",".join(str(_signed(b)) for b in DER).encode(),
    "go-v": lambda: ("[" + " ".join(str(b) for b in DER) + "]").encode(),
    "rust-0x": lambda: ("[" + ", ".join(f"0x{b:02x}" for b in DER) + "]").encode(),
    "rust-0X-tabs": lambda: "\t".join(f"0X{b:02X}" for b in DER).encode(),
    "c-octal": lambda: ('"' + "".join(f"\\{b:03o}" for b in DER) + '"').encode(),
    "c-octal-short": lambda: ('"' + "".join(f"\\{b:o}" if b < 8 else f"\\{b:03o}" for b in DER) + '"').encode(),
    "x-escapes-upper": lambda: "".join(f"\\x{b:02X}" for b in DER).encode(),
    "dotnet-dash": lambda: "-".join(f"{b:02X}" for b in DER).encode(),
    "colon-lower": lambda: ":".join(f"{b:02x}" for b in DER).encode(),
    "spaced": lambda: " ".join(f"{b:02x}" for b in DER).encode(),
    "rust-02x": lambda: ("[" + ", ".join(f"{b:02x}" for b in DER) + "]").encode(),
    "xxd": lambda: _tool("xxd"),
    "xxd-e": lambda: _tool("xxd", "-e"),
    "xxd-g8-upper": lambda: _tool("xxd", "-u", "-g", "4"),
    "hexdump": lambda: _tool("hexdump"),
    "hexdump-C": lambda: _tool("hexdump", "-C"),
    "od-x": lambda: _tool("od", "-x"),
    "od-An-tx4": lambda: _tool("od", "-An", "-tx4"),
    "certutil": lambda: b"".join(b"%04x\t%s  %s   %s\r\n" % (
        at, _spaced(DER[at:at + 8]), _spaced(DER[at + 8:at + 16]),
        bytes(c if 32 <= c < 127 else 46 for c in DER[at:at + 16])) for at in range(0, len(DER), 16)),
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_a_key_printed_in_a_log_is_found_at_the_whole_printed_form(tmp_path: Path, form: str) -> None:
    printed = FORMS[form]().rstrip(b"\n")
    assert DER not in printed and base64.b64encode(DER)[:40] not in printed
    text = LOG + printed + b"\n" + LOG
    path = tmp_path / "app.log"
    path.write_bytes(text)
    start = text.index(printed)
    found = scan_path(path, known=known(EC)).findings
    spans = {(f.offset, f.end) for f in found if f.encoding.endswith("+der")}
    assert found and all(f.encoding.split("+")[0] in {"byte-list", "escaped", "hex", "hex-words",
                                                      "hex-words-swapped"} for f in found), found
    # the whole form (a dump's first and last rows whole, a list's brackets or quotes and a dump's
    # closing line of its length alone aside)
    body = re.sub(rb"\n[0-9a-f]+$", b"", printed)
    assert any(low <= start + 2 and high >= start + len(body) - 2 for low, high in spans), (spans, start, len(body))


def _split(form: str) -> bytes:
    run = base64.b64encode(DER).decode()
    if form == "java-concat":
        return (" +\n    ".join(f'"{run[at:at + 60]}"' for at in range(0, len(run), 60))).encode()
    if form == "python-implicit":
        return ("(\n    " + "\n    ".join(f"'{run[at:at + 32]}'" for at in range(0, len(run), 32)) + "\n)").encode()
    if form == "c-adjacent":
        return (" ".join(f'"{run[at:at + 16]}"' for at in range(0, len(run), 16))).encode()
    if form == "shell-continuation":
        return ("\\\n".join(run[at:at + 60] for at in range(0, len(run), 60))).encode()
    return " ".join(run[at:at + 4] for at in range(0, len(run), 4)).encode()  # groups of 4


@pytest.mark.parametrize("form", ["java-concat", "python-implicit", "c-adjacent", "shell-continuation", "groups-of-4"])
def test_base64_split_into_pieces_is_joined_and_found(tmp_path: Path, form: str) -> None:
    printed = _split(form)
    text = LOG + b"K = " + printed + b"\n" + LOG
    path = tmp_path / "key.src"
    path.write_bytes(text)
    found = scan_path(path, known=known(EC)).findings
    pieces = [(f.offset, f.end, f.encoding) for f in found if f.encoding.startswith("base64-split+")]
    run = base64.b64encode(DER)
    start, end = text.index(run[:4]), text.index(run[-4:]) + 4  # its first and last pieces whole
    assert pieces and all(low <= start and high >= end for low, high, _ in pieces), (pieces, start, end)


def _chunk(data: bytes) -> Chunk:
    layout = Layout(format="raw", size=len(data), regions=[Region(0, len(data), None)])
    return Chunk(data, 0, len(data), layout, known(EC))


def test_a_canary_scalar_in_a_word_dump_is_read_byte_swapped() -> None:
    scalar = EC.private_numbers().private_value.to_bytes(32, "big")
    words = [scalar[at:at + 4][::-1].hex() for at in range(0, 32, 4)]  # `xxd -e`: little-endian words
    dump = (b"00000000: " + " ".join(words[:4]).encode() + b"  ....\n"
            b"00000010: " + " ".join(words[4:]).encode() + b"  ....\n")
    views = {(layers, decoded) for _, _, decoded, layers, _ in printed_views(LOG + dump, 0, len(LOG + dump))}
    assert ("hex-words-swapped", scalar) in views


def test_log_lines_with_dates_are_not_rows_of_a_dump_next_to_a_key() -> None:
    # every log line holds `12-06` (two groups of separated hex): not a dump's row, so the key's
    # line is read alone, and the view is the key's bytes exactly
    key = bytes(random.Random(5).randbytes(32))
    data = LOG + "-".join(f"{b:02X}" for b in key).encode() + b"\n" + LOG
    assert [decoded for _, _, decoded, layers, _ in printed_views(data, 0, len(data)) if layers == "hex"] == [key]


def test_values_out_of_range_end_a_byte_list_and_short_lists_are_not_read() -> None:
    head, tail = list(range(100, 120)), list(range(200, 215))
    data = ("[" + ", ".join(map(str, head)) + ", 256, " + ", ".join(map(str, tail)) + "]").encode()
    assert [decoded for _, _, decoded, _, _ in printed_views(data, 0, len(data))] == [bytes(head)]
    escaped = "".join(f"\\x{b:02x}" for b in range(7)).encode() + b"ABCDEFGHIJKLMNOP"  # 7 escapes
    assert not list(printed_views(escaped, 0, len(escaped)))


def test_split_runs_do_not_join_prose_or_short_pieces() -> None:
    prose = b"This is some text with many words and none of them base64 " * 4 + b'"abcd" + "efgh"'
    assert not list(split_runs(prose))


def test_past_the_view_bound_the_chunk_is_incomplete_never_clean() -> None:
    lists = b"\n".join(str(list(random.Random(i).randbytes(16))).encode() for i in range(12))
    incomplete: set[str] = set()
    scan_printed(_chunk(lists), select(None), incomplete, max_views=10)
    assert any(item.startswith("printed:") for item in incomplete)
    clean: set[str] = set()
    scan_printed(_chunk(lists), select(None), clean)
    assert not clean


def _ordinary_log(seed: int) -> bytes:
    """Ordinary text and numbers: timestamps, addresses, ids, tables, and random bytes printed in
    every form above (random bytes are no key)."""
    rng = random.Random(seed)
    lines = []
    for i in range(3000):
        noise = rng.randbytes(rng.choice((16, 48, 200)))
        lines.append(rng.choice((
            f"2026-12-06T10:{i % 60:02d}:00Z GET /api/v1/items/{rng.randrange(10**6)} 200 {rng.random():.3f}s",
            f"mac={':'.join(f'{rng.randrange(256):02x}' for _ in range(6))} ip=10.0.{rng.randrange(256)}.1",
            " ".join(str(rng.randrange(-128, 256)) for _ in range(40)),
            str(list(noise)), repr(noise), "-".join(f"{b:02X}" for b in noise),
            " ".join(base64.b64encode(noise).decode()[at:at + 4] for at in range(0, 64, 4)),
            f"uuid={rng.randbytes(16).hex()} trace={rng.randbytes(8).hex()}")))
    return "\n".join(lines).encode() + b"\n" + subprocess.run(["xxd"], input=rng.randbytes(4096),
                                                              capture_output=True, check=True).stdout


def test_no_finding_in_a_large_log_of_ordinary_text_and_numbers(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_bytes(_ordinary_log(7))
    report = scan_path(path, known=known(EC, RSA))
    assert [f for f in report.findings if not f.advisory] == [] and report.incomplete == []


def test_dumps_scan_exits_1_on_a_go_byte_slice(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    printed = ("key [" + " ".join(str(b) for b in DER) + "]").encode()
    path.write_bytes(LOG + printed + b"\n")
    done = subprocess.run([sys.executable, "-m", "signward", "dumps", "scan", str(path), "--json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    findings = json.loads(done.stdout)["files"][0]["findings"]
    assert (printed.index(b"[") + len(LOG) + 1, len(printed) - 6, "byte-list+der") in {
        (f["offset"], f["length"], f["encoding"]) for f in findings}
