"""The scanner reads memory printed as rows of numeric words (red team rt17, issue #32): `od -td4`,
`od -to2`, `od -tx8`, `hexdump -d`, gdb `x/dw` `x/uw` `x/ow`, lldb `-s16 -fx`, WinDbg `dd` with ANSI
colours, `xxd -b` and gdb `x/tb` behind line numbers. Each was clean on main 3d98fab (both readers
missed it); here only `word_rows.py` finds it. Fixed keys: the rule depends on the key's bytes."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from signward.scan import word_rows as module
from signward.scan.scanner import scan_path
from signward.scan.word_rows import word_rows
from tests.scan.material import known

EC = ec.derive_private_key(0x3A41C0FFEE5EED5BADC0DE0123456789ABCDEF0FEDCBA98765432100DEADBEEF, ec.SECP256R1())
_P = int("ef591f8c7c7d9f518c49d42f4c3199587638a3065ef8eac71ffffa24f9a34acea41fe2ebeed49a14e0c257891bb68288"
         "323c931b48b0f8a8bda54e9fb64ff0fdc3ec67df0dc786844ef536c692157b4586d0bb0a0d51710c50cdecd934cd9ef5"
         "22516b73f6d6ea0af47691877ac54198b095c6c8c2ae23b8ef3dc03d55d80c7d", 16)
_Q = int("d2fd892010e4a542e8f92994f92e490a47301b2d418312dbbef090744884f73d88e985c600060bc101533cc69f0372eb"
         "8146d2ef390f103dae7bb73676aa8ec0a74d2e1ab10f840033c4f346c387e93a1c5978d8dfdcf4ed1553736d2c823cf8"
         "4937b64a52d59332f8d5f4efae3693439afb537e49827ba0d27f834e333829ff", 16)
_D = pow(65537, -1, (_P - 1) * (_Q - 1))
RSA = rsa.RSAPrivateNumbers(_P, _Q, _D, _D % (_P - 1), _D % (_Q - 1), pow(_Q, -1, _P),
                            rsa.RSAPublicNumbers(65537, _P * _Q)).private_key()
DER = EC.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
RSA_DER = RSA.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
LOG = b"".join(b"2026-12-07T01:00:%02d INFO worker ready id=%d\n" % (i, i) for i in range(20))
ADDR = 0x555555558040
KINDS = {"pkcs8-ec", "rsa-private-key", "pkcs1-rsa", "ec-private-scalar", "rsa-prime", "rsa-private-exponent"}


def _words(d: bytes, size: int, order: str = "little") -> list[int]:
    d = d + b"\0" * (-len(d) % size)
    return [int.from_bytes(d[i:i + size], order) for i in range(0, len(d), size)]  # type: ignore[arg-type]


def _signed(w: int, size: int) -> int:
    return w - (1 << 8 * size) if w >= 1 << (8 * size - 1) else w


def od(d: bytes, kind: str, size: int) -> bytes:
    """`od -t KIND SIZE` (octal offsets, 16 bytes a row, columns right-aligned, the last offset alone)."""
    cell = {"d": lambda w: f"{_signed(w, size):>{ {2: 7, 4: 12, 8: 21}[size]}}",
            "o": lambda w: f" {w:0{ {2: 6, 4: 11, 8: 22}[size]}o}",
            "x": lambda w: f" {w:0{2 * size}x}"}[kind]
    words = _words(d, size)
    per = 16 // size
    rows = [f"{i * size:07o}" + "".join(cell(w) for w in words[i:i + per])
            for i in range(0, len(words), per)]
    return ("\n".join(rows) + "\n" + f"{len(d):07o}\n").encode()


def hexdump_d(d: bytes) -> bytes:
    words = _words(d, 2)
    rows = [(f"{i * 2:07x}" + "".join(f"   {w:05d}" for w in words[i:i + 8])).ljust(71)
            for i in range(0, len(words), 8)]
    return ("\n".join(rows) + "\n" + f"{len(d):07x}\n").encode()


def gdb_words(d: bytes, size: int, cell: Callable[[int], str], order: str = "little") -> bytes:
    words = _words(d, size, order)
    rows = [f"0x{ADDR + size * i:x} <key+{size * i}>:" + "".join("\t" + cell(w) for w in words[i:i + 4])
            for i in range(0, len(words), 4)]
    return ("\n".join(rows) + "\n").encode()


def lldb_s16(d: bytes) -> bytes:
    words = _words(d, 16)
    return "".join(f"0x{0x100008000 + 16 * i:x}: 0x{w:032x}\n" for i, w in enumerate(words)).encode()


def windbg_dd_ansi(d: bytes) -> bytes:
    words = _words(d, 4)
    rows = []
    for i in range(0, len(words), 4):
        a = 0x1F2E3D4C000 + 4 * i
        cells = " ".join(f"{w:08x}" for w in words[i:i + 4])
        rows.append(f"\x1b[32m{a >> 32:08x}`{a & 0xFFFFFFFF:08x}\x1b[0m  " + cells)
    return ("\n".join(rows) + "\n").encode()


def xxd_b_numbered(d: bytes) -> bytes:
    rows = [f"{i * 6:08x}: " + " ".join(f"{x:08b}" for x in d[i * 6:i * 6 + 6]) + "  "
            + "".join(chr(x) if 32 <= x < 127 else "." for x in d[i * 6:i * 6 + 6]) for i in range(0, -(-len(d) // 6))]
    return "".join(f"{n + 1:6d}\t{row}\n" for n, row in enumerate(rows)).encode()


def gdb_tb_numbered(d: bytes) -> bytes:
    rows = [f"0x{ADDR + i:x} <key+{i}>:" + "".join(f"\t{x:08b}" for x in d[i:i + 8]) for i in range(0, len(d), 8)]
    return "".join(f"{n + 1:6d}\t{row}\n" for n, row in enumerate(rows)).encode()


FORMS: dict[str, Callable[[bytes], bytes]] = {
    "od -td4": lambda d: od(d, "d", 4),
    "od -to2": lambda d: od(d, "o", 2),
    "od -tx8": lambda d: od(d, "x", 8),
    "hexdump -d": hexdump_d,
    "gdb x/dw": lambda d: gdb_words(d, 4, lambda w: str(_signed(w, 4))),
    "gdb x/uw": lambda d: gdb_words(d, 4, str),
    "gdb x/ow": lambda d: gdb_words(d, 4, lambda w: f"0{w:o}" if w else "0"),
    "gdb x/dw big-endian target": lambda d: gdb_words(d, 4, lambda w: str(_signed(w, 4)), "big"),
    "lldb -s16 -fx": lldb_s16,
    "WinDbg dd ANSI": windbg_dd_ansi,
    "xxd -b | cat -n": xxd_b_numbered,
    "gdb x/tb | nl": gdb_tb_numbered,
}
TOOLS = {"od -td4": ["od", "-td4"], "od -to2": ["od", "-to2"], "od -tx8": ["od", "-tx8"],
         "hexdump -d": ["hexdump", "-d"]}


@pytest.mark.parametrize("form", sorted(TOOLS))
def test_the_forms_are_what_the_tools_print(form: str) -> None:
    try:
        done = subprocess.run(TOOLS[form], input=DER, capture_output=True, check=False)
    except FileNotFoundError:
        pytest.skip(f"{TOOLS[form][0]} is not installed")
    assert done.returncode == 0 and done.stdout == FORMS[form](DER), (done.stdout[:200], FORMS[form](DER)[:200])


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("key", ["ec", "rsa"])
def test_a_key_in_word_rows_is_found_by_the_scanner(tmp_path: Path, form: str, key: str) -> None:
    """rt17: the scanner's word-row reading finds the key (PKCS#8 DER) in these rows."""
    text = LOG + FORMS[form](DER if key == "ec" else RSA_DER) + b"end of region\n" + LOG
    path = tmp_path / "app.log"
    path.write_bytes(text)
    report = scan_path(path, known=known(EC, RSA))
    found = [f for f in report.findings if not f.advisory]
    assert report.incomplete == [] and found, (form, found)
    ours = [f for f in found if "word rows" in f.detail]
    assert ours and {f.kind for f in ours} & KINDS, found
    rows = FORMS[form](DER if key == "ec" else RSA_DER)
    first = text.index(rows)
    # the whole block's raw span: its first row (ANSI escapes and line number too) to its last
    assert any(f.offset <= first + 1 and f.end >= first + len(rows) - len(rows.rsplit(b"\n", 2)[-2]) - 2
               for f in ours), [(f.offset, f.end, first, len(rows)) for f in ours]


def test_the_ansi_escapes_are_dropped_and_the_span_is_raw() -> None:
    rows = windbg_dd_ansi(DER)
    data = LOG + rows + LOG
    views = [v for v in word_rows(data, 0, len(data)) if DER in v[2]]
    assert views and views[0][0] == len(LOG) and views[0][1] == len(LOG) + len(rows) - 1, views[:1]


def test_a_key_across_a_block_edge_is_whole_in_the_next_block() -> None:
    """More than `MAX_ROWS` rows: the key straddles the first block's end and is read whole from the
    overlapping one."""
    before = (module.MAX_ROWS - 3) * 16
    memory = bytes(range(7, 247)) * (before // 240 + 1)
    memory = memory[:before] + DER + memory[:4096]
    data = LOG + od(memory, "d", 4) + LOG
    views = list(word_rows(data, 0, len(data)))
    assert any(DER in v[2] for v in views), len(views)
    assert all(len(v[2]) <= module.MAX_ROWS * 16 for v in views)


def test_numbers_that_are_no_word_rows_cost_little_and_read_as_nothing() -> None:
    """A CSV of prices and a log with counters: no view, 3 MB in a few seconds; a table of integers
    (the shape of `od -An -td4`) is read, in bounded time."""
    csv = b"".join(b"%d,%d,%d.%02d,%d\n" % (i, 10_000 + i * 7 % 90_000, i % 997, i % 100, i % 50)
                   for i in range(150_000))[:3_000_000]
    log = b"".join(b"2026-12-07 00:%02d:%02d.%03d INFO worker-%d requests=%d bytes=%d status=200\n"
                   % (i // 60 % 60, i % 60, i % 1000, i % 16, i * 37, i * 7919) for i in range(40_000))[:3_000_000]
    table = b"".join(b" ".join(b"%d" % ((i * 2_654_435_761 + j * 40_503) % (1 << 31)) for j in range(8)) + b"\n"
                     for i in range(35_000))
    for data, expect in ((csv, False), (log, False), (table, True)):
        started = time.process_time()
        views = list(word_rows(data, 0, len(data)))
        assert time.process_time() - started < 6, time.process_time() - started
        assert bool(views) == expect, views[:2]


def _repeat(rows: bytes, prompt: bytes, command: bytes) -> bytes:
    """Rows as a debugger prints them when Enter repeats the command: each after a prompt line."""
    return prompt + b" " + command + b"\n" + (prompt + b" \n").join(rows.splitlines(True))


def _rows(d: bytes, size: int, per: int, head: Callable[[int], str], cell: Callable[[int], str], sep: str) -> bytes:
    words = _words(d, size)
    return "".join(head(size * i) + "".join(sep + cell(w) for w in words[i:i + per]) + "\n"
                   for i in range(0, len(words), per)).encode()


def _gdb_head(label: str) -> Callable[[int], str]:
    return lambda at: f"0x{ADDR + at:x} <{label}+{at}>:" if at else f"0x{ADDR:x} <{label}>:"


def _lldb_head(at: int) -> str:
    return f"0x{0x100008000 + at:x}:"


REPEATED: dict[str, tuple[bytes, bytes, bytes]] = {
    "gdb x/4dw": (_rows(DER, 4, 4, _gdb_head("key"), lambda w: str(_signed(w, 4)), "\t"), b"(gdb)", b"x/4dw &key"),
    "gdb x/2xg": (_rows(DER, 8, 2, _gdb_head("key"), lambda w: f"0x{w:016x}", "\t"), b"(gdb)", b"x/2xg &key"),
    "gdb x/8xb": (_rows(DER, 1, 8, _gdb_head("key"), lambda w: f"0x{w:02x}", "\t"), b"(gdb)", b"x/8xb &key"),
    "lldb -s4 -fx": (_rows(DER, 4, 4, _lldb_head, lambda w: f"0x{w:08x}", " "), b"(lldb)", b"memory read -s4 -c4 key"),
    "WinDbg dd": (_rows(DER, 4, 4, lambda at: f"000001f2`{0xE3D4C000 + at:08x} ", lambda w: f"{w:08x}", " "),
                  b"0:000>", b"dd key L4"),
}


@pytest.mark.parametrize("form", sorted(REPEATED))
def test_rows_apart_by_debugger_prompt_lines_join_into_one_block(form: str) -> None:
    """rt18 B1: Enter repeats gdb's `x` (lldb's `memory read`, WinDbg's `dd`): a prompt line before
    each row. The prompt lines are dropped and the rows join (the key is read, the view spans the
    rows); the same lines that are no prompt keep every row alone (nothing read)."""
    rows, prompt, command = REPEATED[form]
    printed = _repeat(rows, prompt, command)
    data = LOG + printed + LOG
    views = [v for v in word_rows(data, 0, len(data)) if DER in v[2]]
    assert views and views[0][1] > len(LOG) + len(printed) - len(rows.splitlines()[-1]) - 2, views[:1]
    other = data.replace(prompt + b" ", b"(note) ")
    assert not [v for v in word_rows(other, 0, len(other)) if DER[:32] in v[2]]


@pytest.mark.parametrize("cell", ["%d", "0x%08x"])
def test_a_gdb_label_of_a_cxx_template_is_an_address_label(tmp_path: Path, cell: str) -> None:
    """rt18 B2: gdb labels a template's member `<Holder<Key>::buf+16>` (nested angle brackets)."""
    rows = _rows(DER, 4, 4, _gdb_head("Holder<std::array<unsigned char, 256ul> >::buf"),
                 lambda w: cell % (_signed(w, 4) if cell == "%d" else w), "\t")
    path = tmp_path / "app.log"
    path.write_bytes(LOG + rows + LOG)
    report = scan_path(path, known=known(EC, RSA))
    assert [f for f in report.findings if not f.advisory and "word rows" in f.detail and f.kind in KINDS], \
        report.findings


@pytest.mark.parametrize("kind", ["d", "x"])
def test_a_line_number_behind_a_blank_and_od_s_offsets_are_both_dropped(kind: str) -> None:
    """rt18 B3: `od -td4 | awk '{print NR, $0}'` (`nl -s' '`): a line number and a space, then od's
    offsets; both counting columns go (bare 8-digit hex words too: a numbered listing is decorated)."""
    printed = b"".join(b"%d %s" % (n + 1, line) for n, line in enumerate(od(DER, kind, 4).splitlines(True)))
    data = LOG + printed + LOG
    assert [v for v in word_rows(data, 0, len(data)) if DER in v[2]]
    tokens, columns = module._block_tokens(next(b for b in module._blocks(printed)))
    assert columns == 2 and len(tokens) == -(-len(DER) // 4), (columns, tokens[:3])


def unexpand(text: bytes) -> bytes:
    """`unexpand -a`: blanks up to a tab stop (every 8 columns) become a tab, a lone blank not (one
    followed by a blank does)."""
    out = []
    for line in text.split(b"\n"):
        chunks = [line[i:i + 8] for i in range(0, len(line), 8)]
        out.append(b"".join(c.rstrip(b" ") + b"\t" if len(c) == 8 and i < len(chunks) - 1 and c.endswith(b" ")
                            and (c.endswith(b"  ") or chunks[i + 1][:1] == b" ") else c for i, c in enumerate(chunks)))
    return b"\n".join(out)


def test_od_s_offsets_behind_a_tab_are_no_line_numbers() -> None:
    """rt18 B4: `od -td4 | unexpand -a`: some offsets end in a tab, some in a space; a zero-led number
    before a tab is no line number (`cat -n` and `nl` pad with blanks), so the rows keep one shape."""
    printed = unexpand(od(b"\xef\xcd\xab\x89" * 4 + DER, "d", 4))  # (a first row of 11-digit words)
    assert printed.startswith(b"0000000 -") and b"0000020\t" in printed, printed[:100]  # (both kinds in one block)
    data = LOG + printed + LOG
    assert [v for v in word_rows(data, 0, len(data)) if DER in v[2]]
