"""The independent reader's known-key search over large decoded views (issue #32, round 5: F1, F1b).

The reader's own window search (`recheck._Reader.windows`, pure Python) runs at every offset on
views up to 64 KiB and at every 8th offset up to 1 MiB. A raw artifact larger than that is read by
the scanner's known-key detector (compiled filters), but a layer only the reader decodes (a base64
run in a log line, a zlib stream in a PDF, a .gz inside a .gz, a member of such) is seen by no
other reader. This module owns that gap: every such view larger than `FROM_BYTES` (the reader
decoded it; the scanner never sees it) is also searched by the compiled known-key detector
(`detectors.known_key`: RSA primes at every offset big-endian and at 4-byte alignment as limbs,
the private exponent near the modulus, EC scalars and Ed25519 seeds near the public key, in
8-byte-aligned random-looking windows and, at every other offset, in short random runs), and
above `windows_bytes` (where the Python search stops) by an AES key search at every 8th offset.
It shares no parser with the scanner: the bytes are the reader's own decoding.

A finding is the reader's (kind `known-key`, at the span of the run being decoded); every other
private value the detector proved (the other prime, d, the CRT values) is searched in the view as
exact bytes, each copy a finding. A pass the detector cut short is `incomplete` (refused).
Bounded: views come from the reader's budget; the AES windows count against its check budget.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .chunks import CHUNK, OVERLAP, Chunk
from .detectors.known_key import KnownKeyDetector
from .formats import Layout, Region

if TYPE_CHECKING:
    from .recheck import _Reader

FROM_BYTES = 64 << 10  # views above this (decoded ones): the compiled search too
AES_STEP = 8
MAX_COPIES = 100  # copies of one proven value searched per view


def compiled_windows(reader: _Reader, data: bytes, name: str, windows_bytes: int) -> None:
    """The compiled known-key search over one decoded view (see the module docstring)."""
    known = reader.known
    if known.of_kind("rsa") or known.of_kind("ec") or known.of_kind("ed25519"):
        detector = KnownKeyDetector()
        layout = Layout(format="raw", size=len(data), regions=[Region(0, len(data), None)])
        proven: dict[bytes, tuple[str, str | None]] = {}
        for start in range(0, len(data), CHUNK):
            end = min(len(data), start + CHUNK + OVERLAP)
            own = CHUNK if start + CHUNK < len(data) else end - start
            chunk = Chunk(data[start:end], start, own, layout, known)
            for finding in detector.scan(chunk):
                reader.found("known-key", name, f"{finding.kind} of known kid {finding.kid} (compiled search)",
                             (finding.offset, finding.offset + finding.length))
            for pattern, (_, kind, _, kid) in chunk.learned.patterns.items():
                proven.setdefault(pattern, (kind, kid))
        for cut in detector.incomplete():
            reader.incomplete(f"{name}: the compiled known-key search was cut short ({cut})")
        for pattern, (kind, kid) in proven.items():  # the key's other values, wherever they are
            at = data.find(pattern)
            for _ in range(MAX_COPIES):
                if at < 0:
                    break
                reader.found("known-key", name, f"{kind} of known kid {kid} (proven value)", (at, at + len(pattern)))
                at = data.find(pattern, at + 1)
    if reader.secret_ids and len(data) > windows_bytes:
        reader.aes_windows(data, name, AES_STEP)  # the AES windows the Python search stops short of


__all__ = ["FROM_BYTES", "compiled_windows"]
