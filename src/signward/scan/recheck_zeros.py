"""Where the independent reader's patterns run in a large view: the view minus its runs of zero
pages.

A process core is mostly zeros (the lab's consumer core: 80 % of its pages), and Python's
regular expressions cost the same per byte on zeros as on text: each of the reader's twenty-odd
patterns walked every zero byte. No pattern of the reader matches a zero byte inside what it
looks for except at the edges (text, base64, hex, decimal, UTF-16/32 characters, PEM armour and
stream headers are all non-zero; a UTF-16 or UTF-32 character ends in zeros), so a run of whole
zero pages is skipped, keeping MARGIN bytes of it on either side: every match in a kept span is
at the same offset as in the whole view (findings map to the same bytes), and decoders that read
on from a match (a compressed stream, a DER structure) still read the whole view.

This is the reader's own code, written apart from the scanner's `regions.py` (numpy, chunk
joins) so that the two do not share a blind spot; standard library only.
"""

from __future__ import annotations

import mmap
import re
import threading
from collections.abc import Iterator

PAGE = 4096
LARGE = 4 << 20  # views this large are split at zero pages; smaller ones are read whole
MARGIN = 64  # bytes of a zero run kept on either side of a kept span
_ZERO_PAGE = bytes(PAGE)

_last: tuple[object, int, list[tuple[int, int]]] | None = None
_lock = threading.Lock()


def spans(data: bytes | mmap.mmap) -> list[tuple[int, int]]:
    """[start, end) spans of `data` that hold every non-zero byte, each zero-page run of the view
    (page-aligned, at least one page) left out but for MARGIN bytes at its edges."""
    global _last
    size = len(data)
    if size < LARGE:
        return [(0, size)]
    with _lock:
        if _last is not None and _last[0] is data and _last[1] == size:
            return _last[2]
    kept: list[tuple[int, int]] = []
    start: int | None = None
    for page in range(0, size, PAGE):
        zero = data[page:page + PAGE] == _ZERO_PAGE
        if not zero and start is None:
            start = max(0, page - MARGIN)
        elif zero and start is not None:
            kept.append((start, min(size, page + MARGIN)))
            start = None
    if start is not None:
        kept.append((start, size))
    with _lock:
        _last = (data, size, kept)
    return kept


def forget() -> None:
    """Drop the cached spans and the reference to the view they belong to (a read is over: a
    large decoded view must not stay in memory until the next large read)."""
    global _last
    with _lock:
        _last = None


def finditer(pattern: re.Pattern[bytes], data: bytes | mmap.mmap, pos: int = 0) -> Iterator[re.Match[bytes]]:
    """`pattern.finditer(data, pos)` over the kept spans of a large view (all of a small one)."""
    for start, end in spans(data):
        if end > pos:
            yield from pattern.finditer(data, max(start, pos), end)


__all__ = ["LARGE", "MARGIN", "PAGE", "finditer", "forget", "spans"]
