"""Writers of the dump-tool forms of red team rt16 part B (`od -c`, `xxd -b`, gdb `x/tb` `x/cb`,
WinDbg `dd` `dq` `dw` `dc`, lldb `memory read -s4 -fx`, Haskell/Lua/OCaml decimal escapes), as the
tools print them (od and xxd checked against the real tools in test_printed_chars); and rt16's
leftovers (`CODE`): Pascal comments and VB.NET continuations between the rows of a byte array."""

from __future__ import annotations

from collections.abc import Callable

_OD_ESCAPES = {0: "\\0", 7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v"}
_HASKELL = ("NUL SOH STX ETX EOT ENQ ACK \\a \\b \\t \\n \\v \\f \\r SO SI DLE DC1 DC2 DC3 DC4 NAK SYN ETB "
            "CAN EM SUB ESC FS GS RS US").split()


def _rows(d: bytes, n: int) -> list[bytes]:
    return [d[i:i + n] for i in range(0, len(d), n)]


def od_c(d: bytes, offsets: bool = True, skip: int = 0) -> bytes:
    """`od -c` (or `od -An -c` without offsets; `skip`: the offset of `od -j`, far into a core)."""
    lines = []
    for i, r in enumerate(_rows(d, 16)):
        cells = "".join(f"{_OD_ESCAPES[x]:>4}" if x in _OD_ESCAPES else f"{chr(x):>4}" if 32 <= x < 127
                        else f" {x:03o}" for x in r)
        lines.append((f"{skip + i * 16:07o}" if offsets else "") + cells)
    return ("\n".join(lines) + "\n" + (f"{skip + len(d):07o}\n" if offsets else "")).encode()


def xxd_b(d: bytes, cols: int = 6, group: int = 1, offset: int = 0) -> bytes:
    """`xxd -b` (`-c cols -g group -o offset`): groups of `group` bytes in order, the last row padded."""
    width = cols * 8 + -(-cols // group) - 1
    return "".join(f"{offset + i * cols:08x}: " + " ".join(
        "".join(f"{x:08b}" for x in r[j:j + group]) for j in range(0, len(r), group)).ljust(width) + "  " + "".join(
        chr(x) if 32 <= x < 127 else "." for x in r) + "\n" for i, r in enumerate(_rows(d, cols))).encode()


def _gdb_head(i: int, step: int) -> str:
    return "0x555555558040 <key>:" if i == 0 else f"0x{0x555555558040 + i * step:x} <key+{i * step}>:"


def gdb_tb(d: bytes) -> bytes:
    return "\n".join(_gdb_head(i, 8) + "".join(f"\t{x:08b}" for x in r) for i, r in enumerate(_rows(d, 8))).encode()


def gdb_t_words(d: bytes, width: int) -> bytes:
    """gdb `x/th` (2), `x/tw` (4), `x/tg` (8): 16 bytes a row of binary words, each the little-endian value."""
    d += bytes(-len(d) % width)
    return "\n".join(_gdb_head(i, 16) + "".join(
        "\t" + format(int.from_bytes(r[j:j + width], "little"), f"0{width * 8}b") for j in range(0, len(r), width))
        for i, r in enumerate(_rows(d, 16))).encode()


def _gdb_char(x: int) -> str:
    if x in (39, 92):
        return "\\" + chr(x)
    return chr(x) if 32 <= x < 127 else f"\\{x:03o}"


def gdb_cb(d: bytes) -> bytes:
    return "\n".join(_gdb_head(i, 8) + "".join(f"\t{x - 256 if x > 127 else x} '{_gdb_char(x)}'" for x in r)
                     for i, r in enumerate(_rows(d, 8))).encode()


def _words(d: bytes, width: int) -> list[str]:
    d += bytes(-len(d) % width)
    words = [d[i:i + width][::-1].hex() for i in range(0, len(d), width)]
    return [w[:8] + "`" + w[8:] if width == 8 else w for w in words]


def windbg(d: bytes, width: int, chars: bool = False) -> bytes:
    """WinDbg `dw` (2), `dd` (4), `dq` (8) rows of 16 bytes; `dc`: `dd` with the characters."""
    d += bytes(-len(d) % 16)
    return "".join(f"00000000`{0x401000 + i * 16:08x}  " + " ".join(_words(r, width)) + (
        "  " + "".join(chr(x) if 32 <= x < 127 else "." for x in r) if chars else "") + "\n"
        for i, r in enumerate(_rows(d, 16))).encode()


def lldb_x4(d: bytes) -> bytes:
    return "".join(f"0x{0x100003f40 + i * 16:x}: " + " ".join("0x" + w for w in _words(r, 4)) + "\n"
                   for i, r in enumerate(_rows(d, 16))).encode()


def haskell_show(d: bytes) -> bytes:
    out = []
    for i, x in enumerate(d):
        nxt = d[i + 1] if i + 1 < len(d) else None
        if x < 32:
            name = _HASKELL[x]
            out.append(name if name.startswith("\\") else "\\" + name)
            if x == 14 and nxt == ord("H"):
                out.append("\\&")
        elif x in (34, 92):
            out.append("\\" + chr(x))
        elif x < 127:
            out.append(chr(x))
        else:
            out.append(f"\\{x}" + ("\\&" if nxt is not None and 48 <= nxt <= 57 else ""))
    return ('"' + "".join(out) + '"').encode()


def lua_q(d: bytes) -> bytes:
    """Lua `%q`: a newline byte as a backslash and a real newline, `\\r`, other controls and high
    bytes in decimal (3 digits before a digit)."""
    out = []
    for i, x in enumerate(d):
        digit = i + 1 < len(d) and 48 <= d[i + 1] <= 57
        out.append("\\" + chr(x) if x in (34, 92, 10) else "\\r" if x == 13 else chr(x) if 32 <= x < 127
                   else f"\\{x:03d}" if digit else f"\\{x}")
    return ('"' + "".join(out) + '"').encode()


def ocaml_s(d: bytes) -> bytes:
    return ('"' + "".join("\\" + chr(x) if x in (34, 92) else chr(x) if 32 <= x < 127 else f"\\{x:03d}"
                          for x in d) + '"').encode()


ROWS: dict[str, Callable[[bytes], bytes]] = {
    "od -c": od_c,
    "od -An -c": lambda d: od_c(d, offsets=False),
    "xxd -b": xxd_b,
    "xxd -b -c 24": lambda d: xxd_b(d, 24),
    "xxd -b -c 32": lambda d: xxd_b(d, 32),
    "xxd -b -g 2": lambda d: xxd_b(d, group=2),
    "xxd -b -o 0x7f0000000": lambda d: xxd_b(d, offset=0x7F0000000),
    "od -c -j far": lambda d: od_c(d, skip=0o1000000000000),
    "gdb x/tb": gdb_tb,
    "gdb x/cb": gdb_cb,
    "gdb x/th": lambda d: gdb_t_words(d, 2),
    "gdb x/tw": lambda d: gdb_t_words(d, 4),
    "gdb x/tg": lambda d: gdb_t_words(d, 8),
    "windbg dw": lambda d: windbg(d, 2),
    "windbg dd": lambda d: windbg(d, 4),
    "windbg dq": lambda d: windbg(d, 8),
    "windbg dc": lambda d: windbg(d, 4, chars=True),
    "lldb -s4 -fx": lldb_x4,
}
DECIMAL: dict[str, Callable[[bytes], bytes]] = {
    "haskell show": lambda d: b"key = " + haskell_show(d),
    "lua %q": lambda d: b"key = " + lua_q(d),
    "ocaml %S": lambda d: b"let key = " + ocaml_s(d),
}


def _pascal(d: bytes, comment: str) -> bytes:
    """Delphi: `const Key: array[0..N] of Byte = (` with a comment above each row of 16 `$XX`."""
    rows = [f"  {comment % i}\n  " + ", ".join(f"${x:02X}" for x in r) for i, r in enumerate(_rows(d, 16))]
    return (f"const Key: array[0..{len(d) - 1}] of Byte = (\n" + ",\n".join(rows) + "\n);").encode()


def vb_net(d: bytes) -> bytes:
    """VB.NET: `New Byte() { &H30, &H82, _` rows of 12 joined by ` _` line continuations."""
    return ("Dim key As Byte() = New Byte() { " + ", _\n    ".join(
        ", ".join(f"&H{x:02X}" for x in r) for r in _rows(d, 12)) + " }").encode()


# rt16 leftovers: comments and continuations between the rows of a byte array
CODE: dict[str, Callable[[bytes], bytes]] = {
    "pascal { row } comments": lambda d: _pascal(d, "{ row %d }"),
    "pascal (* row *) comments": lambda d: _pascal(d, "(* row %d *)"),
    "vb.net _ continuations": vb_net,
}
