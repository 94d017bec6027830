"""The independent reader's own list of archive and compressor formats it does not open.

A view that is one of these (7-Zip, RAR, lzip, lzop, Unix compress, cab, squashfs, an lz4 legacy
frame, xar, brotli's framing format; or a file or archive member whose name says 7z, RAR
and the like) would otherwise be read as raw bytes, and its compressed content would go unread:
the reader marks it incomplete (the artifact is refused). Kept apart from the scanner's
`formats.py` on purpose: the two readers share no parser and no table.
"""

from __future__ import annotations

import re

# (magic at the start of a view, format); Unix compress is checked with its flag byte below
_MAGICS = (
    (b"7z\xbc\xaf'\x1c", "7-Zip"), (b"Rar!\x1a\x07\x00", "RAR"), (b"Rar!\x1a\x07\x01\x00", "RAR 5"),
    (b"LZIP\x00", "lzip"), (b"LZIP\x01", "lzip"), (b"\x89LZO\x00\r\n\x1a\n", "lzop"),
    (b"MSCF\x00\x00\x00\x00", "cabinet"), (b"hsqs", "squashfs"), (b"sqsh", "squashfs"),
    (b"\x02!L\x18", "lz4 legacy"), (b"xar!\x00\x1c", "xar"), (b"\xce\xb2\xcf\x81", "brotli framing"),
)
# (a `.br` name is decoded: recheck_brotli.py)
# a name's last dot-suffix, case folded; only on a name's last path part (after `/`, `!` or ` `)
_SUFFIX = re.compile(r"\.(7z|rar|lz|lzo|z|cab|sqsh|squashfs|xar|arj|lrz|zpaq)\Z", re.IGNORECASE)


def unread_kind(head: bytes, name: str) -> str | None:
    """What `head` (a view's first bytes) or `name` (a file's or member's) says the view is, when
    it is a format this reader does not open; else None."""
    for magic, label in _MAGICS:
        if head[:len(magic)] == magic:
            return label
    if len(head) > 2 and head[0] == 0x1F and head[1] == 0x9D and head[2] & 0x60 == 0 and \
            9 <= head[2] & 0x1F <= 16:
        return "compress (.Z)"
    found = _SUFFIX.search(re.split(r"[/! ]", name)[-1])
    return f"a .{found.group(1)} file" if found else None


__all__ = ["unread_kind"]
