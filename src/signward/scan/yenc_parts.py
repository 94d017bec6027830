"""The scanner's joining of yEnc multipart posts (rt16): each `=ybegin part=N ... name=X` with a
`=ypart begin=B end=E` line is placed at offset B-1 of its file X, and each file of two or more
parts is one more view (at most `MAX_FILE` bytes; a part past it is left out)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

MAX_FILE = 1 << 20
MAX_PARTS = 4096
_BEGIN = re.compile(rb"=ypart [^\r\n]*?\bbegin=([0-9]{1,12})")
_NAME = re.compile(rb"\bname=([^\r\n]{0,256})")

Part = tuple[int, int, bytes, bytes]  # raw start, raw end, the header lines, the decoded body
Joined = tuple[int, int, bytes]


def joined_files(parts: Sequence[Part]) -> Iterator[Joined]:
    """(first part's start, last part's end, the file) for each name with two parts or more."""
    files: dict[bytes, list[tuple[int, int, int, bytes]]] = {}
    for start, end, head, plain in parts[:MAX_PARTS]:
        begin = _BEGIN.search(head)
        if begin is None or not 1 <= int(begin.group(1)) <= MAX_FILE:
            continue
        name = _NAME.search(head)
        files.setdefault(name.group(1).strip() if name else b"", []).append(
            (start, end, int(begin.group(1)) - 1, plain))
    for pieces in files.values():
        if len(pieces) < 2:
            continue
        size = min(MAX_FILE, max(offset + len(plain) for _, _, offset, plain in pieces))
        out = bytearray(size)
        for _, _, offset, plain in pieces:
            out[offset:offset + len(plain)] = plain[: size - offset]
        yield min(p[0] for p in pieces), max(p[1] for p in pieces), bytes(out)


__all__ = ["joined_files"]
