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
above `windows_bytes` (where the Python search stops) by an AES key search at every 8th offset,
and at every other offset by `unaligned_aes` (session 12: a key planted at 8k + 3 was missed).
It shares no parser with the scanner: the bytes are the reader's own decoding.

Known AES keys are known by `aes_key_id` only (a hash: `--keys` and canaries carry no secret), so
no substring search can find them: every window is hashed. `unaligned_aes` hashes only windows
that could be a random key (at least one byte outside printable ASCII and whitespace, and at least
width / 2 distinct bytes: a random 16-byte key is all printable with odds 2**-21), so text layers
cost a numpy pass; random-looking layers cost one hash per window and count against the window
check budget, whose end is `incomplete` (refused), never a pass.

A finding is the reader's (kind `known-key`, at the span of the run being decoded); every other
private value the detector proved (the other prime, d, the CRT values) is searched in the view as
exact bytes, each copy a finding. A pass the detector cut short is `incomplete` (refused).
Bounded: views come from the reader's budget; the AES windows count against its check budget.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import numpy as np

from .chunks import CHUNK, OVERLAP, Chunk
from .compiled import filters
from .detectors.known_key import KnownKeyDetector
from .formats import Layout, Region
from .knownkeys import aes_key_id

if TYPE_CHECKING:
    from .recheck import _Reader

FROM_BYTES = 64 << 10  # views above this (decoded ones): the compiled search too
AES_STEP = 8
MAX_COPIES = 100  # copies of one proven value searched per view
AES_WIDTHS = (16, 24, 32)
UNALIGNED_BLOCK = 1 << 18  # windows filtered and hashed a block of offsets at a time (bounded memory)
_TEXT = np.zeros(256, dtype=bool)
_TEXT[0x20:0x7F] = True
_TEXT[0x09:0x0E] = True


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
        unaligned_aes(reader, data, name)


def key_like(data: bytes, width: int, start: int, end: int) -> list[int]:
    """Offsets in [start, end), not multiples of `AES_STEP` (`aes_windows` reads those), whose
    `width`-byte window lies in `data` and could be a random key (module docstring)."""
    end = min(end, len(data) - width + 1)
    if end <= start:
        return []
    block = np.frombuffer(data, dtype=np.uint8, count=end - start + width - 1, offset=start)
    outside = np.zeros(len(block) + 1, dtype=np.int32)
    np.cumsum(~_TEXT[block], out=outside[1:])
    offsets = np.flatnonzero(outside[width:] - outside[:-width] > 0) + start
    offsets = offsets[offsets % AES_STEP != 0]
    compiled = filters()
    if compiled is not None and len(offsets):
        counts = np.frombuffer(compiled.distinct_bytes(data, offsets.astype(np.int64).tobytes(), width), dtype=np.int64)
        offsets = offsets[counts >= width // 2]
    return [int(at) for at in offsets]


def unaligned_aes(reader: _Reader, data: bytes, name: str) -> None:
    """Known AES keys (by `aes_key_id`) at every offset `aes_windows` skips, in windows that could
    be a key; each hash one window check of the reader's budget (module docstring)."""
    from .recheck import _Exhausted

    budget = reader.budget
    wanted = {bytes.fromhex(kid.removeprefix("aes:")) for kid in reader.secret_ids if kid.startswith("aes:")}
    digest = hashlib.sha256
    for start in range(0, len(data), UNALIGNED_BLOCK):
        for width in AES_WIDTHS:
            offsets = key_like(data, width, start, start + UNALIGNED_BLOCK)
            room = budget.max_checks - budget.checks
            budget.checks += len(offsets)
            hits = [at for at in offsets[:max(0, room)] if digest(data[at:at + width]).digest()[:16] in wanted]
            if hits:
                window = data[hits[0]:hits[0] + width]
                reader.found("known-key", name, f"AES key {aes_key_id(window)}", (hits[0], hits[0] + width))
                return
            if budget.checks > budget.max_checks:
                raise _Exhausted(f"more than {budget.max_checks} window checks")


__all__ = ["FROM_BYTES", "compiled_windows", "key_like", "unaligned_aes"]
