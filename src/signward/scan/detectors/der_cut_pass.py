"""The DER heads of keys cut short that the DER detector's anchor does not match (rt19): a
SEQUENCE whose length is long-form 83 to 88 (BER's leading zeros), non-minimal (`30 81 10`), indefinite (`30 80`) or
shorter than 32 (`30 10`), or whose version INTEGER is written as BER writes it (`02 02 00 01`,
`02 81 01 01`). Each is read by `der_cut.cut_key` (the same rules, the chunk's RSA work budget);
the DER detector reads every other head itself. A pass of the `der` detector that the scanner
adds to a chunk's detectors when `der` is one of them; it is not in the registry.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..chunks import Chunk
from ..findings import Finding
from .base import PassDetector
from .der import ANCHOR
from .der_cut import CutChecks, cut_key

HEAD = re.compile(rb"\x30(?:\x80|\x81.|\x82..|\x83...|\x84....|\x85.{5}|\x86.{6}|\x87.{7}|\x88.{8}|[\x00-\x7f])"
                  rb"\x02(?:[\x01-\x04]|\x81[\x01-\x04]|\x82\x00[\x01-\x04])", re.DOTALL)
MAX_HEADS = 100_000  # heads read per chunk (each a few field headers; an RSA triple draws on the work budget)


class CutHeadPass(PassDetector):
    """Keys cut short after their secret behind a head the DER detector does not anchor."""

    def scan(self, chunk: Chunk) -> Iterator[Finding]:
        data = chunk.data
        checks = CutChecks()
        end = 0
        for count, match in enumerate(HEAD.finditer(data)):
            if count >= MAX_HEADS:
                self._cut.add(f"der: more than {MAX_HEADS} DER heads in a chunk or view")
                return
            start = match.start()
            if start < end or ANCHOR.match(data, start) or not chunk.owns(start):
                continue
            cut = cut_key(data, start, checks)
            if cut is not None:
                end = start + cut[0]
                yield self.found(chunk, start, cut[0], cut[1], "der", cut[2])


__all__ = ["CutHeadPass"]
