"""A known key's private scalar or seed kept by itself as one short base64 string (issue #32,
session 16): this module owns finding such strings in a chunk and comparing them with the known keys.

A JWK's `d` of a P-256 key or an Ed25519 seed is 43 base64url characters (44 with `=` in base64),
a P-384 one 64 and a P-521 one 88. Kept alone (a freed copy of the JSON string, a Python str of the
member), it is no JWK for the JWK detector, and the decoded-runs pass reads runs of 64 characters
or more only, in one batch where a run of random bytes longer than a short run is read at 8-aligned
offsets of non-dense blocks alone. Here every run of base64 or base64url characters whose length is
exactly that of a known EC key's scalar or of an Ed25519 seed (`=` padding after it is part of it),
with no such character on either side, is decoded and its public key derived (EC: big-endian
scalar on each known curve of that size; Ed25519: the seed), in batches through the compiled
filters; a public key that is a known one is a finding at the whole run (kind `ec-private-scalar`
or `ed25519-seed`, encoding `base64+be` / `base64+raw`, with the kid), so redaction takes the run.

Candidate runs: one byte in 16 is looked up in the base64 class (numpy); a run of 43 characters or
more holds two neighbouring samples, and the regex (`LONE`) searches only around such pairs.
Bounded: at most `MAX_CANDIDATES` runs a chunk, or one per `CANDIDATE_BYTES` of the chunk when
that is more (rt18: a JSON list of 62,000 base64 SHA-256 digests in 3 MB, a log of 60,000
43-character ids, are that many runs; a run takes 44 bytes at least, so the bound is never reached
by runs that are lone, and each costs one derivation a curve, about 0.03 ms); past it the chunk's
scan is incomplete. The values are derived once each (a value repeated is one derivation).
Written apart from the independent reader (`recheck*.py`): nothing is imported from it.
"""

from __future__ import annotations

import base64
import binascii
import re

import numpy as np

from .chunks import Chunk
from .findings import Finding

MAX_CANDIDATES = 50_000  # key-length runs a chunk (a 64 MiB image of four runtimes' cores: about 5,000)
CANDIDATE_BYTES = 32  # ... or one per this many bytes of the chunk, when more (module docstring)
STRIDE = 16  # a run of 43 or more characters holds two neighbouring samples
SAMPLED_FROM = 1 << 16
REACH = 128  # bytes sampled past the searched part: a run starting in it ends at most 90 bytes later
LONE = re.compile(rb"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{43,}+")
_CLASS = np.zeros(256, dtype=bool)
_CLASS[list(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-")] = True
_URLSAFE = bytes.maketrans(b"-_", b"+/")
NAME = "known-key"


def characters(size: int) -> int:
    """Base64 characters of `size` bytes, without padding."""
    return (4 * size + 2) // 3


def _spans(data: bytes, start: int, end: int) -> list[tuple[int, int]]:
    """Where in data[start:end] a run of 43 or more characters may lie (module docstring)."""
    if end - start < SAMPLED_FROM:
        return [(start, len(data))]
    samples = _CLASS[np.frombuffer(data, dtype=np.uint8, count=end - start, offset=start)[::STRIDE]]
    pairs = np.flatnonzero(samples[:-1] & samples[1:])
    if len(pairs) == 0:
        return []
    # a span reaches a sample before its first pair and two past its last; pairs up to 4 samples apart share one
    breaks = np.flatnonzero(np.diff(pairs) > 4)
    firsts = pairs[np.concatenate(([0], breaks + 1))]
    lasts = pairs[np.concatenate((breaks, [len(pairs) - 1]))]
    lows = start + STRIDE * np.maximum(firsts - 1, 0)
    highs = np.minimum(start + STRIDE * (lasts + 3), len(data))
    return list(zip(lows.tolist(), highs.tolist(), strict=True))


def candidates(data: bytes, lengths: set[int], start: int = 0,
               end: int | None = None) -> list[tuple[int, int, bytes]]:
    """(start, end including `=` padding, decoded bytes) of each run in data[start:end] of exactly
    one of `lengths` characters with no base64 character on either side; a run that mixes the
    two alphabets, or does not decode, is none."""
    end = len(data) if end is None else end
    found = []
    for low, high in _spans(data, start, min(len(data), end + REACH)):  # a run may end past `end`
        for match in LONE.finditer(data, low, high):
            run = match.group(0)
            mixed = (b"-" in run or b"_" in run) and (b"+" in run or b"/" in run)
            if match.start() >= end or len(run) not in lengths or mixed:
                continue
            stop = match.end()
            while stop < len(data) and stop - match.end() < 2 and data[stop] == 0x3D:  # '='
                stop += 1
            try:
                decoded = base64.b64decode(run.translate(_URLSAFE) + b"=" * (-len(run) % 4))
            except (binascii.Error, ValueError):
                continue
            found.append((match.start(), stop, decoded))
    return found


def scan_lone_values(chunk: Chunk, incomplete: set[str]) -> list[Finding]:
    """Known EC scalars and Ed25519 seeds kept as lone base64 strings in `chunk` (module docstring)."""
    from .detectors.known_key import ec_publics, ed25519_publics

    by_size: dict[int, list[tuple[str, object, dict[bytes, str]]]] = {}  # bytes -> (label, derive, targets)
    for key in chunk.known.of_kind("ec"):
        length = (key.ec_curve.key_size + 7) // 8
        entries = by_size.setdefault(length, [])
        entry = next((e for e in entries if e[0] == key.ec_curve.name), None)
        if entry is None:
            entry = (key.ec_curve.name, ec_publics(key.ec_curve, length), {})
            entries.append(entry)
        entry[2][b"".join(c.to_bytes(length, "big") for c in key.ec_point)] = key.kid
    ed_keys = chunk.known.of_kind("ed25519")
    if ed_keys:
        by_size.setdefault(32, []).append(("ed25519", ed25519_publics(), {k.raw_public: k.kid for k in ed_keys}))
    if not by_size:
        return []
    lengths = {characters(size) for size in by_size}
    runs = candidates(chunk.data, lengths, 0, chunk.own_end)
    bound = max(MAX_CANDIDATES, len(chunk.data) // CANDIDATE_BYTES)
    if len(runs) > bound:
        incomplete.add(f"lone-values: more than {bound} key-length base64 runs in one chunk")
        runs = runs[:bound]
    found: list[Finding] = []
    for size, entries in by_size.items():
        chosen = [(start, stop, value) for start, stop, value in runs if len(value) == size]
        if not chosen:
            continue
        values = list(dict.fromkeys(value for _, _, value in chosen))
        for label, derive, targets in entries:
            publics = dict(zip(values, derive(values), strict=True))  # type: ignore[operator]
            for start, stop, value in chosen:
                kid = targets.get(publics[value])
                if kid is None:
                    continue
                if label == "ed25519":
                    chunk.learned.add_bytes(value, "ed25519-seed", "raw", kid, NAME)
                    kind, encoding = "ed25519-seed", "base64+raw"
                else:
                    chunk.learned.add_integer(int.from_bytes(value, "big"), "ec-private-scalar", kid, NAME)
                    kind, encoding = "ec-private-scalar", "base64+be"
                found.append(chunk.finding(start, stop - start, NAME, kind, encoding, kid=kid, verified=True,
                                           detail="decoded lone base64 value"))
    return found


__all__ = ["CANDIDATE_BYTES", "MAX_CANDIDATES", "candidates", "characters", "scan_lone_values"]
