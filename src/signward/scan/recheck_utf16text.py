"""The independent reader's whole-view UTF-16LE text without a BOM (rt16: PowerShell 5 `Out-File`;
cp1252 mojibake there has characters past U+00FF, which the reader's UTF-16 runs of code units below
256 do not hold): a view whose first 8 KiB have zero odd bytes at least 55 % of the time and zero
even bytes at most 1 time in 32, and that decodes as UTF-16LE to its end, is read as UTF-8 text.
Its own code, apart from the scanner's `utf16_cp1252.py`.

rt17: a BOM-less transcript in another script (odd bytes not zero) or UTF-16LE appended late to a
UTF-8 log (PowerShell 5 `>>`) fails that whole-view test. `cp1252_windows` finds, anywhere in a
view, the UTF-16LE code unit of a character only cp1252 gives right after a code unit below U+0100
(not U+0000); where the `NEAR` units after or before it have at least 24 of 32 high bytes in
cp1252's (0x00, 0x01, 0x02, 0x20, 0x21), 16 of them zero and at most 8 U+0000, the `AROUND` bytes
either side (at its byte parity, neighbours merged) decode as UTF-16LE into one UTF-8 child view.
rt18: the same for UTF-16BE without a BOM (each code unit's bytes the other way round)."""

from __future__ import annotations

import mmap
import re
from collections.abc import Iterator

from . import recheck_zeros as zeros

NEAR = 32
AROUND = 16 << 10
_ONLY_1252 = (0x20AC, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152,
              0x017D, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A,
              0x0153, 0x017E, 0x0178, 0xFFFD)
_AFTER_LATIN = re.compile(rb"[\x01-\xff]\x00(?:" + b"|".join(re.escape(chr(point).encode("utf-16-le"))
                                                             for point in _ONLY_1252) + rb")")
_AFTER_LATIN_BE = re.compile(rb"\x00[\x01-\xff](?:" + b"|".join(re.escape(chr(point).encode("utf-16-be"))
                                                                for point in _ONLY_1252) + rb")")
_NOT_CP_HIGH = bytes(set(range(256)) - {0x00, 0x01, 0x02, 0x20, 0x21})


def utf16le_text(data: bytes | mmap.mmap) -> bytes | None:
    """The view as UTF-8 when it is UTF-16LE text with no BOM; else None."""
    sample = bytes(data[:8192])
    pairs = len(sample) // 2
    if pairs < 32 or sample[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return None
    odd_zero = sample[1:2 * pairs:2].count(0)
    even_zero = sample[0:2 * pairs:2].count(0)
    if 100 * odd_zero < 55 * pairs or 32 * even_zero > pairs:
        return None
    whole = bytes(data[:len(data) - len(data) % 2])
    try:
        return whole.decode("utf-16-le").encode("utf-8")
    except UnicodeError:
        return None  # binary with zeros between bytes: the reader's UTF-16 runs read it


def _reads_as_cp1252(units: bytes, big: bool = False) -> bool:
    """`NEAR` UTF-16LE (`big`: UTF-16BE) code units that look like cp1252 text (the module docstring's counts)."""
    if len(units) < 2 * NEAR:
        return False
    highs = units[0::2] if big else units[1::2]
    nulls = sum(1 for at in range(0, len(units), 2) if units[at] == 0 and units[at + 1] == 0)
    return len(highs.translate(None, _NOT_CP_HIGH)) >= 24 and highs.count(0) >= 16 and nulls <= 8


def cp1252_windows(data: bytes | mmap.mmap) -> Iterator[tuple[tuple[int, int], str, bytes]]:
    """((start, end), "utf-16le" or "utf-16be", UTF-8) of each UTF-16LE window around cp1252-only
    characters (rt17), then of each UTF-16BE one (rt18: no BOM)."""
    yield from _windows(data, _AFTER_LATIN, "utf-16-le")
    yield from _windows(data, _AFTER_LATIN_BE, "utf-16-be")


def _windows(data: bytes | mmap.mmap, marks: re.Pattern[bytes],
             codec: str) -> Iterator[tuple[tuple[int, int], str, bytes]]:
    big = codec == "utf-16-be"
    windows: list[list[int]] = []  # [start, end, parity], in order of their marks
    for found in zeros.finditer(marks, data):
        mark = found.start() + 2
        after = bytes(data[mark + 2:mark + 2 + 2 * NEAR])
        before = bytes(data[max(0, mark - 2 * NEAR):mark]) if mark >= 2 * NEAR else b""
        if not (_reads_as_cp1252(after, big) or _reads_as_cp1252(before, big)):
            continue
        start = mark - AROUND if mark >= AROUND else mark % 2
        end = min(len(data), mark + AROUND)
        end -= (end - start) % 2
        same = [window for window in windows[-2:] if window[2] == mark % 2 and start <= window[1]]
        if same:
            same[-1][1] = max(same[-1][1], end)
        else:
            windows.append([start, end, mark % 2])
    for start, end, _ in windows:
        yield (start, end), codec.replace("16-", "16"), bytes(data[start:end]).decode(codec, "replace").encode("utf-8")


__all__ = ["cp1252_windows", "utf16le_text"]
