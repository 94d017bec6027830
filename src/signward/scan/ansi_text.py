"""Text coloured with terminal escapes, read as a terminal shows it (issue #32, session 22): the
scanner's view. The independent reader has its own (recheck_codecs.py); nothing is shared.

A CI log, a `script` capture or a log viewer's export colours each line (`\\x1b[32m    00:c1:..:\\x1b[0m`):
a key printout or a PEM whose every line is wrapped in SGR sequences was certified clean (a label then
ends in `\\x1b`, a hex run starts after `m`). Around each CSI sequence (`ESC [` parameters, intermediates,
a final byte) a window of `WINDOW` bytes either way is taken (windows that touch are one); in it the
sequences are taken out, and the text detector reads what is left. A finding there maps back to the
raw bytes from its first to its last character (the sequences between them go with it).
Bounded: `MAX_ESCAPES` sequences a chunk plus one per 16 bytes (more: the rest is not read, said in
`cut`); each window's text is read once.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass

CSI = re.compile(rb"\x1b\[[0-9;:?]{0,32}[ -/]{0,4}[@-~]")
WINDOW = 4096
MAX_ESCAPES = 100_000


@dataclass
class AnsiRegion:
    """The text of raw bytes [start, end) without its escape sequences, and the way back."""

    start: int
    end: int
    text: bytes
    pieces: list[tuple[int, int]]  # (offset in text, raw offset) where each kept piece starts

    def raw(self, offset: int) -> int:
        """The raw offset of the text's byte at `offset`."""
        index = bisect.bisect_right(self.pieces, (offset, 1 << 62)) - 1
        piece_text, piece_raw = self.pieces[index]
        return piece_raw + offset - piece_text

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The raw span of the text's [start, end): from its first byte to past its last."""
        return self.raw(start), self.raw(end - 1) + 1


def _windows(data: bytes, cut: list[str] | None) -> list[tuple[int, int]]:
    most = MAX_ESCAPES + len(data) // 16
    spans: list[tuple[int, int]] = []
    at, count = data.find(b"\x1b["), 0
    while at >= 0:
        count += 1
        if count > most:
            if cut is not None:
                cut.append(f"text: more than {most} terminal escapes in a chunk or view")
            break
        low, high = max(0, at - WINDOW), min(len(data), at + WINDOW)
        if spans and low <= spans[-1][1]:
            spans[-1] = (spans[-1][0], high)
        else:
            spans.append((low, high))
        at = data.find(b"\x1b[", at + 2)
    return spans


def ansi_regions(data: bytes, cut: list[str] | None = None) -> Iterator[AnsiRegion]:
    """Each window around terminal escapes, as text without them."""
    for low, high in _windows(data, cut):
        pieces, parts, kept, position = [], [], 0, low
        for match in CSI.finditer(data, low, high):
            if match.start() > position:
                pieces.append((kept, position))
                parts.append(bytes(data[position:match.start()]))
                kept += match.start() - position
            position = match.end()
        if position < high:
            pieces.append((kept, position))
            parts.append(bytes(data[position:high]))
        if pieces and len(parts) > 1:
            yield AnsiRegion(low, high, b"".join(parts), pieces)


__all__ = ["AnsiRegion", "ansi_regions"]
