"""The strongest detector: private halves of known public keys, verified, with their kid.

- RSA: every window that could be a prime of half the modulus size, as big-endian bytes,
  little-endian limbs (4- and 8-byte alignment) or a Java int[], is trial-divided against
  small primes in bulk and then divides the modulus or not. A found prime gives every other
  private value (q, d under phi and lambda, CRT exponents and coefficient), which the scanner
  then searches for as exact bytes. Windows near each occurrence of the modulus are tried as
  the private exponent too, whether or not the chunk gave a prime (a key's DER or struct may
  straddle a chunk boundary, prime on one side and d on the other): a cheap test that e*d - 1 is
  a multiple of phi(n)/g (g = gcd(p - 1, q - 1) up to 2**64) comes first, then exponentiation.
- EC and Ed25519: windows near every occurrence of the public key (any alignment), then a
  bounded full pass over 8-byte-aligned windows that look random (few zero bytes, few
  repeats, balanced high bits, many distinct values), are tried as the private scalar or
  seed: the public point it generates must equal a known one. At the other offsets, where
  only byte strings live (big-endian integers, seeds), windows in short runs of random bytes
  are tried too: a value kept by itself in a buffer, at any alignment. The candidates' public
  keys are derived in batches (compiled: libcrypto for EC, libsodium for Ed25519; see
  `signward.scan.compiled`) and looked up among the known ones.
- The full passes skip 64 KiB blocks dense with candidates (random data: ciphertext,
  compressed buffers), where a key's number is not kept among the pointers of a heap; the
  canaries show on each dump that this costs nothing where keys really live. The full pass
  stops at `budget` candidates per curve and says so (`incomplete`); the sanitizer refuses a
  dump whose pass was cut short. RSA primes as little-endian limbs are searched in dense blocks
  too, at 8-byte alignment (a BIGNUM allocated next to ciphertext); a prime found gives its other
  forms there by the exact pass. In a batch of decoded views (`Chunk.decoded`: a PEM fragment's
  DER and its shifted readings are dense by nature) RSA primes are read in every block (session 16).
- Private values held as CPython ints (30-bit digits): `python_ints.py`.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Callable, Iterator

import numpy as np
import numpy.typing as npt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ..chunks import Chunk
from ..compiled import OPENSSL_CURVES, filters
from ..findings import Finding
from ..integers import (
    DENSE,
    coprime_to_small_primes,
    dense,
    isolated_windows,
    members,
    min_distinct_bytes,
    random_looking,
    top_low_positions,
    value_at,
    windows,
)
from ..knownkeys import KnownKey
from . import lone_exponent
from .base import BaseDetector
from .python_ints import scan_python_ints

NEAR = 4096
REPRESENTATIONS = ("le", "be", "java")
DEFAULT_BUDGET = 400_000  # candidates per pass and chunk (32 MiB)
UNALIGNED_PER_MIB = 2_000  # candidates per MiB scanned at unaligned offsets (a heap: about 500)
MAX_EXPONENT_TRIALS = 20_000  # each costs about 25 us (the filter below), a survivor one exponentiation
MAX_GCD = 1 << 64  # gcd(p - 1, q - 1) up to this is covered (one key in about 200 has more than 256)
DENSE_ALIGN = 8  # RSA limbs in blocks dense with random data: 8-byte aligned windows (malloc's alignment)


def could_be_private_exponent(d: int, n: int, e: int, bound: int) -> bool:
    """A cheap necessary test for d = e^-1 mod phi(n) or mod lambda(n) = phi(n) / g, g <= MAX_GCD:
    e*d - 1 = k*phi(n)/g with k < e, so (e*d - 1)/n lies within k*(p + q)/(g*n) of k/g, far closer
    than 1/(2g^2): k/g in lowest terms (k', g') is a convergent of (e*d - 1)/n (Legendre), and
    k'*n - (e*d - 1)*g' = k'*(p + q - 1) is positive and under `bound` (= e * 2**(bits/2 + 2)).
    The convergents are tried while their numerator is under e (a dozen for a random window). A
    random window passes with odds about 2**-900; the survivor is then proven by exponentiation.
    (It tried g up to 256 before: the d mod lambda of one random key in about 200, whose
    gcd(p - 1, q - 1) is above 256, failed it.)"""
    x = e * d - 1
    if x <= 0:
        return False
    k0, g0, k, g = 0, 1, 1, 0  # the convergents before and at this step, of x/n = [t0; t1, ...]
    a, b = x, n
    while b:
        t = a // b
        k0, g0, k, g = k, g, t * k + k0, t * g + g0
        if k >= e or g > MAX_GCD:
            return False
        if 0 < k * n - x * g < bound:
            return True
        a, b = b, a - t * b
    return False


def rsa_private_values(n: int, e: int, p: int) -> list[tuple[int, str]]:
    """All private values of the RSA key (n, e) given one prime factor p."""
    q = n // p
    phi = (p - 1) * (q - 1)
    lam = phi // math.gcd(p - 1, q - 1)
    values = [(p, "rsa-prime"), (q, "rsa-prime")]
    for modulus in (lam, phi):
        try:
            d = pow(e, -1, modulus)
        except ValueError:
            continue
        values += [(d, "rsa-private-exponent"), (rsa.rsa_crt_dmp1(d, p), "rsa-crt-exponent"),
                   (rsa.rsa_crt_dmq1(d, q), "rsa-crt-exponent")]
    values += [(rsa.rsa_crt_iqmp(p, q), "rsa-crt-coefficient"), (rsa.rsa_crt_iqmp(q, p), "rsa-crt-coefficient")]
    return values


class KnownKeyDetector(BaseDetector):
    """Finds, and verifies against known public keys, RSA, EC and Ed25519 private material."""

    name = "known-key"

    def __init__(self, budget: int = DEFAULT_BUDGET) -> None:
        self.budget = budget
        self._spent: dict[str, int] = {}
        self._cut: set[str] = set()
        self._scanned = 0

    def incomplete(self) -> list[str]:
        return sorted(self._cut)

    def scan(self, chunk: Chunk) -> Iterator[Finding]:
        # every bound and every shortcut is per chunk, so a chunk's findings depend on it alone
        # (the scanner's pool scans chunks in any process); `incomplete` keeps every cut
        self._spent = {}
        self._scanned = chunk.covers
        rsa_keys = chunk.known.of_kind("rsa")
        if rsa_keys:
            yield from self._rsa(chunk, rsa_keys)
        ec_keys = chunk.known.of_kind("ec")
        if ec_keys:
            yield from self._ec(chunk, ec_keys)
        ed_keys = chunk.known.of_kind("ed25519")
        if ed_keys:
            yield from self._ed25519(chunk, ed_keys)
        if rsa_keys or ec_keys:  # their values as Python ints (python_ints.py)
            yield from scan_python_ints(chunk, self.name, self._cut)

    # RSA ------------------------------------------------------------------------------
    def _rsa(self, chunk: Chunk, keys: list[KnownKey]) -> Iterator[Finding]:
        by_size: dict[int, list[KnownKey]] = {}
        for key in keys:
            by_size.setdefault((key.rsa_n.bit_length() + 1) // 2, []).append(key)
        for prime_bits, group in by_size.items():
            length = (prime_bits + 7) // 8
            moduli = [(key, key.rsa_n) for key in group]  # read once: each read builds the public numbers
            for representation in REPRESENTATIONS:
                # decoded views (a PEM fragment's DER) are dense by nature: every window is read there
                offsets = windows(chunk, length, representation, odd=True, top_bit=prime_bits % 8 == 0,
                                  drop_dense=not chunk.decoded)
                if representation == "le":  # dense blocks too, where a BIGNUM's limbs would be (issue #32, F11)
                    offsets = np.union1d(offsets, windows(chunk, length, representation, odd=True,
                                                          top_bit=prime_bits % 8 == 0, align=DENSE_ALIGN))
                offsets = coprime_to_small_primes(chunk, offsets, length, representation)
                for relative in offsets.tolist():
                    if not chunk.owns(relative):
                        continue
                    x = value_at(chunk.data, relative, length, representation)
                    for key, n in moduli:
                        if 1 < x < n and n % x == 0:
                            for value, kind in rsa_private_values(n, key.rsa_e, x):
                                chunk.learned.add_integer(value, kind, key.kid, self.name)
                            yield chunk.finding(relative, length, self.name, "rsa-prime", representation,
                                                kid=key.kid, verified=True)
        for key in keys:  # also where a prime was found: the prime may be in this chunk and d in the next
            yield from self._rsa_exponent_near_modulus(chunk, key)
            yield from self._rsa_lone_exponent(chunk, key)

    def _rsa_exponent_near_modulus(self, chunk: Chunk, key: KnownKey) -> Iterator[Finding]:
        n, e = key.rsa_n, key.rsa_e
        size = (n.bit_length() + 7) // 8
        forms = _integer_forms(n)
        near = _near(chunk, forms, size)
        if len(near) == 0:
            return
        for form in forms:  # d never overlaps the modulus itself
            position = chunk.data.find(form)
            while position >= 0:
                near = near[(near + size <= position) | (near >= position + len(form))]
                position = chunk.data.find(form, position + 1)
        probe = pow(3, e, n)
        tried = 0
        bound = e << (n.bit_length() // 2 + 2)
        candidates = random_looking(chunk, near, size)
        candidates = candidates[np.argsort(candidates % 8 != 0, kind="stable")]  # aligned buffers first
        for relative in candidates.tolist():
            for representation in REPRESENTATIONS:
                low = top_low_positions(size, representation)[1]
                if not chunk.data[relative + low] & 1 or not chunk.owns(relative):
                    continue  # d is odd
                tried += 1
                if tried > MAX_EXPONENT_TRIALS:
                    self._cut.add(f"{self.name}:rsa-exponent:{key.kid}")
                    return
                d = value_at(chunk.data, relative, size, representation)
                if 1 < d < n and could_be_private_exponent(d, n, e, bound) and pow(probe, d, n) == 3:
                    chunk.learned.add_integer(d, "rsa-private-exponent", key.kid, self.name)
                    yield chunk.finding(relative, size, self.name, "rsa-private-exponent", representation,
                                        kid=key.kid, verified=True)

    def _rsa_lone_exponent(self, chunk: Chunk, key: KnownKey) -> Iterator[Finding]:
        """d kept alone, anywhere in the chunk or in a Python bytes literal in it: 8-byte windows
        looked up in the key's table of d's top bits (`lone_exponent.py`), each hit proven."""
        built = lone_exponent.table(key)
        cut = f"{self.name}:rsa-lone-exponent:{key.kid}"
        if built is None:
            self._cut.add(cut)
            return
        phase = None if lone_exponent.every_offset(chunk) else chunk.file_offset(0) % 8
        found, over = _lone_exponents(chunk.data, built, lone_exponent.chunk_hits(chunk, built, phase))
        for start, size, representation, d in found:
            if chunk.owns(start):
                chunk.learned.add_integer(d, "rsa-private-exponent", key.kid, self.name)
                yield chunk.finding(start, size, self.name, "rsa-private-exponent", representation,
                                    kid=key.kid, verified=True)
        try:
            for start, end, value in lone_exponent.chunk_literals(chunk):
                inside, more = _lone_exponents(value, built, lone_exponent.hits(value, built))
                over = over or more
                for _, _, representation, d in inside[:1]:
                    if chunk.owns(start):
                        chunk.learned.add_integer(d, "rsa-private-exponent", key.kid, self.name)
                        yield chunk.finding(start, end - start, self.name, "rsa-private-exponent",
                                            f"pyrepr+{representation}", kid=key.kid, verified=True)
        except OverflowError:
            self._cut.add(cut)
        if over:
            self._cut.add(cut)

    # EC and Ed25519 ---------------------------------------------------------------------
    def _ec(self, chunk: Chunk, keys: list[KnownKey]) -> Iterator[Finding]:
        by_curve: dict[str, list[KnownKey]] = {}
        for key in keys:
            by_curve.setdefault(key.ec_curve.name, []).append(key)
        for curve_name, group in by_curve.items():
            curve = group[0].ec_curve
            length = (curve.key_size + 7) // 8
            targets = {b"".join(c.to_bytes(length, "big") for c in key.ec_point): key for key in group}
            anchors = [form for key in group for coordinate in key.ec_point for form in _integer_forms(coordinate)]
            yield from self._search(chunk, f"ec:{curve_name}", length, anchors, targets, ec_publics(curve, length),
                                    "ec-private-scalar", integer=True)

    def _ed25519(self, chunk: Chunk, keys: list[KnownKey]) -> Iterator[Finding]:
        targets = {key.raw_public: key for key in keys}
        yield from self._search(chunk, "ed25519", 32, list(targets), targets, ed25519_publics(), "ed25519-seed",
                                integer=False)

    def _search(self, chunk: Chunk, label: str, length: int, anchors: list[bytes], targets: dict[bytes, KnownKey],
                derive: Derive, kind: str, integer: bool) -> Iterator[Finding]:
        """Near every anchor (any alignment), then the bounded full pass (8-byte alignment, writable),
        then byte strings kept by themselves at every other offset (`isolated_windows`). Each
        candidate's public key is derived in batches (`derive`) and looked up in `targets`."""
        representations = REPRESENTATIONS if integer else ("raw",)  # a seed is bytes: read it as stored
        # `sparse` drops blocks dense with random data, but a value kept by itself (a BIGNUM's
        # own allocation, between two malloc headers) stays a candidate however dense its block
        isolated = isolated_windows(chunk, length)
        full = full_pass_candidates(chunk, length, isolated)
        near = random_looking(chunk, _near(chunk, anchors, length), length, max_zeros=3)
        candidates = np.union1d(near, full)
        # byte strings (big-endian integers, seeds) at the other offsets, kept by themselves
        loose = isolated[~members(isolated, candidates)]
        loose = loose[loose % 8 != 0]
        passes = [(representation, candidates, label, self.budget) for representation in representations]
        passes.append(("be" if integer else "raw", loose, f"{label}:unaligned",
                       max(self.budget, UNALIGNED_PER_MIB * (self._scanned >> 20))))
        seen: dict[bytes, bytes] = {}  # this search's windows -> public keys (the same bytes recur in a chunk)
        for representation, offsets, budget_label, budget in passes:
            offsets = offsets[offsets < chunk.own_end]
            spent = self._spent.get(budget_label, 0)
            room = max(budget - spent, 0)
            cut = len(offsets) > room
            offsets = offsets[:room]
            self._spent[budget_label] = spent + len(offsets)
            order = big_endian_order(length, representation)
            for first in range(0, len(offsets), BATCH):
                part = offsets[first:first + BATCH]
                blob = chunk.array[part[:, None] + order].tobytes()
                scalars = _slices(blob, length)
                for relative, scalar, public in zip(part.tolist(), scalars, _publics(label, scalars, derive, seen),
                                                    strict=True):
                    key = targets.get(public)
                    if key is None:
                        continue
                    if integer:
                        chunk.learned.add_integer(int.from_bytes(scalar, "big"), kind, key.kid, self.name)
                    else:
                        chunk.learned.add_bytes(scalar, kind, "raw", key.kid, self.name)
                    yield chunk.finding(relative, length, self.name, kind, representation, kid=key.kid, verified=True)
            if cut:
                self._cut.add(f"{self.name}:{budget_label}")
                return


def _lone_exponents(data: bytes, built: lone_exponent.Table,
                    hits: list[tuple[int, int]]) -> tuple[list[tuple[int, int, str, int]], bool]:
    """(start, length, representation, d) of each table hit whose full window is the key's d:
    `could_be_private_exponent`, then one exponentiation. At most MAX_HITS hits are read (past
    that the second value is True: the caller says `incomplete`)."""
    n, e = built.n, built.e
    bound = e << (n.bit_length() // 2 + 2)
    proven: list[tuple[int, int, str, int]] = []
    seen: set[tuple[int, int, str]] = set()
    for window, tag in hits[:lone_exponent.MAX_HITS]:
        start, size, representation = built.candidate(window, tag)
        if start < 0 or start + size > len(data) or (start, size, representation) in seen:
            continue
        seen.add((start, size, representation))
        d = value_at(data, start, size, representation)
        if 1 < d < n and could_be_private_exponent(d, n, e, bound) and pow(pow(2, e, n), d, n) == 2:
            proven.append((start, size, representation, d))
    return proven, len(hits) > lone_exponent.MAX_HITS


def full_pass_candidates(chunk: Chunk, length: int, isolated: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """8-byte-aligned writable windows that look random, without dense blocks except their
    `isolated` windows (the filters do not depend on byte order: one set serves every layout)."""
    compiled = filters()
    high_range = (length // 5, length - length // 5)
    if compiled is not None:  # one pass that stops looking at a block once it is dense
        return np.frombuffer(compiled.aligned_candidates(
            chunk.data, chunk.prefix("zero"), chunk.prefix("high"), length=length, step=8, max_zeros=3,
            high_lo=high_range[0], high_hi=high_range[1], max_repeats=max(3, length // 32),
            min_distinct=min_distinct_bytes(length), spans=chunk.writable_spans(),
            isolated=np.ascontiguousarray(isolated, dtype=np.int64), block_limit=DENSE), dtype=np.int64)
    # a nonzero first or last byte: the windows whose top byte is nonzero read either way round
    looking = np.union1d(*(windows(chunk, length, order, odd=False, top_bit=False, align=8, max_zeros=3,
                                   high_range=high_range, writable_only=True, looks_random=True)
                           for order in ("le", "be")))
    return looking[~dense(looking) | members(looking, isolated)]


BATCH = 4096  # candidates whose public keys are derived in one call
Derive = Callable[[list[bytes]], list[bytes]]


def _slices(blob: bytes, width: int) -> list[bytes]:
    """`blob` cut into consecutive pieces of `width` bytes (a batch's scalars or public keys)."""
    return [blob[i:i + width] for i in range(0, len(blob), width)]


def big_endian_order(length: int, representation: str) -> npt.NDArray[np.int64]:
    """Where, inside a window, each byte of its value's big-endian form lies: 'be' and 'raw'
    (bytes as stored: a seed) as they are, 'le' reversed, 'java' word by word (`value_at`)."""
    positions = list(range(length))
    if representation == "le":
        positions.reverse()
    elif representation == "java":
        words = [positions[i:i + 4] for i in range(0, length, 4)]
        positions = [p for word in reversed(words) for p in word][::-1]
    return np.array(positions, dtype=np.int64)


def ec_publics(curve: ec.EllipticCurve, length: int) -> Derive:
    """Big-endian scalars -> their public points as X || Y (zeros where a scalar is no private
    key: 0 or not below the order); compiled (libcrypto) where built, else cryptography."""
    compiled = filters()
    name = OPENSSL_CURVES.get(curve.name)
    if compiled is not None and name is not None:
        def batch(scalars: list[bytes]) -> list[bytes]:
            return _slices(compiled.ec_publics(name, b"".join(scalars), length), 2 * length)
        return batch

    def one(scalar: bytes) -> bytes:
        try:
            numbers = ec.derive_private_key(int.from_bytes(scalar, "big"), curve).public_key().public_numbers()
        except (ValueError, OverflowError):
            return bytes(2 * length)
        return numbers.x.to_bytes(length, "big") + numbers.y.to_bytes(length, "big")
    return lambda scalars: [one(scalar) for scalar in scalars]


def ed25519_publics() -> Derive:
    """Seeds -> their Ed25519 public keys; compiled (libsodium) where built, else cryptography."""
    compiled = filters()
    if compiled is not None:
        def batch(seeds: list[bytes]) -> list[bytes]:
            return _slices(compiled.ed25519_publics(b"".join(seeds)), 32)
        return batch
    return lambda seeds: [ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
                          for seed in seeds]


# about 200 MB at most: 64 MiB of a dense image of cores gave 510,000 distinct P-256 windows and
# 370,000 Ed25519 ones (at 1 << 19 the P-256 ones filled it and each Ed25519 window recurring in
# another chunk was derived again: 300,000 derivations, 3.4 s)
MEMO_LIMIT = 1 << 20
SEEN_LIMIT = 1 << 20  # one search's: a pass has at most its budget of windows (400,000 per chunk)
_MEMO: dict[bytes, bytes] = {}
_MEMO_LOCK = threading.Lock()


def _publics(label: str, scalars: list[bytes], derive: Derive, seen: dict[bytes, bytes] | None = None) -> list[bytes]:
    """The public keys `derive` makes of `scalars`, remembered across the scans of this process:
    a sanitize re-scans its own result, and the same windows come back. The memo is keyed by a
    hash of the window, so it keeps no private value; it holds at most MEMO_LIMIT entries.
    `seen` (one search's, dropped with it; at most SEEN_LIMIT entries) is asked first: each
    distinct window is derived once in a search, however often its bytes recur or the memo is full."""
    if seen is not None:
        fresh = list(dict.fromkeys(scalar for scalar in scalars if scalar not in seen))
        batch = dict(zip(fresh, _publics(label, fresh, derive), strict=True)) if fresh else {}
        for scalar, public in batch.items():
            if len(seen) >= SEEN_LIMIT:
                break
            seen[scalar] = public
        return [batch[scalar] if scalar in batch else seen[scalar] for scalar in scalars]
    person = label.encode()[:16]
    keys = [hashlib.blake2b(scalar, digest_size=16, person=person).digest() for scalar in scalars]
    with _MEMO_LOCK:
        results = [_MEMO.get(key) for key in keys]
    missing = [i for i, result in enumerate(results) if result is None]
    if missing:
        fresh = derive([scalars[i] for i in missing])
        with _MEMO_LOCK:
            for i, public in zip(missing, fresh, strict=True):
                results[i] = public
                if len(_MEMO) < MEMO_LIMIT:  # full: the windows seen first stay remembered
                    _MEMO[keys[i]] = public
    return results  # type: ignore[return-value]


def _near(chunk: Chunk, anchors: list[bytes], length: int) -> npt.NDArray[np.int64]:
    """Every window start within NEAR bytes of an occurrence of any anchor, ascending."""
    spans = []
    for anchor in anchors:
        position = chunk.data.find(anchor)
        while position >= 0:
            spans.append((max(0, position - NEAR), min(len(chunk.data) - length, position + NEAR) + 1))
            position = chunk.data.find(anchor, position + 1)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        elif start < end:
            merged.append((start, end))
    if not merged:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([np.arange(start, end, dtype=np.int64) for start, end in merged])


def _integer_forms(value: int) -> list[bytes]:
    size = (value.bit_length() + 7) // 8
    return [value.to_bytes(size, "big"), value.to_bytes(size, "little")]


__all__ = ["DEFAULT_BUDGET", "KnownKeyDetector", "rsa_private_values"]
