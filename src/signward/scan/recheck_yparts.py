"""The independent reader's joining of yEnc multipart posts (rt16, rt17): a part (`=ybegin part=N`
with a `=ypart begin=B` line) belongs at offset B-1 of the file its `name=` names, whatever B is
(rt17: parts past 1 MiB were left out). The file is never built whole: for each name with two parts
or more, the parts are sorted by offset and, wherever a part begins at or before the end of the one
before it (a joint, where a key split between parts lies), the `SIDE` bytes either side of it are
one child view; joints closer than 2 * `SIDE` share a view. Each view starts at a multiple of 8 of
the file's offsets. Its own code, written apart from the scanner's `yenc_parts.py`."""

from __future__ import annotations

import re

SIDE = 16 << 10  # bytes read either side of a joint (any key's encoding is shorter)
_OFFSET = re.compile(rb"begin=(\d{1,12})")
_FILE_NAME = re.compile(rb"name=(.{0,256})")


class Parts:
    """The parts seen in one view, by file name; `files()` places them."""

    def __init__(self) -> None:
        self._by_name: dict[bytes, list[tuple[int, bytes, tuple[int, int]]]] = {}

    def add(self, header: bytes, part_line: bytes, body: bytes, span: tuple[int, int]) -> None:
        offset = _OFFSET.search(part_line)
        if offset is None:
            return
        name = _FILE_NAME.search(header)
        key = name.group(1).rstrip(b"\r ") if name else b""
        self._by_name.setdefault(key, []).append((max(1, int(offset.group(1))) - 1, body, span))

    def files(self) -> list[tuple[bytes, tuple[int, int]]]:
        """(bytes around joints, the raw span of the parts read there) for every joint."""
        out = []
        for pieces in self._by_name.values():
            pieces = sorted(pieces, key=lambda piece: piece[0])
            end = 0
            around: list[int] = []  # indices of the pieces that begin at a joint, in one view
            for index, (offset, body, _) in enumerate(pieces):
                if index and offset <= end:
                    if around and offset - pieces[around[-1]][0] > 2 * SIDE:
                        out.append(_view(pieces, around))
                        around = []
                    around.append(index)
                elif around:
                    out.append(_view(pieces, around))
                    around = []
                end = offset + len(body) if index == 0 or offset > end else max(end, offset + len(body))
            if around:
                out.append(_view(pieces, around))
        return out


def _view(pieces: list[tuple[int, bytes, tuple[int, int]]], joints: list[int]) -> tuple[bytes, tuple[int, int]]:
    """The bytes from `SIDE` before the first joint to `SIDE` after the last, from the pieces
    there (each joint's piece and the one before it)."""
    used = pieces[joints[0] - 1:joints[-1] + 1]
    start = max(used[0][0], pieces[joints[0]][0] - SIDE) // 8 * 8
    stop = min(max(offset + len(body) for offset, body, _ in used), pieces[joints[-1]][0] + SIDE)
    whole = bytearray(stop - start)
    for offset, body, _ in used:
        lo, hi = max(offset, start), min(offset + len(body), stop)
        if lo < hi:
            whole[lo - start:hi - start] = body[lo - offset:hi - offset]
    return bytes(whole), (min(p[2][0] for p in used), max(p[2][1] for p in used))


__all__ = ["Parts"]
