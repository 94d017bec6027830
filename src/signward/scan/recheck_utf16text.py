"""The independent reader's whole-view UTF-16LE text without a BOM (rt16: PowerShell 5 `Out-File`;
cp1252 mojibake there has characters past U+00FF, which the reader's UTF-16 runs of code units below
256 do not hold): a view whose first 8 KiB have zero odd bytes at least 55 % of the time and zero
even bytes at most 1 time in 32, and that decodes as UTF-16LE to its end, is read as UTF-8 text.
Its own code, apart from the scanner's `utf16_cp1252.py`."""

from __future__ import annotations

import mmap


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


__all__ = ["utf16le_text"]
