"""Known keys' private values held as Python ints (issue #32, round 5, F9): the scanner's rule.

CPython keeps an int as 30-bit digits, least significant first, each in a little-endian 32-bit
word (top two bits zero), right after an 8-byte word that counts them: `ob_size` up to 3.11
(the digit count, its sign the int's), `lv_tag` from 3.12 (count << 3 | sign bits, 0 for a
positive int). Every Python process that called `private_numbers()` (cryptography, joserfc's JWK
export, PyJWT, python-jose) holds p, q, d, dp, dq, qi and EC scalars so, in none of the byte
layouts the known-key search reads.

The anchor is that count word, for the digit counts a known key's values have (a prime or a CRT
value of an RSA key, its private exponent, an EC scalar; each count and the one below it), found
with `bytes.find`; the digits behind it must all fit 30 bits, the top one be nonzero and the others
at least 2**8 (an array of small numbers is no key: a random digit is below that with odds 2**-22).
Each candidate is then proven: it divides the modulus (a prime), is a private or CRT exponent
(`could_be_private_exponent`, then one exponentiation), or generates a known EC public point. A
proven value gives every private value of its key, learned in every layout (this one too, see
`Chunk.Learned.add_integer`). Bounded: `MAX_CANDIDATES` proofs per chunk (more: incomplete).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator

from cryptography.hazmat.primitives.asymmetric import ec

from ..chunks import Chunk
from ..findings import Finding
from ..knownkeys import KnownKey

DIGIT_BITS = 30
DIGIT_MAX = 1 << DIGIT_BITS
MIN_LOW_DIGIT = 1 << 8
MAX_CANDIDATES = 5_000
PROBE = 0x1D2C3B4A5968


def digit_counts(bits: int) -> tuple[int, ...]:
    """The digit counts of a value of about `bits` bits: the count of a full-size one and one less."""
    full = -(-bits // DIGIT_BITS)
    return (full, full - 1)


def count_words(count: int) -> tuple[bytes, bytes]:
    """The word before the digits: 3.11's ob_size, 3.12's lv_tag of a positive int."""
    return struct.pack("<q", count), struct.pack("<Q", count << 3)


def digits_value(data: bytes, start: int, count: int) -> int | None:
    """The int whose `count` digits start at `start`, or None when they are no Python int's digits
    of a random value (a digit over 30 bits, a zero top digit, a low digit below 2**8)."""
    if start + 4 * count > len(data):
        return None
    words = struct.unpack_from(f"<{count}I", data, start)
    if words[-1] == 0 or max(words) >= DIGIT_MAX or min(words[:-1]) < MIN_LOW_DIGIT:
        return None
    value = 0
    for word in reversed(words):
        value = (value << DIGIT_BITS) | word
    return value


def digits_bytes(value: int) -> bytes:
    """The digits of `value` as CPython stores them (no count word)."""
    words = []
    while value:
        words.append(value & (DIGIT_MAX - 1))
        value >>= DIGIT_BITS
    return struct.pack(f"<{len(words)}I", *words)


def anchors(data: bytes, counts: set[int]) -> Iterator[tuple[int, int]]:
    """(digits start, count) for each count word of one of `counts` in `data`."""
    for count in sorted(counts):
        for word in count_words(count):
            at = data.find(word)
            while at >= 0:
                yield at + 8, count
                at = data.find(word, at + 1)


def rsa_role(value: int, key: KnownKey) -> str | None:
    """'rsa-prime', 'rsa-private-exponent' or 'rsa-crt-exponent' when `value` is one of `key`'s."""
    n, e = key.rsa_n, key.rsa_e
    if not 1 < value < n:
        return None
    if n % value == 0:
        return "rsa-prime"
    from .known_key import could_be_private_exponent

    half = n.bit_length() // 2
    if value.bit_length() > half + 16:
        if could_be_private_exponent(value, n, e, e << (half + 2)) and pow(pow(PROBE, e, n), value, n) == PROBE:
            return "rsa-private-exponent"
        return None
    factor = math.gcd(pow(pow(PROBE, e, n), value, n) - PROBE, n)  # m^(e*dp) = m mod p
    return "rsa-crt-exponent" if 1 < factor < n else None


def scan_python_ints(chunk: Chunk, detector: str, cut: set[str]) -> Iterator[Finding]:
    """Known keys' private values in a chunk as Python ints (see the module docstring)."""
    from .known_key import rsa_private_values

    rsa_keys = chunk.known.of_kind("rsa")
    ec_keys = chunk.known.of_kind("ec")
    wanted: dict[int, list[tuple[str, KnownKey]]] = {}
    for key in rsa_keys:
        bits = key.rsa_n.bit_length()
        for count in digit_counts((bits + 1) // 2) + digit_counts(bits):
            wanted.setdefault(count, []).append(("rsa", key))
    for key in ec_keys:
        for count in digit_counts(key.ec_curve.key_size):
            wanted.setdefault(count, []).append(("ec", key))
    if not wanted:
        return
    data = chunk.data
    tried = 0
    for start, count in anchors(data, set(wanted)):
        if not chunk.owns(start):
            continue
        value = digits_value(data, start, count)
        if value is None:
            continue
        tried += 1
        if tried > MAX_CANDIDATES:
            cut.add(f"{detector}:python-ints")
            return
        for kind, key in wanted[count]:
            role = rsa_role(value, key) if kind == "rsa" else _ec_role(value, key)
            if role is None:
                continue
            if kind == "rsa":
                prime = value if role == "rsa-prime" else _factor(value, role, key)
                if prime is not None:
                    for sibling, sibling_kind in rsa_private_values(key.rsa_n, key.rsa_e, prime):
                        chunk.learned.add_integer(sibling, sibling_kind, key.kid, detector)
            chunk.learned.add_integer(value, role, key.kid, detector)
            yield chunk.finding(start, 4 * count, detector, role, "pylong", kid=key.kid, verified=True)
            break


def _ec_role(value: int, key: KnownKey) -> str | None:
    try:
        numbers = ec.derive_private_key(value, key.ec_curve).public_key().public_numbers()
    except ValueError:
        return None
    return "ec-private-scalar" if (numbers.x, numbers.y) == key.ec_point else None


def _factor(value: int, role: str, key: KnownKey) -> int | None:
    """A prime of `key` from its private exponent or a CRT exponent."""
    n, e = key.rsa_n, key.rsa_e
    if role == "rsa-crt-exponent":
        factor = math.gcd(pow(pow(PROBE, e, n), value, n) - PROBE, n)
        return factor if 1 < factor < n else None
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        p, _ = rsa.rsa_recover_prime_factors(n, e, value)
    except ValueError:
        return None
    return p


__all__ = ["count_words", "digits_bytes", "digits_value", "scan_python_ints"]
