"""The independent reader's word-row reader (recheck_words.py, issue #32, rt17): memory printed as
rows of multi-byte words in decimal, octal, hex or binary, behind addresses, offsets, labels, line
numbers or ANSI colours, is read as the bytes it prints; each form below was certified clean with the
key recoverable before (no other view of the reader finds anything in it). Fixed keys: a P-256
scalar and an Ed25519 seed, so the words' values (and which of them are full) never change."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from signward.scan import recheck_words as words
from signward.scan.recheck import recheck_bytes

EC = ec.derive_private_key(int("6b1f0e2d3c4a59687f8e9dacbbcad9e8f70615243342516f7e8d9cabbac9d8e7", 16), ec.SECP256R1())
ED = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
KEYS = {"ec-pkcs8": EC.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption()),
        "ed25519-pkcs8": ED.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())}
PRE = b"crash report for pid 4242\nregion dump follows\n"
POST = b"\nend of region\n"
ADDRESS = 0x555555558040


def _words(d: bytes, size: int, order: str = "little") -> list[int]:
    d += bytes(-len(d) % size)
    return [int.from_bytes(d[i:i + size], order) for i in range(0, len(d), size)]  # type: ignore[arg-type]


def _signed(w: int, size: int) -> int:
    return w - (1 << 8 * size) if w >= 1 << (8 * size - 1) else w


def od(d: bytes, size: int, cell: Callable[[int], str], column: int) -> bytes:
    """`od -t d4` / `-t o2` / `-A x -t x8` as od prints them: octal (or hex) offsets, right-aligned cells."""
    ws = _words(d, size)
    per = 16 // size
    base = "%06x" if size == 8 else "%07o"
    lines = [base % (i * size) + "".join(f" {cell(w):>{column}}" for w in ws[i:i + per])
             for i in range(0, len(ws), per)]
    return ("\n".join(lines) + "\n" + base % len(d) + "\n").encode()


def hexdump_d(d: bytes) -> bytes:
    ws = _words(d, 2)
    return "".join(f"{i * 2:07x}" + "".join(f"   {w:05d}" for w in ws[i:i + 8]) + "\n"
                   for i in range(0, len(ws), 8)).encode() + b"%07x\n" % len(d)


def gdb(d: bytes, size: int, per: int, cell: Callable[[int], str]) -> bytes:
    ws = _words(d, size)
    return b"".join(b"0x%x <key+%d>:" % (ADDRESS + size * i, size * i) + "".join(
        "\t" + cell(w) for w in ws[i:i + per]).encode() + b"\n" for i in range(0, len(ws), per))


def lldb16(d: bytes) -> bytes:
    return b"".join(b"0x%x: 0x%032x\n" % (0x100008000 + 16 * i, w) for i, w in enumerate(_words(d, 16)))


def windbg_dd_ansi(d: bytes) -> bytes:
    ws = _words(d, 4)
    return b"".join(b"\x1b[32m000001f2`%08x\x1b[0m  " % (0xE3D4C000 + 4 * i) + b" ".join(
        b"%08x" % w for w in ws[i:i + 4]) + b"\n" for i in range(0, len(ws), 4))


def xxd_b_cat_n(d: bytes) -> bytes:
    rows = [d[i:i + 6] for i in range(0, len(d), 6)]
    return "".join(f"{n + 1:6d}\t{n * 6:08x}: " + " ".join(f"{x:08b}" for x in r) + "  "
                   + "".join(chr(x) if 32 <= x < 127 else "." for x in r) + "\n" for n, r in enumerate(rows)).encode()


def gdb_tb_nl(d: bytes) -> bytes:
    rows = gdb(d, 1, 8, lambda w: f"{w:08b}").split(b"\n")
    return b"".join(b"%6d\t" % (n + 1) + row + b"\n" for n, row in enumerate(rows) if row)


FORMS: dict[str, Callable[[bytes], bytes]] = {
    "od -td4": lambda d: od(d, 4, lambda w: str(_signed(w, 4)), 11),
    "od -to2": lambda d: od(d, 2, lambda w: f"{w:06o}", 6),
    "od -Ax -tx8": lambda d: od(d, 8, lambda w: f"{w:016x}", 16),
    "hexdump -d": hexdump_d,
    "gdb x/dw": lambda d: gdb(d, 4, 4, lambda w: str(_signed(w, 4))),
    "gdb x/uw": lambda d: gdb(d, 4, 4, str),
    "gdb x/ow": lambda d: gdb(d, 4, 4, lambda w: f"0{w:o}" if w else "0"),
    "lldb -s16 -fx": lldb16,
    "windbg dd ansi": windbg_dd_ansi,
    "xxd -b | cat -n": xxd_b_cat_n,
    "gdb x/tb | nl": gdb_tb_nl,
}


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("key", sorted(KEYS))
def test_a_key_printed_as_word_rows_is_found_by_the_word_reader_alone(form: str, key: str) -> None:
    printed = FORMS[form](KEYS[key])
    report = recheck_bytes(PRE + printed + POST, name="dump.txt")
    ours = [f for f in report.findings if "> word rows (" in f.view and "terminal-colours" not in f.view]
    assert ours and {f.kind for f in ours} == {"der"}, (report.findings, report.incomplete)
    others = [f for f in report.findings if f not in ours and "terminal-colours" not in f.view]
    assert others == [], report.findings  # only this rule finds it (and, for WinDbg's colours, the reader's
    # terminal view, where the rows without their escapes are the byte-list reader's too)
    for finding in ours:  # the block's rows (sanitize redacts them)
        assert finding.span is not None and len(PRE) <= finding.span[0] < finding.span[1] <= len(PRE) + len(printed)
    whole = printed.rstrip(b"\n")
    if form.startswith(("od", "hexdump")):
        whole = whole[:whole.rindex(b"\n")]  # (the last line, the length alone, prints no byte)
    assert any(f.span == (len(PRE), len(PRE) + len(whole)) for f in ours), ours


def test_words_of_a_big_endian_machine_are_read_big_endian() -> None:
    der = KEYS["ec-pkcs8"]
    printed = b"".join(b"0x%x <key+%d>:" % (ADDRESS + 16 * i, 16 * i) + b"".join(
        b"\t%d" % w for w in _words(der, 4, "big")[4 * i:4 * i + 4]) + b"\n" for i in range((len(der) + 15) // 16))
    report = recheck_bytes(PRE + printed + POST, name="dump.txt")
    assert [f.view for f in report.findings] == ["dump.txt > word rows (decimal, 4-byte, big)"], report.findings


def test_a_key_across_a_block_cut_is_whole_in_the_overlapping_block() -> None:
    """`od -td4` of 5,000 rows of small integers with the key's words from row 4,090 on: past the
    first block's 4,096 rows, whole in the next one (it repeats the last 256 rows)."""
    rng = random.Random(5)
    der = KEYS["ec-pkcs8"]
    memory = b"".join(rng.randrange(1 << 20).to_bytes(4, "little") for _ in range(4 * 5_000))
    at = 4_090 * 16
    memory = memory[:at] + der + memory[at + len(der):]
    report = recheck_bytes(PRE + FORMS["od -td4"](memory) + POST, name="dump.txt")
    # whole (the first block alone holds the key cut short after its secret: found too, but not this)
    assert any(f.kind == "der" and "> word rows (decimal, 4-byte, little)" in f.view and "cut short" not in f.key
               for f in report.findings), (report.findings, report.incomplete)


def test_a_table_of_integers_is_certified_and_read_quickly() -> None:
    """Rows of integers of every size, aligned columns of 31-bit integers behind a row number, and
    a CSV of prices: nothing found, nothing incomplete, and few word views (small integers make no
    run of full words)."""
    rng = random.Random(9)
    table = "".join(" ".join(str(rng.randrange(10 ** rng.randint(1, 9))) for _ in range(8)) + "\n"
                    for _ in range(2_000)).encode()
    csv = "".join(f"{i},2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d},SKU{rng.randint(1000, 9999)},"
                  f"{rng.randint(100, 99999) / 100:.2f},{rng.randint(1, 40)}\n" for i in range(2_000)).encode()
    for data in (table, csv):
        started = time.monotonic()
        report = recheck_bytes(data, name="table.txt")
        assert report.findings == [] and report.incomplete == [], (report.findings[:3], report.incomplete)
        assert time.monotonic() - started < 30
    values = [rng.randrange(10 ** rng.randint(1, 9)) for _ in range(48_000)]
    assert sum(last - first for first, last in words._dense(values, 4)) < len(values) // 10


def test_only_runs_of_full_words_are_read_from_a_block() -> None:
    """A key's words among small integers: its run (and a margin for the header before it) is read."""
    small = [5, 17, 300, 0, 9] * 20
    key = _words(KEYS["ec-pkcs8"], 4)
    runs = words._dense(small + key + small, 4)
    assert runs == [(100 - 16, 100 + len(key) - 1 + 16)], runs  # (its last word, zero-padded, is not full)
    assert words._dense(small * 3, 4) == []


def test_an_offset_column_is_dropped_only_where_it_counts_each_row_s_bytes() -> None:
    assert words._steps([[b"0000000", b"1"], [b"0000020", b"2"], [b"0000040", b"3"]]) == {16, 20, 32}
    assert words._steps([[b"17", b"1"], [b"3", b"2"]]) == set()
    assert words._steps([[b"0000000", b"1", b"2"]]) == {0}


def test_binary_octal_and_decimal_tokens_give_their_widths() -> None:
    assert [(label, width) for label, width, _ in words._readings([b"0000000100000010"] * 4, "n")] == [("binary", 2)]
    assert [(label, width) for label, width, _ in words._readings([b"000001", b"177777"], "n")] == [("octal", 2)]
    assert [(label, width) for label, width, _ in words._readings([b"00647", b"33072"], "n")] == [("decimal", 2)]
    assert [(label, width) for label, width, _ in words._readings([b"-5", b"2250901254"], "n")] == [("decimal", 4)]
    assert [(label, width, values) for label, width, values in words._readings([b"-1", b"7"], "n")] == \
        [("decimal", 1, [255, 7])]


def _repeat(rows: bytes, prompt: bytes, command: bytes) -> bytes:
    """Rows as a debugger prints them when Enter repeats the command: each after a prompt line."""
    return prompt + b" " + command + b"\n" + (prompt + b" \n").join(rows.splitlines(True))


def lldb_rows(d: bytes, size: int, per: int) -> bytes:
    ws = _words(d, size)
    return b"".join(b"0x%x: " % (0x100008000 + size * i) + b" ".join(
        b"0x%0*x" % (2 * size, w) for w in ws[i:i + per]) + b"\n" for i in range(0, len(ws), per))


def windbg_dd(d: bytes) -> bytes:
    ws = _words(d, 4)
    return b"".join(b"000001f2`%08x  " % (0xE3D4C000 + 4 * i) + b" ".join(
        b"%08x" % w for w in ws[i:i + 4]) + b"\n" for i in range(0, len(ws), 4))


def gdb_label(d: bytes, size: int, cell: Callable[[int], str], label: str) -> bytes:
    ws = _words(d, size)
    per = 16 // size
    return b"".join((f"0x{ADDRESS + size * i:x} <{label}+{size * i}>:" if i else f"0x{ADDRESS:x} <{label}>:").encode()
                    + "".join("\t" + cell(w) for w in ws[i:i + per]).encode() + b"\n" for i in range(0, len(ws), per))


REPEATED: dict[str, tuple[Callable[[bytes], bytes], bytes, bytes]] = {
    "gdb x/4dw": (lambda d: gdb(d, 4, 4, lambda w: str(_signed(w, 4))), b"(gdb)", b"x/4dw &key"),
    "gdb x/4xw": (lambda d: gdb(d, 4, 4, lambda w: f"0x{w:08x}"), b"(gdb)", b"x/4xw &key"),
    "gdb x/2xg": (lambda d: gdb(d, 8, 2, lambda w: f"0x{w:016x}"), b"(gdb)", b"x/2xg &key"),
    "gdb x/8xb": (lambda d: gdb(d, 1, 8, lambda w: f"0x{w:02x}"), b"(gdb)", b"x/8xb &key"),
    "lldb -s4 -fx": (lambda d: lldb_rows(d, 4, 4), b"(lldb)", b"memory read -s4 -fx -c4 key"),
    "lldb -s1 -fx": (lambda d: lldb_rows(d, 1, 16), b"(lldb)", b"memory read -s1 -fx -c16 key"),
    "WinDbg dd": (windbg_dd, b"0:000>", b"dd key L4"),
}


@pytest.mark.parametrize("form", sorted(REPEATED))
def test_rows_apart_by_debugger_prompt_lines_join_into_one_block(form: str) -> None:
    """rt18 B1: Enter repeats gdb's `x` (lldb's `memory read`, WinDbg's `dd`): a prompt line before
    each row. The rows still join (the key is found); the same lines that are no prompt keep every
    row alone (16 bytes a block: nothing to find)."""
    rows, prompt, command = REPEATED[form]
    printed = _repeat(rows(KEYS["ec-pkcs8"]), prompt, command)
    report = recheck_bytes(PRE + printed + POST, name="dump.txt")
    assert report.findings and {f.kind for f in report.findings} == {"der"}, (report.findings, report.incomplete)
    assert all("> word rows (" in f.view or "> gdb rows (" in f.view for f in report.findings), report.findings
    other = printed.replace(prompt + b" ", b"(note) ")
    assert recheck_bytes(PRE + other + POST, name="dump.txt").findings == []


@pytest.mark.parametrize("cell", ["%d", "0x%08x"])
def test_a_gdb_label_of_a_cxx_template_is_an_address_label(cell: str) -> None:
    """rt18 B2: gdb labels a template's member `<Holder<Key>::buf+16>` (nested angle brackets)."""
    printed = gdb_label(KEYS["ec-pkcs8"], 4, lambda w: cell % (_signed(w, 4) if cell == "%d" else w),
                        "Holder<std::array<unsigned char, 256ul> >::buf")
    report = recheck_bytes(PRE + printed + POST, name="dump.txt")
    assert report.findings and {f.kind for f in report.findings} == {"der"}, (report.findings, report.incomplete)
    assert words.prompt_gap(b"1\n(gdb) \n2", 1, 9) and not words.prompt_gap(b"1\n(gdb) x\ny\n2", 1, 11)


@pytest.mark.parametrize("form", ["od -td4", "od -Ax -tx8"])
def test_a_line_number_behind_a_blank_before_od_s_offsets_is_dropped(form: str) -> None:
    """rt18 B3: `od -td4 | awk '{print NR, $0}'` (`nl -s' '`): a line number and a space, then od's
    offsets; both counting columns go and the words are read."""
    lines = FORMS[form](KEYS["ec-pkcs8"]).splitlines(True)
    printed = b"".join(b"%d %s" % (n + 1, line) for n, line in enumerate(lines))
    report = recheck_bytes(PRE + printed + POST, name="dump.txt")
    assert report.findings and all("> word rows (" in f.view for f in report.findings), report.findings


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
    before a tab is no line number (`cat -n` and `nl` pad with blanks), so the rows keep one field count."""
    printed = unexpand(FORMS["od -td4"](b"\xef\xcd\xab\x89" * 4 + KEYS["ec-pkcs8"]))  # (a first row of 11 digits)
    assert printed.startswith(b"0000000 -") and b"0000020\t" in printed, printed[:100]  # (both kinds in one block)
    data = PRE + printed + POST
    report = recheck_bytes(data, name="dump.txt")
    assert report.findings and all("> word rows (" in f.view for f in report.findings), report.findings
    # the block holds the row with the PKCS#8 head: a row cut from it would leave the SEC1 key inside
    # found alone, its span starting a row later
    head = data.index(b"0000020\t")
    assert any(f.span is not None and f.span[0] <= head for f in report.findings), report.findings
