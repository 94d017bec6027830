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


def od(data: bytes, *kinds: str) -> bytes:
    """`od -t KIND -t KIND ...` (octal offsets, 16 bytes a row, each type's row under the first)."""
    per_byte = max(-(-(_DIGITS[k] + 1) // (1 if k == "c" else int(k[1:]))) for k in kinds)
    lines = []
    for at in range(0, len(data), 16):
        row = data[at:at + 16]
        for index, kind in enumerate(kinds):
            field = per_byte * (1 if kind == "c" else int(kind[1:]))
            head = f"{at:07o}" if index == 0 else " " * 7
            lines.append(head + "".join(f"{cell:>{field}}" for cell in _cells(row, kind)))
    return ("\n".join(lines) + "\n" + f"{len(data):07o}\n").encode()


def hexdump_cells(data: bytes, width: int = 6) -> bytes:
    """`hexdump -e '8/2 "%6d" "\\n"'`: signed 16-bit words, 8 a row, no separator."""
    words = [int.from_bytes(data[i:i + 2], "little", signed=True) for i in range(0, len(data), 2)]
    return "".join("".join(f"{w:{width}d}" for w in words[i:i + 8]) + "\n" for i in range(0, len(words), 8)).encode()


FORMS = {
    "od -td4 -tx4": lambda d: od(d, "d4", "x4"),
    "od -tx4 -td4": lambda d: od(d, "x4", "d4"),
    "od -tx1 -td4": lambda d: od(d, "x1", "d4"),
    "od -tu2 -c": lambda d: od(d, "u2", "c"),
    "hexdump -e 8/2 %6d": hexdump_cells,
}
TOOLS = {"od -td4 -tx4": ["od", "-td4", "-tx4"], "od -tx4 -td4": ["od", "-tx4", "-td4"],
         "od -tx1 -td4": ["od", "-tx1", "-td4"], "od -tu2 -c": ["od", "-tu2", "-c"],
         "hexdump -e 8/2 %6d": ["hexdump", "-e", '8/2 "%6d" "\\n"']}
