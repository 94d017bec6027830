"""Ed25519 secret keys of 64 bytes, the 32-byte seed then its own public key (Go's
`ed25519.PrivateKey`, libsodium/NaCl `crypto_sign` secret keys, Solana's `id.json`), found with no
known key (issue #32, rt18 group G): this module owns that search in the scanner.

Such a key carries its own proof: the public key derived from the first 32 bytes (RFC 8032,
libsodium through the compiled filters) equals the last 32. Where it is looked for, in a chunk:

- text: a run of exactly 128 hex digits, of exactly 86 base64 or base64url characters (`=` padding
  after it is part of it), or a JSON/Python list of exactly 64 integers 0-255 (Solana's
  `[12,34,...]`, up to 16 blanks around each number); each is always checked (a finding is the whole run);
- raw bytes: a 64-byte window at any offset that looks random (few zeros, few repeats, enough
  distinct bytes: `integers.windows`), outside 64 KiB blocks dense with such windows. Random
  data (ciphertext, compressed buffers, a random file) is every window a candidate and is
  dropped as the unknown-RSA search drops it: a key pair sits among pointers and lengths, not
  inside kilobytes of random bytes. That is a limit (a pair inside a dense random block is not
  found), written down in docs/dumps.md.

Bounded: at most `MAX_CHECKS` derivations a chunk; past it the chunk's scan is incomplete.
Written apart from the independent reader (`recheck_edpairs.py`): nothing is imported from it.
"""

from __future__ import annotations

import re

from .chunks import Chunk
from .findings import Finding
from .integers import windows
from .lone_values import candidates

MAX_CHECKS = 100_000  # candidates a chunk (about 1.5 s of libsodium; a 17 MB Python core has 18,000)
NAME = "ed25519-pair"
KIND = "ed25519-keypair"
HEX_RUN = re.compile(rb"(?<![0-9A-Fa-f])[0-9A-Fa-f]{128,}+")  # a whole run; 128 digits kept (4x faster than {128})
_BYTE = rb"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
BYTE_LIST = re.compile(rb"\[\s{0,16}(?:" + _BYTE + rb"\s{0,16},\s{0,16}){63}" + _BYTE + rb"\s{0,16}\]")
BASE64_CHARACTERS = 86  # 64 bytes


def text_pairs(data: bytes, start: int, end: int) -> list[tuple[int, int, bytes]]:
    """(start, end, 64 decoded bytes) of each hex run, base64 run and byte list of 64 bytes that
    starts in data[start:end]."""
    found = [(match.start(), match.end(), bytes.fromhex(match.group(0).decode()))
             for match in HEX_RUN.finditer(data, start) if match.start() < end and len(match.group(0)) == 128]
    found += [run for run in candidates(data, {BASE64_CHARACTERS}, start, end) if len(run[2]) == 64]
    for match in BYTE_LIST.finditer(data, start):
        if match.start() < end:
            values = re.findall(rb"\d+", match.group(0))
            found.append((match.start(), match.end(), bytes(int(value) for value in values)))
    return found


def raw_offsets(chunk: Chunk) -> list[int]:
    """Offsets in the chunk's own part of 64-byte windows that look random, dense blocks dropped."""
    offsets = windows(chunk, 64, "be", odd=False, top_bit=False, align=1, looks_random=True, drop_dense=True)
    return [int(offset) for offset in offsets if offset < chunk.own_end]


def self_verifying(values: list[bytes]) -> list[bool]:
    """For each 64-byte value: is its second half the Ed25519 public key of its first?"""
    from .detectors.known_key import _publics, ed25519_publics

    if not values:
        return []
    # each distinct seed derived once, and remembered across the scans of this process (a sanitize
    # re-scans its result): the known-key detector's memo, keyed by a hash of the seed
    publics = _publics("ed25519", [value[:32] for value in values], ed25519_publics(), seen={})
    return [public == value[32:] for public, value in zip(publics, values, strict=True)]


def scan_ed25519_pairs(chunk: Chunk, incomplete: set[str]) -> list[Finding]:
    """Self-verifying 64-byte Ed25519 secret keys in `chunk`, in text and raw (module docstring)."""
    data = chunk.data
    spans = [(low, high, value, "text") for low, high, value in text_pairs(data, 0, chunk.own_end)]
    spans += [(offset, offset + 64, data[offset:offset + 64], "raw") for offset in raw_offsets(chunk)]
    if len(spans) > MAX_CHECKS:
        incomplete.add(f"{NAME}: more than {MAX_CHECKS} 64-byte key pair candidates in one chunk")
        spans = spans[:MAX_CHECKS]
    found: list[Finding] = []
    for (low, high, value, form), proven in zip(spans, self_verifying([span[2] for span in spans]), strict=True):
        if not proven:
            continue
        chunk.learned.add_bytes(value[:32], "ed25519-seed", "raw", None, NAME)
        found.append(chunk.finding(low, high - low, NAME, KIND, "raw" if form == "raw" else "text", verified=True,
                                   detail="seed whose own public key follows it"))
    return found


__all__ = ["MAX_CHECKS", "raw_offsets", "scan_ed25519_pairs", "self_verifying", "text_pairs"]
