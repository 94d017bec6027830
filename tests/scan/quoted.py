"""Hostile quoting shared by the scanner's and the reader's literal-search cost tests (issue #32):
runs of escaped quotes, a DER key as adjacent C literals, random mixes of quotes and escapes. The two
searches under test stay separate code (the reader must not share the scanner's); their inputs need not."""

from __future__ import annotations

import random

N = 100_000  # escaped quotes: 200 KB (a body past both readers' literal bounds)
HOSTILE = {
    "double-unclosed": b'"' + b'\\"' * N,
    "single-unclosed": b"'" + b"\\'" * N,
    "double-closed": b'"' + b'\\"' * N + b'"',
    "single-closed": b"'" + b"\\'" * N + b"'",
}


def as_c_literals(der: bytes) -> bytes:
    """`der` as adjacent C literals of 16 escaped bytes each."""
    return b" ".join(b'"' + b"".join(b"\\x%02x" % x for x in der[i:i + 16]) + b'"' for i in range(0, len(der), 16))


def quote_mixes(parts: list[bytes], count: int = 3_000, seed: int = 32) -> list[bytes]:
    """`count` random strings of up to 60 `parts` (quotes, escapes, separators, prefixes)."""
    rng = random.Random(seed)
    return [b"".join(rng.choice(parts) for _ in range(rng.randrange(60))) for _ in range(count)]
