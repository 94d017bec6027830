"""The reader's self-proving rule over keys printed as integers, with no known key (issue #32, F6).

Its own code (standard library and `cryptography`; nothing from the scanner). Programs print keys
as bare integers: Go's `%v`/`%+v` of an `*rsa.PrivateKey` or `*ecdsa.PrivateKey` (decimal, `+`
signs), Java's `RSAPrivateCrtKey.toString()` (decimal modulus and private exponent), Python's
`repr(private_numbers())`, configs of `n:`/`d:`/`p:` or `d:`/`x:`/`y:` (hex or decimal). Such a
printout proves itself, whatever key it is:

- tokens: decimal runs of `MIN_DIGITS` or more digits (an optional `+`/`-`), hex runs of as many
  digits with an optional `0x` (a run with a letter a-f, or behind `0x`, is hex; all digits:
  decimal), each with its raw span; runs longer than `MAX_DIGITS` are no number here;
- groups: tokens at most `GAP` bytes apart; a group is read in windows of `WINDOW` tokens that
  overlap by half (a printout of at most WINDOW/2 numbers lies whole in one);
- RSA: a token N of 1,024-16,384 bits, odd, and another x with N % x == 0 (both x and N/x of 128
  bits or more: a factor, the key); else x with 2^(e*x) == 2 (mod N, or mod a factor of N that
  gcd finds, of 128 bits or more and its cofactor too) for e = 65537, an `e`/`E`/`exponent` printed
  in the group, else 3 (d, dp, dq: the key). Divisions first; then the modular exponentiations
  (one per pair, the e's after it are cheap) for an N with no prime factor below `SMALL_PRIMES`
  (one random odd number in 7 passes: a hex signature is no modulus) and an x of N's half to
  N's size at most `REACH` tokens away, the nearest first;
- EC (P-256, secp256k1, P-384, P-521): two tokens X, Y with Y^2 == X^3 + aX + b (mod p) are a
  public point (a dictionary of squares: linear, no derivation), so is a hex token that spells a
  SEC1 point (04 X Y, or 02/03 X); a third token s below the curve's order whose s*G has that x
  (cryptography's `derive_private_key`) is the key.

The finding (`printed-rsa-numbers`, `printed-ec-numbers`) spans the whole group, first token to
last, so that sanitize redacts every sibling (d, p, q, dp, dq, qi). Bounds: modular
exponentiations per group (`GROUP_UNITS`) and per recheck (`Budget.max_modexps`, shared with
recheck_keytext), derivations per group (`GROUP_DERIVATIONS`) and per recheck
(`Budget.max_derivations`); past any of them the view is incomplete (refused), never passed.
"""

from __future__ import annotations

import math
import mmap
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric import ec

from . import recheck_zeros as zeros

if TYPE_CHECKING:
    from .recheck import _Reader

MIN_DIGITS = 60
MAX_DIGITS = 4_940  # a 16,384-bit number has 4,933 decimal digits, 4,096 hex ones
GAP = 4096  # bytes between one token's end and the next token's start in one group, at most
WINDOW = 32  # tokens read together; windows overlap by half
MIN_RSA_BITS, MAX_RSA_BITS = 1024, 16_384
MIN_FACTOR_BITS = 128  # a factor (and its cofactor) at least this long: no chance multiple
MODEXP_BITS = 2048  # a modular exponentiation up to this size is one unit (about 20 ms)
GROUP_UNITS = 16  # units of modular exponentiation a group, at most
GROUP_DERIVATIONS = 16  # EC derivations a group, at most
LABEL_REACH = 64  # bytes before the first token and after the last searched for a printed e
MAX_EXPONENTS = 2  # printed public exponents a group tried (past 65537)
REACH = 8  # a private exponent is tried with moduli at most this many tokens away (a printout's numbers)
SMALL_PRIMES = 4096  # a modulus has no prime factor below this (a random odd number: 1 in 7 passes)
_SMALL = math.prod(q for q in range(3, SMALL_PRIMES, 2) if all(q % r for r in range(3, math.isqrt(q) + 1, 2)))
_TOKEN = re.compile(rb"(?<![0-9A-Za-z_])[+-]?(0[xX])?([0-9a-fA-F]{%d,%d}+)(?![0-9A-Za-z_])" % (MIN_DIGITS, MAX_DIGITS))
_HEX_LETTER = re.compile(rb"[a-fA-F]")
_EXPONENT = re.compile(rb"(?<![A-Za-z])(?:[eE]|[Ee]xponent|publicExponent)[ \t]*[:=][ \t]*\+?"
                       rb"(0[xX][0-9a-fA-F]{1,8}|[0-9]{1,10})(?![0-9A-Za-z])")


@dataclass(frozen=True)
class _Curve:
    """A short Weierstrass curve y^2 = x^3 + ax + b over p, of order n."""

    name: str
    p: int
    a: int
    b: int
    n: int
    curve: ec.EllipticCurve

    @property
    def size(self) -> int:
        return (self.p.bit_length() + 7) // 8


_CURVES = (
    _Curve("secp256r1", 2**256 - 2**224 + 2**192 + 2**96 - 1, -3,
           0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B,
           0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551, ec.SECP256R1()),
    _Curve("secp256k1", 2**256 - 2**32 - 977, 0, 7,
           0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141, ec.SECP256K1()),
    _Curve("secp384r1", 2**384 - 2**128 - 2**96 + 2**32 - 1, -3,
           0xB3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875AC656398D8A2ED19D2A85C8EDD3EC2AEF,
           0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973,
           ec.SECP384R1()),
    _Curve("secp521r1", 2**521 - 1, -3,
           0x0051953EB9618E1C9A1F929A21A0B68540EEA2DA725B99B315F3B8B489918EF109E156193951EC7E937B1652C0BD3BB1BF073573DF883D2C34F1EF451FD46B503F00,
           0x01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409,
           ec.SECP521R1()),
)


@dataclass(frozen=True)
class _Token:
    start: int
    end: int
    value: int
    hex_digits: str  # the digits as printed when the token is hex ("" for decimal)


@dataclass
class _Group:
    """One group's state: its tokens, the exponents printed in it, the work spent on it."""

    tokens: list[_Token]
    exponents: list[int]
    units: int = 0
    derivations: int = 0
    refused: str = ""  # why the group was not read to its end


def _decimal(digits: bytes) -> int:
    """int() of a decimal run of any length up to MAX_DIGITS (int() alone refuses over 4,300 digits)."""
    if len(digits) <= 4000:
        return int(digits)
    return int(digits[:-4000]) * 10**4000 + int(digits[-4000:])


def _tokens(data: bytes | mmap.mmap) -> list[_Token]:
    found = []
    for match in zeros.finditer(_TOKEN, data):
        digits = match.group(2)
        if match.group(1) or _HEX_LETTER.search(digits):
            if len(digits) > MAX_RSA_BITS // 4 + 2:
                continue
            found.append(_Token(match.start(), match.end(), int(digits, 16), digits.decode().lower()))
        else:
            found.append(_Token(match.start(), match.end(), _decimal(digits), ""))
    return found


def _groups(tokens: list[_Token]) -> list[list[_Token]]:
    groups: list[list[_Token]] = []
    for token in tokens:
        if groups and token.start - groups[-1][-1].end <= GAP:
            groups[-1].append(token)
        else:
            groups.append([token])
    return [group for group in groups if len(group) >= 2]


def _windows(tokens: list[_Token]) -> list[list[_Token]]:
    if len(tokens) <= WINDOW:
        return [tokens]
    step = WINDOW // 2
    return [tokens[i:i + WINDOW] for i in range(0, len(tokens) - step, step)]


def _exponents(data: bytes | mmap.mmap, group: list[_Token]) -> list[int]:
    """65537, then odd public exponents printed as `e=`, `E:`, `exponent:` around the group, else 3."""
    text = bytes(data[max(0, group[0].start - LABEL_REACH):group[-1].end + LABEL_REACH])
    printed: list[int] = []
    for match in _EXPONENT.finditer(text):
        raw = match.group(1)
        value = int(raw, 16) if raw[:2] in (b"0x", b"0X") else int(raw)
        if value >= 3 and value % 2 and value != 65537 and value not in printed:
            printed.append(value)
        if len(printed) >= MAX_EXPONENTS:
            break
    return [65537, *printed] if printed else [65537, 3]


def self_proving_numbers(reader: _Reader, data: bytes | mmap.mmap, name: str) -> None:
    """Keys printed as integers that prove themselves, in one view (module docstring)."""
    groups = _groups(_tokens(data))
    for tokens in groups:
        group = _Group(tokens, _exponents(data, tokens))
        span = (tokens[0].start, tokens[-1].end)
        for window in _windows(tokens):
            what = _rsa(reader, group, window) or _ec(reader, group, window)
            if what is not None:
                reader.found(what[0], name, what[1], span)
                break
        if group.refused:
            reader.incomplete(f"{name}: printed integers at {span[0]}: {group.refused}")


def _distinct(window: list[_Token]) -> list[_Token]:
    seen: dict[int, _Token] = {}
    for token in window:
        seen.setdefault(token.value, token)
    return list(seen.values())


def _rsa(reader: _Reader, group: _Group, window: list[_Token]) -> tuple[str, str] | None:
    """A factor of a printed modulus; else d, dp or dq that inverts e (module docstring)."""
    tokens = _distinct(window)
    moduli = {t.value for t in tokens if MIN_RSA_BITS <= t.value.bit_length() <= MAX_RSA_BITS and t.value % 2}
    for n in moduli:
        for token in tokens:
            x = token.value
            if 1 < x < n and n % x == 0 and min(x, n // x).bit_length() > MIN_FACTOR_BITS:
                return "printed-rsa-numbers", f"RSA-{n.bit_length()} key printed as integers (a factor of the modulus)"
    for at, token in enumerate(tokens):  # each modulus with the nearest numbers first (its d follows it)
        n, nbits = token.value, token.value.bit_length()
        if n not in moduli or math.gcd(n, _SMALL) != 1:
            continue  # (a number with a small factor is no modulus: a hex signature, a random value)
        for other in _nearest(tokens, at)[:2 * REACH]:
            x = other.value
            if not (nbits // 2 - 24 <= x.bit_length() and x < n and x % 2):
                continue
            if not _spend(reader, group, max(1, -(-nbits // MODEXP_BITS)) ** 3):
                return None
            if _inverts(x, n, group.exponents):
                return "printed-rsa-numbers", f"RSA-{nbits} key printed as integers (a private exponent)"
    return None


def _nearest(tokens: list[_Token], at: int) -> list[_Token]:
    """The window's other tokens, nearest to tokens[at] first."""
    order = sorted(range(len(tokens)), key=lambda i: (abs(i - at), i))
    return [tokens[i] for i in order if i != at]


def _spend(reader: _Reader, group: _Group, units: int) -> bool:
    """Units of modular exponentiation taken from the group's bound and the recheck's; False past either."""
    budget = reader.budget
    if group.units + units > GROUP_UNITS:
        group.refused = f"more than {GROUP_UNITS} units of modular exponentiation in one group"
        return False
    if budget.modexps + units > budget.max_modexps:
        group.refused = f"more than {budget.max_modexps} units of modular exponentiation (printed RSA keys)"
        return False
    group.units += units
    budget.modexps += units
    return True


def _inverts(x: int, n: int, exponents: list[int]) -> bool:
    """2^(e*x) == 2 mod n (x is d), or mod a large factor of n that gcd finds (x is dp or dq)."""
    base = pow(2, x, n)
    for e in exponents:
        residue = pow(base, e, n)
        if residue == 2:
            return True
        factor = math.gcd(residue - 2, n)
        if 1 < factor < n and min(factor, n // factor).bit_length() > MIN_FACTOR_BITS:
            return True
    return False


def _points(tokens: list[_Token]) -> list[tuple[_Curve, int, set[int]]]:
    """(curve, x, the tokens' values that spell the point) of each public point printed in the
    window: two tokens X, Y on a curve (by a dictionary of squares), or one SEC1 hex token."""
    points: list[tuple[_Curve, int, set[int]]] = []
    for curve in _CURVES:
        p = curve.p
        fits = [t.value for t in tokens if 1 < t.value < p and t.value.bit_length() > MIN_FACTOR_BITS]
        if len(fits) >= 2:
            squares = {y * y % p: y for y in fits}
            for x in fits:
                y = squares.get((x * x * x + curve.a * x + curve.b) % p)
                if y is not None and y != x:
                    points.append((curve, x, {x, y}))
        size = 2 * curve.size
        for token in tokens:
            digits = token.hex_digits
            if len(digits) == 2 + 2 * size and digits[:2] == "04":
                x, y = int(digits[2:2 + size], 16), int(digits[2 + size:], 16)
                if (y * y - x * x * x - curve.a * x - curve.b) % p == 0:
                    points.append((curve, x, {token.value}))
            elif len(digits) == 2 + size and digits[:2] in ("02", "03"):
                points.append((curve, int(digits[2:], 16), {token.value}))
    return points


def _ec(reader: _Reader, group: _Group, window: list[_Token]) -> tuple[str, str] | None:
    """A scalar whose public point's x is a point printed beside it (module docstring)."""
    tokens = _distinct(window)
    points = _points(tokens)
    budget = reader.budget
    derived: dict[tuple[str, int], int | None] = {}
    for curve, x, spelled in points:
        at = next(i for i, t in enumerate(tokens) if t.value in spelled)
        for token in _nearest(tokens, at):
            s = token.value
            if s in spelled or not (s.bit_length() > MIN_FACTOR_BITS and s < curve.n):
                continue
            if (curve.name, s) not in derived:
                if group.derivations >= GROUP_DERIVATIONS or budget.derivations >= budget.max_derivations:
                    group.refused = (f"more than {GROUP_DERIVATIONS} EC derivations in one group, or "
                                     f"{budget.max_derivations} in the recheck (printed EC keys)")
                    return None
                group.derivations += 1
                budget.derivations += 1
                derived[curve.name, s] = ec.derive_private_key(s, curve.curve).public_key().public_numbers().x
            if derived[curve.name, s] == x:
                return "printed-ec-numbers", f"{curve.name} key printed as integers (the scalar derives the point)"
    return None


__all__ = ["self_proving_numbers"]
