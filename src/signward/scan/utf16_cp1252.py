"""The scanner's cp1252 mojibake in a chunk of UTF-16LE text (rt16: PowerShell 5 `Out-File` writes
UTF-16LE, so a key decoded as cp1252 is saved two bytes a character): the chunk, when its first
4 KiB read as UTF-16LE text (BOM, or most odd bytes zero and few even ones), is transcoded to UTF-8
and the cp1252 reader (`printed_encodings.cp1252_runs`, passed in) runs on that; each view's span
is mapped back to the chunk's bytes."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

View = tuple[int, int, bytes, str, str]
_MARKS = tuple(ch.encode("utf-16-le") for ch in "\u20ac\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160"
               "\u2039\u0152\u017d\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u017e"
               "\u0178\ufffd")


def _start(data: bytes) -> int | None:
    """Where UTF-16LE text begins (after a BOM), or None when the chunk does not read as it."""
    if data.startswith(b"\xff\xfe"):
        return 2
    for shift in (0, 1):
        head = data[shift:shift + 4096]
        head = head[:len(head) - len(head) % 2]
        if len(head) >= 64 and 5 * head[1::2].count(0) >= 3 * (len(head) // 2) and \
                16 * head[0::2].count(0) <= len(head) // 2:
            return shift
    return None


def utf16_cp1252_views(data: bytes, own_end: int, runs: Callable[[bytes, int], Iterator[View]]) -> Iterator[View]:
    """`runs`' views of the chunk read as UTF-16LE, at their spans in `data`."""
    start = _start(data)
    if start is None or not any(mark in data for mark in _MARKS):
        return
    body = data[start:len(data) - (len(data) - start) % 2]
    text = body.decode("utf-16-le", "replace")
    points = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
    width8 = 1 + (points >= 0x80) + (points >= 0x800) + (points >= 0x10000)
    width16 = 2 + 2 * (points >= 0x10000)
    at8 = np.concatenate(([0], np.cumsum(width8)))
    at16 = np.concatenate(([0], np.cumsum(width16))) + start
    utf8 = text.encode("utf-8")
    for low, high, plain, layer, detail in runs(utf8, len(utf8)):
        raw_low = int(at16[np.searchsorted(at8, low, "right") - 1])
        raw_high = int(at16[np.searchsorted(at8, high, "left")])
        if raw_low >= own_end:
            break
        yield raw_low, raw_high, plain, layer, detail + " (UTF-16LE text)"


__all__ = ["utf16_cp1252_views"]
