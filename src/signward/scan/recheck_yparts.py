"""The independent reader's joining of yEnc multipart posts (rt16): a part (`=ybegin part=N` with a
`=ypart begin=B` line) is written at offset B-1 of the file its `name=` names; a file of two parts
or more is read as one child view. Its own code, written apart from the scanner's `yenc_parts.py`."""

from __future__ import annotations

import re

LARGEST = 1 << 20  # bytes of one joined file
_OFFSET = re.compile(rb"begin=(\d{1,12})")
_FILE_NAME = re.compile(rb"name=(.{0,256})")


class Parts:
    """The parts seen in one view, by file name; `files()` places them."""

    def __init__(self) -> None:
        self._by_name: dict[bytes, list[tuple[int, bytes, tuple[int, int]]]] = {}

    def add(self, header: bytes, part_line: bytes, body: bytes, span: tuple[int, int]) -> None:
        offset = _OFFSET.search(part_line)
        if offset is None or not 0 < int(offset.group(1)) <= LARGEST:
            return
        name = _FILE_NAME.search(header)
        key = name.group(1).rstrip(b"\r ") if name else b""
        self._by_name.setdefault(key, []).append((int(offset.group(1)) - 1, body, span))

    def files(self) -> list[tuple[bytes, tuple[int, int]]]:
        out = []
        for pieces in self._by_name.values():
            if len(pieces) < 2:
                continue
            whole = bytearray()
            for offset, body, _ in sorted(pieces, key=lambda piece: piece[0]):
                if offset >= LARGEST:
                    break
                body = body[: LARGEST - offset]
                if len(whole) < offset + len(body):
                    whole.extend(bytes(offset + len(body) - len(whole)))
                whole[offset:offset + len(body)] = body
            out.append((bytes(whole), (min(p[2][0] for p in pieces), max(p[2][1] for p in pieces))))
        return out


__all__ = ["Parts"]
