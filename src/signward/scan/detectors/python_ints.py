"""Known keys' private values held as Python ints (issue #32, round 5, F9): the scanner's rule.

CPython keeps an int as 30-bit digits, least significant first, each in a little-endian 32-bit
word (top two bits zero), right after an 8-byte word that counts them: `ob_size` up to 3.11
(the digit count, its sign the int's), `lv_tag` from 3.12 (count << 3 | sign bits, 0 for a
positive int). A build configured with 15-bit digits (`PYLONG_BITS_IN_DIGIT == 15`,
`--enable-big-digits=15`; Include/cpython/longintrepr.h: `typedef unsigned short digit`,
`PyLong_SHIFT 15`) keeps the same count word and 15-bit digits, each in a little-endian 16-bit
word (top bit zero): both layouts are read (`LAYOUTS`). Every Python process that called
`private_numbers()` (cryptography, joserfc's JWK export, PyJWT, python-jose) holds p, q, d, dp,
dq, qi and EC scalars so, in none of the byte layouts the known-key search reads.

The anchor is that count word, for the digit counts a known key's values have (a prime or a CRT
value of an RSA key, its private exponent, an EC scalar; each count and the one below it), found
with `bytes.find`; the digits behind it must all fit the digit's bits, the top one be nonzero and
the others at least 2**8 (an array of small numbers is no key: a random 30-bit digit is below that
with odds 2**-22). A random 15-bit digit is below 2**8 with odds 2**-7, so there at most one digit
in 8 may be (a 1024-bit prime's 69 digits hold more than 8 such with odds below 2**-40).
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
from ..modexp import mod_pow

DIGIT_BITS = 30
DIGIT_MAX = 1 << DIGIT_BITS
MIN_LOW_DIGIT = 1 << 8
MAX_CANDIDATES = 5_000
PROBE = 0x1D2C3B4A5968
LAYOUTS = (30, 15)  # digit bits: the default build's, and `PYLONG_BITS_IN_DIGIT == 15`'s (uint16 digits)
WORD = {30: ("I", 4), 15: ("H", 2)}  # each digit's struct code and size in bytes


def digit_counts(bits: int, digit_bits: int = DIGIT_BITS) -> tuple[int, ...]:
    """The digit counts of a value of about `bits` bits: the count of a full-size one and one less."""
    full = -(-bits // digit_bits)
    return (full, full - 1)


def count_words(count: int) -> tuple[bytes, bytes]:
    """The word before the digits: 3.11's ob_size, 3.12's lv_tag of a positive int."""
    return struct.pack("<q", count), struct.pack("<Q", count << 3)


def digits_value(data: bytes, start: int, count: int, digit_bits: int = DIGIT_BITS) -> int | None:
    """The int whose `count` digits of `digit_bits` start at `start`, or None when they are no
    Python int's digits of a random value (a digit over its bits, a zero top digit, low digits
    below 2**8: any for 30-bit digits, more than one in 8 for 15-bit ones)."""
    code, size = WORD[digit_bits]
    if start + size * count > len(data):
        return None
    words = struct.unpack_from(f"<{count}{code}", data, start)
    if words[-1] == 0 or max(words) >= DIGIT_MAX >> (DIGIT_BITS - digit_bits):
        return None
    small = sum(1 for word in words[:-1] if word < MIN_LOW_DIGIT)
    if small > (0 if digit_bits == DIGIT_BITS else count // 8):
        return None
    value = 0
    for word in reversed(words):
        value = (value << digit_bits) | word
    return value


def digits_bytes(value: int, digit_bits: int = DIGIT_BITS) -> bytes:
    """The digits of `value` as CPython stores them (no count word)."""
    code, _ = WORD[digit_bits]
    words = []
    while value:
        words.append(value & ((1 << digit_bits) - 1))
        value >>= digit_bits
    return struct.pack(f"<{len(words)}{code}", *words)


def anchors(data: bytes, counts: set[int]) -> Iterator[tuple[int, int]]:
    """(digits start, count) for each count word of one of `counts` in `data`."""
    for count in sorted(counts):
        for word in count_words(count):
            at = data.find(word)
            while at >= 0:
                yield at + 8, count
                at = data.find(word, at + 1)


def _wanted(chunk: Chunk, digit_bits: int) -> dict[int, list[tuple[str, KnownKey]]]:
    """Digit count -> the known keys a value with that many `digit_bits` digits may belong to."""
    wanted: dict[int, list[tuple[str, KnownKey]]] = {}
    for key in chunk.known.of_kind("rsa"):
        bits = key.rsa_n.bit_length()
        for count in digit_counts((bits + 1) // 2, digit_bits) + digit_counts(bits, digit_bits):
            wanted.setdefault(count, []).append(("rsa", key))
    for key in chunk.known.of_kind("ec"):
        for count in digit_counts(key.ec_curve.key_size, digit_bits):
            wanted.setdefault(count, []).append(("ec", key))
    return wanted


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
        if could_be_private_exponent(value, n, e, e << (half + 2)) and mod_pow(pow(PROBE, e, n), value, n) == PROBE:
            return "rsa-private-exponent"
        return None
    factor = math.gcd(mod_pow(pow(PROBE, e, n), value, n) - PROBE, n)  # m^(e*dp) = m mod p
    return "rsa-crt-exponent" if 1 < factor < n else None


def scan_python_ints(chunk: Chunk, detector: str, cut: set[str]) -> Iterator[Finding]:
    """Known keys' private values in a chunk as Python ints, 30-bit and 15-bit digits (see the
    module docstring)."""
    from .known_key import rsa_private_values

    data = chunk.data
    tried = 0
    for digit_bits in LAYOUTS:
        wanted = _wanted(chunk, digit_bits)
        encoding = "pylong" if digit_bits == DIGIT_BITS else f"pylong{digit_bits}"
        for start, count in anchors(data, set(wanted)):
            if not chunk.owns(start):
                continue
            value = digits_value(data, start, count, digit_bits)
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
                values = [(value, role)]
                if kind == "rsa":
                    prime = value if role == "rsa-prime" else _factor(value, role, key)
                    if prime is not None:
                        values += list(rsa_private_values(key.rsa_n, key.rsa_e, prime))
                for proven, proven_kind in values:
                    chunk.learned.add_integer(proven, proven_kind, key.kid, detector)
                    for bits in LAYOUTS[1:]:  # add_integer learns the 30-bit digits; the others here
                        chunk.learned.add_bytes(digits_bytes(proven, bits), proven_kind, f"pylong{bits}", key.kid,
                                                detector)
                yield chunk.finding(start, WORD[digit_bits][1] * count, detector, role, encoding, kid=key.kid,
                                    verified=True)
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
