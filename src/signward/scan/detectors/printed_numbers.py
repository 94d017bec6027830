"""Private keys printed as big integers, proven from the printout alone (issue #32, session 22): the
scanner's rule. The independent reader has its own (recheck*.py); nothing is shared.

Runtimes print a key's numbers in decimal or hex when code logs the key object: Go's `%v` / `%+v` of
an *ecdsa.PrivateKey (`&{PublicKey:{Curve:0xc000.. X:+9712.. Y:+4471..} D:+5567..}`) or an
*rsa.PrivateKey (`N:+.. E:65537} D:+.. Primes:[+.. +..]`), Java's `RSAPrivateCrtKey.toString()`
(`modulus: ..` and `private exponent: ..` in decimal), Python's repr of `RSAPrivateNumbers(p=.., q=..,
d=.., ..., n=..)`, configs with `n`/`d`/`p` or `d`/`x`/`y` in hex. Both readers read such numbers only
against known keys (`--keys`), so a key nobody named was certified clean. Here the printout proves
itself: the integer tokens (decimal of `MIN_DECIMAL` digits or more, with a sign or not; hex of
`MIN_HEX` digits or more, `0x` or not) are grouped by nearness (`GAP` bytes at most between two of a
group), and in each group:

- RSA: a token N of 1,000-16,384 bits and a token p of about half its bits with N % p == 0 (a prime:
  the key); else a token d of about N's bits with 2^(e*d) = 2 mod N for e = 65537 or 3 (one modular
  exponentiation each, `MODEXPS` a view plus one per 256 KiB);
- EC: a token s of 32, 48 or 66 bytes' size below the order of P-256 or secp256k1, P-384, P-521,
  whose point s*G has as x coordinate a point of the group (two neighbouring tokens on the curve, or an
  encoded point), s within `NEAR` tokens of it and no coordinate itself (`DERIVATIONS` a view plus 8 per KiB).

A finding spans the whole group (the key's other private values, q, d, dp, dq, qi, are in it: all are
redacted). Past a budget the rest of the view is not read and `cut` says so (incomplete: refused).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ..modexp import mod_pow

MIN_DECIMAL, MIN_HEX = 60, 64  # digits: a 192-bit value is 58 decimal digits, a 256-bit one 64 hex
MAX_DIGITS = 5000  # a 16,384-bit number is 4,933 decimal digits
GAP = 4096  # bytes between two tokens of one group, at most
MAX_GROUP = 64  # tokens in one group (a longer run of tokens is cut into groups of this many)
MIN_RSA_BITS, MAX_RSA_BITS = 1000, 16384
MODEXPS = 64  # modular exponentiations (units of 2,048 bits) a view, plus one per 256 KiB
DERIVATIONS = 1024  # scalar multiplications a view, plus 8 per KiB (a key id beside each public key)
EXPONENTS = (65537, 3)
NEAR = 3  # tokens either side of a modulus (a point) tried as its private exponent (scalar)
MAX_CONVERGENTS = 40  # of e*d/n: past the 40th the denominator is far above any gcd(p-1, q-1)
TOKEN = re.compile(rb"(?<![0-9A-Za-z_])(?:[+-]?([0-9]{%d,%d})|(?:0[xX])?([0-9a-fA-F]{%d,%d}))(?![0-9A-Za-z_])"
                   % (MIN_DECIMAL, MAX_DIGITS, MIN_HEX, MAX_DIGITS))
_ANY_DIGITS = re.compile(rb"[0-9a-fA-F]{%d}" % MIN_DECIMAL)
_RUN = re.compile(rb"[0-9a-fA-F]*")
SAMPLE = MIN_DECIMAL // 4  # a run of MIN_DECIMAL digits holds three neighbouring samples
SMALL = 64 << 10  # a view this small is searched whole
_DIGIT = np.zeros(256, dtype=np.bool_)
_DIGIT[list(b"0123456789abcdefABCDEF")] = True
CURVE_LIST: list[ec.EllipticCurve] = [ec.SECP256R1(), ec.SECP256K1(), ec.SECP384R1(), ec.SECP521R1()]
ORDERS = {"secp256r1": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
          "secp256k1": 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141,
          "secp384r1": (1 << 384) - 0x389CB27E0BC8D220A7E5F24DB74F58851313E695333AD68D,
          "secp521r1": (1 << 521) - 0x5AE79787C40D069948033FEB708F65A2FC44A36477663B851449048E16EC79BF7}


class _Budget:
    """What a view may spend on proofs; the first refusal says in `cut` that the view was not read."""

    def __init__(self, size: int, cut: list[str] | None) -> None:
        self.modexps = MODEXPS + size // (256 << 10)
        self.derivations = DERIVATIONS + 8 * (size >> 10)
        self.cut, self.size, self.spent = cut, size, False
        # (n, e, d) -> (proven, key): a copy of a printout costs nothing more
        self.verdicts: dict[tuple[int, int, int], tuple[bool, Any]] = {}

    def take(self, modexp: int = 0) -> bool:
        if modexp:
            self.modexps -= modexp
        else:
            self.derivations -= 1
        if self.modexps >= 0 and self.derivations >= 0:
            return True
        if not self.spent and self.cut is not None:
            self.cut.append(f"printed numbers: proofs past their budget in {self.size} bytes")
        self.spent = True
        return False


def _decimal(digits: bytes) -> int:
    """The value of a decimal token, in pieces under the interpreter's limit on digits per int()."""
    value = 0
    for at in range(0, len(digits), 4000):
        piece = digits[at:at + 4000]
        value = value * 10 ** len(piece) + int(piece)
    return value


def _regions(text: bytes) -> Iterator[tuple[int, int]]:
    """Where tokens can be: a run of `MIN_DECIMAL` or more hex digits holds three neighbouring bytes of
    one in `SAMPLE` that are digits (numpy looks at those only; in random bytes three such are rare).
    The region runs from the last sampled byte before them that is no digit (the run starts after it)
    to the run's end."""
    if len(text) <= SMALL:
        yield 0, len(text)
        return
    digits = _DIGIT[np.frombuffer(text, dtype=np.uint8)[::SAMPLE]]
    triples = np.flatnonzero(digits[:-2] & digits[1:-1] & digits[2:])
    if not len(triples):
        return
    positions = np.arange(len(digits))
    before = np.maximum.accumulate(np.where(digits, -1, positions))  # the last sample at or before that is no digit
    low = high = -1
    for index in triples.tolist():
        if index * SAMPLE < high:
            continue  # in the run read to its end already (a long run holds many triples: each read once)
        start = max(0, int(before[index]) * SAMPLE - 2)
        if start > high:
            if high > low:
                yield low, high
            low = start
        run = _RUN.match(text, (index + 2) * SAMPLE)
        high = max(high, min(len(text), (run.end() if run is not None else index * SAMPLE) + 1))
    if high > low:
        yield low, high


def _groups(text: bytes) -> Iterator[list[tuple[int, int, int]]]:
    """(start, end, value) of the integer tokens, in groups of near ones (two or more a group)."""
    group: list[tuple[int, int, int]] = []
    matches = (match for low, high in _regions(text) for match in TOKEN.finditer(text, low, high))
    for match in matches:
        decimal = match.group(1)
        value = _decimal(decimal) if decimal is not None else int(match.group(2), 16)
        if group and (match.start() - group[-1][1] > GAP or len(group) == MAX_GROUP):
            if len(group) > 1:
                yield group
            group = []
        group.append((match.start(), match.end(), value))
    if len(group) > 1:
        yield group


def _could_be_d(n: int, e: int, d: int) -> bool:
    """Whether d can be n's private exponent for e, without an exponentiation: e*d = 1 + k*lambda(n),
    so e*d/n lies within about e * 2^(bits/2 + 2) / n of k'/g' (g' divides gcd(p-1, q-1)), which is
    then one of the convergents of e*d/n (Legendre); a random d has none that close."""
    bound = e << (n.bit_length() // 2 + 24)
    a, b = e * d, n
    h0, h1, k0, k1 = 0, 1, 1, 0
    for _ in range(MAX_CONVERGENTS):
        if b == 0:
            return False
        q, r = divmod(a, b)
        h0, h1, k0, k1 = h1, q * h1 + h0, k1, q * k1 + k0
        if abs(e * d * k1 - h1 * n) <= bound * k1:
            return True
        a, b = b, r
    return False


def _rsa(values: list[int], budget: _Budget) -> tuple[bool, Any]:
    """(proven, the key if it could be built) for the RSA key the group's numbers prove: a factor of
    a modulus anywhere in the group, or a private exponent within `NEAR` tokens of it."""
    for at, n in enumerate(values):
        if not (MIN_RSA_BITS <= n.bit_length() <= MAX_RSA_BITS and n & 1):
            continue
        half = n.bit_length() // 2
        for p in values:
            if abs(p.bit_length() - half) <= 8 and 1 < p < n and n % p == 0:
                if (n, 0, p) not in budget.verdicts:
                    budget.verdicts[(n, 0, p)] = (True, _from_factor(n, p))
                return budget.verdicts[(n, 0, p)]
        for d in values[max(0, at - NEAR):at + NEAR + 1]:
            if d >= n or d.bit_length() < n.bit_length() - 16:
                continue
            for e in EXPONENTS:
                if not _could_be_d(n, e, d):
                    continue
                if (n, e, d) not in budget.verdicts:
                    if not budget.take(max(1, round((n.bit_length() / 2048) ** 3))):
                        return False, None
                    proven = mod_pow(2, e * d, n) == 2
                    budget.verdicts[(n, e, d)] = (proven, _from_exponents(n, e, d) if proven else None)
                if budget.verdicts[(n, e, d)][0]:
                    return budget.verdicts[(n, e, d)]
    return False, None


def _from_factor(n: int, p: int) -> Any:
    q = n // p
    for e in EXPONENTS:
        lam = (p - 1) * (q - 1) // math.gcd(p - 1, q - 1)
        if math.gcd(e, lam) == 1:
            d = pow(e, -1, lam)
            return _key(p, q, d, e, n)
    return None


def _from_exponents(n: int, e: int, d: int) -> Any:
    try:
        p, q = rsa.rsa_recover_prime_factors(n, e, d)
    except ValueError:
        return None
    return _key(p, q, d, e, n)


def _key(p: int, q: int, d: int, e: int, n: int) -> Any:
    try:
        return rsa.RSAPrivateNumbers(p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q),
                                     rsa.rsa_crt_iqmp(p, q), rsa.RSAPublicNumbers(e, n)).private_key()
    except ValueError:
        return None  # proven all the same (a factor of n); the key object is a convenience


def _points(values: list[int]) -> tuple[set[int], set[int]]:
    """The x coordinates of the group's points (two neighbouring tokens (x, y) on a curve, or one token
    that is an encoded point: `04 || x || y`, `02|03 || x`), and the indexes of the tokens that hold them."""
    found: set[int] = set()
    places: set[int] = set()
    for curve in CURVE_LIST:
        size = (curve.key_size + 7) // 8
        for at, (x, y) in enumerate(zip(values, values[1:], strict=False)):
            if x.bit_length() <= curve.key_size and y.bit_length() <= curve.key_size and _on(curve, x, y):
                found.add(x)
                places.update((at, at + 1))
        for at, value in enumerate(values):
            if value >> (16 * size) == 4:
                x, y = divmod(value & ((1 << (16 * size)) - 1), 1 << (8 * size))
                if _on(curve, x, y):
                    found.add(x)
                    places.add(at)
            elif value >> (8 * size) in (2, 3):
                found.add(value & ((1 << (8 * size)) - 1))
                places.add(at)
    return found, places


def _on(curve: ec.EllipticCurve, x: int, y: int) -> bool:
    try:
        ec.EllipticCurvePublicNumbers(x, y, curve).public_key()
    except ValueError:
        return False
    return True


def _ec(values: list[int], budget: _Budget) -> Any:
    """The EC key the group's numbers prove (a scalar within `NEAR` tokens of a point of the group,
    itself no coordinate, whose point's x that is), or None. A list of public keys is all points: no
    token of it is tried as a scalar (rt23: 1,261 EC public keys were refused past the budget)."""
    points, places = _points(values)
    if not points:
        return None
    near = {at for place in places for at in range(place - NEAR, place + NEAR + 1)} - places
    for s in dict.fromkeys(values[at] for at in sorted(near) if 0 <= at < len(values)):  # a point's neighbours
        for curve in CURVE_LIST:
            order = ORDERS[curve.name]
            if not (order.bit_length() - 64 < s.bit_length() and s < order) or s in points:
                continue
            if not budget.take():
                return None
            key = ec.derive_private_key(s, curve)
            if key.public_key().public_numbers().x in points:
                return key
    return None


def printed_number_hits(text: bytes, cut: list[str] | None = None) -> Iterator[tuple[int, int, str, Any]]:
    """(start, end, kind, key) of each group of printed integers that proves a private key."""
    if len(text) <= SMALL and _ANY_DIGITS.search(text) is None:
        return
    budget = _Budget(len(text), cut)
    for group in _groups(text):
        if budget.spent:
            return
        values = [value for _, _, value in group]
        proven, key = _rsa(values, budget)
        if proven:
            yield group[0][0], group[-1][1], "printed-rsa-numbers", key
            continue
        key = _ec(values, budget) if not budget.spent else None
        if key is not None:
            yield group[0][0], group[-1][1], "printed-ec-numbers", key


__all__ = ["printed_number_hits"]
