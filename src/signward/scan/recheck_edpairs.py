"""The reader's search for Ed25519 secret keys of 64 bytes, seed then its own public key (Go,
libsodium/NaCl, Solana `id.json`), with no known key (issue #32, rt18 group G).

Its own code (nothing from the scanner's `ed25519_pairs.py`): in every view,

- a view of exactly 64 bytes (a decoded base64 or hex run, a byte list read as a view) is checked;
- hex runs of 128 digits, base64/base64url runs of 86 characters and lists of 64 numbers 0-255
  written in the view itself (up to 16 blanks around each number) are decoded and checked (the
  finding is the whole run);
- raw bytes, in the artifact itself (or the plain one below a top-level stream) up to
  `RAW_VIEW_BYTES` (a larger one, a whole core, is left to the scanner's compiled search; a
  decoded view is searched raw by neither reader, only checked when it is 64 bytes): the view
  is cut into 32-byte blocks; a 64-byte pair holds one such block whole, so each block that looks
  random (at most 3 zero bytes, at least 22 distinct values: a random block has 30 on average)
  gives the 33 offsets of a pair that would hold it,
  each checked when both its halves look random too. A view where random blocks are more than
  `DENSE_FROM` and more than one in `DENSE_SHARE` (ciphertext, compressed or random bytes) is
  not searched raw: the scanner's rule for dense blocks, written again here (a pair inside
  kilobytes of random bytes is not found: docs/dumps.md).

The check: the Ed25519 public key of the first 32 bytes (cryptography; libsodium through the
compiled filters where they agree with it) equals the last 32. At most `MAX_CHECKS` derivations a
recheck (its own count, apart from the budget's scalar checks); past them incomplete (refused).
"""

from __future__ import annotations

import base64
import binascii
import mmap
import re
from typing import TYPE_CHECKING

from . import recheck_zeros as zeros

if TYPE_CHECKING:
    from .recheck import _Reader

RAW_VIEW_BYTES = 1 << 20
MAX_CHECKS = 100_000  # derivations a recheck (its own bound: the known-key windows keep the budget's)
DENSE_SHARE, DENSE_FROM = 64, 64  # more than 64 random 32-byte blocks and one in 64: a random view
MIN_DISTINCT, MAX_ZEROS = 22, 3
_HEX = re.compile(rb"[0-9a-fA-F]{128,}+")  # whole runs (a bounded repeat at each digit is 10x slower)
_B64 = re.compile(rb"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{86}(?:==)?(?![A-Za-z0-9+/_=-])")
_NUMBER = rb"\s{0,16}(?:[01]?\d?\d|2[0-4]\d|25[0-5])\s{0,16}"
_URLSAFE = bytes.maketrans(b"-_", b"+/")
_LIST = re.compile(rb"\[(?:" + _NUMBER + rb",){63}" + _NUMBER + rb"\]")


def _random_block(block: bytes) -> bool:
    return block.count(0) <= MAX_ZEROS and len(set(block)) >= MIN_DISTINCT


def _written(data: bytes | mmap.mmap) -> list[tuple[int, int, bytes]]:
    """(start, end, 64 bytes) of each hex run, base64 run and number list of 64 bytes in data."""
    found = [(m.start(), m.end(), binascii.unhexlify(m.group(0)))
             for m in zeros.finditer(_HEX, data) if len(m.group(0)) == 128]
    for match in zeros.finditer(_B64, data):
        text = match.group(0).rstrip(b"=")
        if (b"-" in text or b"_" in text) and (b"+" in text or b"/" in text):
            continue
        try:
            found.append((match.start(), match.end(), base64.b64decode(text.translate(_URLSAFE) + b"==")))
        except (binascii.Error, ValueError):
            continue
    for match in zeros.finditer(_LIST, data):
        found.append((match.start(), match.end(), bytes(int(n) for n in match.group(0)[1:-1].split(b","))))
    return found


def _raw(data: bytes) -> list[int]:
    """Offsets of 64-byte windows to check (module docstring); none in a random view."""
    blocks = [index for index in range(len(data) // 32) if _random_block(data[32 * index:32 * index + 32])]
    if len(blocks) > max(len(data) // 32 // DENSE_SHARE, DENSE_FROM):
        return []
    offsets: set[int] = set()
    for index in blocks:
        for offset in range(max(0, 32 * index - 32), min(32 * index, len(data) - 64) + 1):
            if offset not in offsets and _random_block(data[offset:offset + 32]) and \
                    _random_block(data[offset + 32:offset + 64]):
                offsets.add(offset)
    return sorted(offsets)


def ed25519_pairs(reader: _Reader, data: bytes | mmap.mmap, name: str) -> None:
    """Self-verifying 64-byte Ed25519 secret keys in one view (module docstring)."""
    from .recheck import _ed25519_publics

    spans = [(0, 64, bytes(data))] if len(data) == 64 else []
    spans += _written(data)
    if 64 < len(data) <= RAW_VIEW_BYTES and reader.depth <= reader.anchor:  # the artifact's own bytes
        view = bytes(data)
        spans += [(offset, offset + 64, view[offset:offset + 64]) for offset in _raw(view)]
    if not spans:
        return
    room = MAX_CHECKS - reader.pair_checks
    if len(spans) > room:
        reader.incomplete(f"{name}: more than {MAX_CHECKS} derivations (64-byte Ed25519 pairs)")
        spans = spans[:max(0, room)]
    reader.pair_checks += len(spans)
    publics = _ed25519_publics([value[:32] for _, _, value in spans])
    for (start, end, value), public in zip(spans, publics, strict=True):
        if public == value[32:]:
            reader.found("ed25519-keypair", name, "Ed25519 seed followed by its own public key", (start, end))


__all__ = ["ed25519_pairs"]
