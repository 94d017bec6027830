"""The scanner's cp1252 mojibake in UTF-16LE text (rt16, rt17: PowerShell 5 `Out-File` and `>>` write
UTF-16LE, so a key decoded as cp1252 is saved two bytes a character, with or without a BOM, after a
transcript in any script, or appended late to a UTF-8 log; rt18: UTF-16BE without a BOM, read the
same way with the bytes of each code unit the other way round). Anchored on the code units of the
characters only cp1252 gives (U+20AC, U+2122, ...: one numpy pass over the chunk at both byte
parities); an anchor counts where the `SIDE` code units after it or before it read as cp1252
text in UTF-16LE: `SIDE` * 3/4 or more with a high byte cp1252's characters have (0x00, 0x01,
0x02, 0x20, 0x21), half or more with a high byte of zero, and at most a quarter U+0000 (ASCII
text, whose double spaces are U+2020's code unit, and binary with small integers fail). `REGION`
bytes either side of each such anchor (at its parity, neighbours merged) are transcoded to UTF-8
and the cp1252 reader (`printed_encodings.cp1252_runs`, passed in) runs on them; each view's span
is mapped back to the chunk's bytes."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

View = tuple[int, int, bytes, str, str]
SIDE = 32
REGION = 16 << 10
BATCH = 1 << 14  # anchors tested at once
_ONLY_CP1252 = "\u20ac\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u017d\u2018\u2019" \
               "\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u017e\u0178\ufffd"
_MARK_UNIT = np.zeros(1 << 16, dtype=bool)
_MARK_UNIT[[ord(ch) for ch in _ONLY_CP1252]] = True
_CP_HIGH = np.zeros(256, dtype=bool)
_CP_HIGH[[0x00, 0x01, 0x02, 0x20, 0x21]] = True


def _anchors(data: bytes, big: bool = False) -> list[int]:
    """Byte offsets of the cp1252-only code units that sit in cp1252 text as UTF-16LE (UTF-16BE
    when `big`)."""
    array = np.frombuffer(data, dtype=np.uint8)
    high_at, low_at = (0, 1) if big else (1, 0)  # where a code unit's high and low bytes sit
    found: list[int] = []
    for parity in (0, 1):
        count = (len(data) - parity) // 2
        if count < SIDE:
            continue
        units = np.frombuffer(data, dtype=">u2" if big else "<u2", count=count, offset=parity)
        every = np.flatnonzero(_MARK_UNIT[units])
        for first in range(0, len(every), BATCH):  # bounded memory: ASCII double spaces are marks
            marks = every[first:first + BATCH]
            for step in (np.arange(1, SIDE + 1), np.arange(-SIDE, 0)):  # the units after, then before
                index = np.clip(marks[:, None] + step, 0, count - 1)
                high = array[parity + 2 * index + high_at]
                low = array[parity + 2 * index + low_at]
                good = ((_CP_HIGH[high].sum(axis=1) * 4 >= 3 * SIDE) & ((high == 0).sum(axis=1) * 2 >= SIDE)
                        & (((high == 0) & (low == 0)).sum(axis=1) * 4 <= SIDE))
                found += (parity + 2 * marks[good]).tolist()
    return sorted(set(found))


def utf16_cp1252_views(data: bytes, own_end: int, runs: Callable[[bytes, int], Iterator[View]]) -> Iterator[View]:
    """`runs`' views of the chunk's UTF-16LE and UTF-16BE regions around cp1252 anchors, at their
    spans in `data`."""
    for big in (False, True):  # rt18: UTF-16BE without a BOM too
        yield from _order_views(data, own_end, runs, big)


def _order_views(data: bytes, own_end: int, runs: Callable[[bytes, int], Iterator[View]],
                 big: bool) -> Iterator[View]:
    regions: dict[int, list[list[int]]] = {0: [], 1: []}
    for anchor in _anchors(data, big):
        parity = anchor % 2
        low = anchor - REGION if anchor >= REGION else parity
        high = min(len(data), anchor + REGION)
        high -= (high - low) % 2
        spans = regions[parity]
        if spans and low <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], high)
        else:
            spans.append([low, high])
    for low, high in sorted(span for spans in regions.values() for span in spans):
        if low >= own_end:
            continue
        yield from _transcoded(data, low, high, own_end, runs, big)


def _transcoded(data: bytes, start: int, stop: int, own_end: int,
                runs: Callable[[bytes, int], Iterator[View]], big: bool) -> Iterator[View]:
    codec = "UTF-16BE" if big else "UTF-16LE"
    text = data[start:stop].decode(codec, "replace")
    points = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
    width8 = 1 + (points >= 0x80) + (points >= 0x800) + (points >= 0x10000)
    width16 = 2 + 2 * (points >= 0x10000)
    at8 = np.concatenate(([0], np.cumsum(width8)))
    at16 = np.concatenate(([0], np.cumsum(width16))) + start
    utf8 = text.encode("utf-8")
    for low, high, plain, layer, detail in runs(utf8, len(utf8)):
        raw_low = int(at16[np.searchsorted(at8, low, "right") - 1])
        raw_high = int(at16[min(len(at16) - 1, int(np.searchsorted(at8, high, "left")))])
        if raw_low >= own_end:
            break
        yield raw_low, raw_high, plain, layer, detail + f" ({codec} text)"


__all__ = ["utf16_cp1252_views"]
