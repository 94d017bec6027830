"""Printers of memory in the layouts `typed_rows.py` and `recheck_typedrows.py` read (rt18 group B):
od with several types (each offset's row once per type, the others behind blanks) and hexdump's
fixed-width decimal cells without a separator. Fixed keys: their words decide which cells touch."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

EC = ec.derive_private_key(0x3A41C0FFEE5EED5BADC0DE0123456789ABCDEF0FEDCBA98765432100DEADBEEF, ec.SECP256R1())
ED = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
KEYS = {name: key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()) for name, key in (("ec", EC), ("ed25519", ED))}
PRE = b"crash report for pid 4242\nregion dump follows\n"
POST = b"\nend of region\n"
_DIGITS = {"d1": 4, "d2": 6, "d4": 11, "d8": 20, "u1": 3, "u2": 5, "u4": 10, "u8": 20, "x1": 2, "x2": 4, "x4": 8,
           "x8": 16, "o2": 6, "o4": 11, "c": 3}
_ESCAPES = {0: "\\0", 7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v"}


def memory(der: bytes) -> bytes:
    """The key in a little memory: 16 fixed bytes before, fixed padding after to a multiple of 16."""
    return bytes(range(0x40, 0x50)) + der + bytes(range(0x60, 0x60 + (-(16 + len(der)) % 16)))


def _cells(row: bytes, kind: str) -> list[str]:
    if kind == "c":
        return [chr(b) if 32 <= b < 127 else _ESCAPES.get(b, f"{b:03o}") for b in row]
    size = int(kind[1:])
    words = [int.from_bytes(row[i:i + size], "little", signed=kind[0] == "d") for i in range(0, len(row), size)]
    spell = {"d": str, "u": str, "x": lambda w: f"{w:0{2 * size}x}", "o": lambda w: f"{w:0{_DIGITS[kind]}o}"}[kind[0]]
    return [spell(w) for w in words]


def od(data: bytes, *kinds: str, offsets: bool = True) -> bytes:
    """`od -t KIND -t KIND ...` (octal offsets, 16 bytes a row, each type's row under the first);
    without `offsets`, `od -An`: no offset column (a blank before every field, no last offset line)."""
    per_byte = max(-(-(_DIGITS[k] + 1) // (1 if k == "c" else int(k[1:]))) for k in kinds)
    lines = []
    for at in range(0, len(data), 16):
        row = data[at:at + 16]
        for index, kind in enumerate(kinds):
            field = per_byte * (1 if kind == "c" else int(kind[1:]))
            head = "" if not offsets else f"{at:07o}" if index == 0 else " " * 7
            lines.append(head + "".join(f"{cell:>{field}}" for cell in _cells(row, kind)))
    return ("\n".join(lines) + "\n" + (f"{len(data):07o}\n" if offsets else "")).encode()


def numbered(text: bytes) -> bytes:
    """`awk '{print NR, $0}'`: each line behind its number and a blank."""
    return b"".join(b"%d %s" % (number, line) for number, line in enumerate(text.splitlines(True), 1))


def unexpand(text: bytes, every: bool = False) -> bytes:
    """`unexpand` (leading blanks only) or `unexpand -a`: blanks that end at a tab stop (every 8
    columns) become a tab, two or more, or one that another blank follows."""
    lines = []
    for line in text.split(b"\n"):
        out = b""
        for at in range(0, len(line), 8):
            chunk = line[at:at + 8]
            if not every and (out.strip(b"\t") or line[:at].strip(b" ")):
                out += line[at:]
                break
            blanks = len(chunk) - len(chunk.rstrip(b" "))
            if len(chunk) == 8 and (blanks >= 2 or (blanks == 1 and line[at + 8:at + 9] == b" ")) \
                    and (every or not chunk.strip(b" ")):
                chunk = chunk.rstrip(b" ") + b"\t"
            out += chunk
        lines.append(out)
    return b"\n".join(lines)


def hexdump_cells(data: bytes, width: int = 6, size: int = 2, spell: str = "d", column: str = "") -> bytes:
    """`hexdump -e '8/2 "%6d" "\\n"'`: signed 16-bit words, 8 a row, no separator; `size`-byte words
    (16 bytes a row), `%x` cells, an offset column before (`"%08_ax: "`, `"%07_ad"`)."""
    words = [int.from_bytes(data[i:i + size], "little", signed=spell == "d") for i in range(0, len(data), size)]
    per = 16 // size
    offset = {"": lambda at: "", "%08_ax: ": lambda at: f"{at:08x}: ", "%07_ad": lambda at: f"{at:07d}"}[column]
    return "".join(offset(i * size) + "".join(f"{w:{width}{spell}}" for w in words[i:i + per]) + "\n"
                   for i in range(0, len(words), per)).encode()


FORMS = {
    "od -td4 -tx4": lambda d: od(d, "d4", "x4"),
    "od -tx4 -td4": lambda d: od(d, "x4", "d4"),
    "od -tx1 -td4": lambda d: od(d, "x1", "d4"),
    "od -tu2 -c": lambda d: od(d, "u2", "c"),
    "hexdump -e 8/2 %6d": hexdump_cells,
    # rt19 group 3: without offsets, behind awk's line numbers, tabs; hex cells, cells behind an offset
    "od -An -td4 -tx4": lambda d: od(d, "d4", "x4", offsets=False),
    "od -An -tu2 -c": lambda d: od(d, "u2", "c", offsets=False),
    "od -td4 -tx4 | awk": lambda d: numbered(od(d, "d4", "x4")),
    "od -td4 -tx4 | unexpand": lambda d: unexpand(od(d, "d4", "x4")),
    "od -td4 -tx4 | unexpand -a": lambda d: unexpand(od(d, "d4", "x4"), every=True),
    "hexdump -e 4/4 %8x": lambda d: hexdump_cells(d, 8, 4, "x"),
    "hexdump -e %08_ax: 4/4 %11d": lambda d: hexdump_cells(d, 11, 4, "d", "%08_ax: "),
    "hexdump -e %07_ad 8/2 %6d": lambda d: hexdump_cells(d, 6, 2, "d", "%07_ad"),
}
TOOLS = {"od -td4 -tx4": ["od", "-td4", "-tx4"], "od -tx4 -td4": ["od", "-tx4", "-td4"],
         "od -tx1 -td4": ["od", "-tx1", "-td4"], "od -tu2 -c": ["od", "-tu2", "-c"],
         "hexdump -e 8/2 %6d": ["hexdump", "-e", '8/2 "%6d" "\\n"'],
         "od -An -td4 -tx4": ["od", "-An", "-td4", "-tx4"], "od -An -tu2 -c": ["od", "-An", "-tu2", "-c"],
         "od -td4 -tx4 | awk": ["sh", "-c", "od -td4 -tx4 | awk '{print NR, $0}'"],
         "od -td4 -tx4 | unexpand": ["sh", "-c", "od -td4 -tx4 | unexpand"],
         "od -td4 -tx4 | unexpand -a": ["sh", "-c", "od -td4 -tx4 | unexpand -a"],
         "hexdump -e 4/4 %8x": ["hexdump", "-v", "-e", '4/4 "%8x" "\\n"'],
         "hexdump -e %08_ax: 4/4 %11d": ["hexdump", "-v", "-e", '"%08_ax: " 4/4 "%11d" "\\n"'],
         "hexdump -e %07_ad 8/2 %6d": ["hexdump", "-v", "-e", '"%07_ad" 8/2 "%6d" "\\n"']}
