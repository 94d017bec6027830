"""Which bytes to overwrite, and overwriting them: findings plus a margin, a fixed pattern.

A finding is widened by `MARGIN` bytes each side (a torn neighbour limb, a length prefix)
but never past the memory region it lies in, and never into structure (ELF and program
headers, note headers, minidump directories): a finding inside structure cannot be
redacted without breaking the dump, so the sanitizer refuses the dump instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from .findings import Finding, merge_spans
from .formats import Layout

MARGIN = 32
PATTERN = b"REDACTED"


def redaction_ranges(findings: Iterable[Finding], layout: Layout) -> list[tuple[int, int]]:
    """Merged [start, end) file ranges covering every non-advisory finding and its margin."""
    ranges: list[tuple[int, int]] = []
    for finding in findings:
        if finding.advisory:
            continue
        region = layout.region_at(finding.offset)
        low, high = (region.offset, region.end) if region is not None else (0, layout.size)
        start, end = max(low, finding.offset - MARGIN), min(high, finding.end + MARGIN)
        end = max(end, min(finding.end, layout.size))
        for p_start, p_end in layout.protected:  # shrink the margin away from structure
            if p_end <= finding.offset and p_end > start:
                start = p_end
            if p_start >= finding.end and p_start < end:
                end = p_start
        ranges.append((start, end))
    return merge_spans(ranges)


def fill(descriptor: int, start: int, end: int) -> int:
    """Overwrite [start, end) with PATTERN (aligned to absolute offsets); returns bytes written."""
    block = 1 << 20
    repeated = PATTERN * (block // len(PATTERN) + 2)
    position = start
    while position < end:
        length = min(block, end - position)
        phase = position % len(PATTERN)
        os.pwrite(descriptor, repeated[phase:phase + length], position)
        position += length
    return end - start


__all__ = ["MARGIN", "PATTERN", "fill", "redaction_ranges"]
