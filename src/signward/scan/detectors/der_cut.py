"""DER private keys cut short (issue #32): the log line, dump or copy ends after the secret.

A PKCS#8 EC key (version 0 or 1, ecPublicKey with its curve's OID, then the OCTET STRING holding
SEC1's version 1, OCTET STRING and scalar), a SEC1 key (version 1, the OCTET STRING and the
scalar), a PKCS#8 Ed25519/X25519 key (version 0 or 1, the OID `2b 65 70|6e`, `04 .. 04 20` and
the 32-byte seed), or a PKCS#1 / PKCS#8 RSA key read through d (n, e and d: the primes follow
from them) is a key even when what follows is missing or is not the rest of the structure. Each
field is read by its own header up to the secret, which must be there in full; the rest may run
past the end of the data. Headers as BER writes them are read too (rt19): lengths short or long
(81-84, leading zeros, non-minimal), the outer SEQUENCE's indefinite `30 80`, a version INTEGER
of up to 4 bytes with leading zeros, a 33-byte scalar with a leading 00 for a 32-byte curve. The
scalar must lie in [1, n-1] for its curve (SEC1 names no curve: one of the curves of its size);
any 32 bytes are an Ed25519 seed (the structure is the finding). RSA's n must factor from e and d
(a^(ed) = a mod n first, one exponentiation, then `rsa_recover_prime_factors`). PKCS#1 version 1
(a multi-prime key, otherPrimeInfos after the CRT values) is read through d too: n, e and d are
the key whatever the primes (`rsa_recover_prime_factors` then splits n in two, one part composite).

The finding spans the header to the declared end or to the end of the data, whichever comes
first, and at least to the secret's end (an outer length shorter than the secret is a key cut
short too). The DER detector asks this module about an anchor only when the whole structure is
not a key; `der_cut_pass.py` brings the heads its anchor does not match. RSA checks are bounded
by modulus work, not by count (rt19: 30 fake 8192-bit triples cost 211 CPU s): one check costs
(bits of n / 2048)^2 x (bits of e + bits of d) / 4096 units, a chunk has `MAX_RSA_WORK` units
(`chunk_budget`, shared by every view of the chunk); a triple past the budget is not checked and
the chunk is incomplete (sanitize refuses it), never certified.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, x25519

from .tlv import Head, read_head

EC_PUBLIC_KEY = bytes.fromhex("2a8648ce3d0201")
RSA_ENCRYPTION = bytes.fromhex("2a864886f70d010101")
ED25519, X25519 = bytes.fromhex("2b6570"), bytes.fromhex("2b656e")
CURVES: dict[bytes, ec.EllipticCurve] = {
    bytes.fromhex("2a8648ce3d030107"): ec.SECP256R1(), bytes.fromhex("2b81040022"): ec.SECP384R1(),
    bytes.fromhex("2b81040023"): ec.SECP521R1(), bytes.fromhex("2b8104000a"): ec.SECP256K1()}
ORDERS = {
    "secp256r1": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "secp384r1": int("ff" * 24 + "c7634d81f4372ddf581a0db248b0a77aecec196accc52973", 16),
    "secp521r1": int("01ff" + "ff" * 31 + "fa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409", 16),
    "secp256k1": 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141}
SEC1_CURVES: list[ec.EllipticCurve] = [ec.SECP256R1(), ec.SECP256K1(), ec.SECP384R1(), ec.SECP521R1()]
SCALAR_SIZES = {"secp256r1": 32, "secp384r1": 48, "secp521r1": 66, "secp256k1": 32}
MIN_RSA_BITS, MAX_RSA_BITS = 512, 8192
MAX_LENGTH_BYTES, MAX_VERSION_BYTES = 8, 4  # BER's long form of 5-8 octets too (leading zeros; rt19 forms)
MAX_RSA_WORK = 48.0  # units per chunk; a unit: one check of a 2048-bit n with e and d of 4096 bits together
MAX_VERDICTS = 1024  # triples remembered per chunk (the same key in several views is checked once)


def rsa_work(n_bits: int, exponent_bits: int) -> float:
    """The cost of one check, pow(2, e*d, n), in units (a modular exponentiation's cost grows as
    the square of the modulus's size times the exponent's)."""
    return (n_bits / 2048) ** 2 * exponent_bits / 4096


@dataclass
class RsaBudget:
    """One chunk's modulus work left, the triples it could not check, and the verdicts made."""

    left: float = MAX_RSA_WORK
    unchecked: int = 0
    verdicts: dict[bytes, bool] = field(default_factory=dict)

    def incomplete(self) -> list[str]:
        if not self.unchecked:
            return []
        return [f"der: {self.unchecked} RSA n, e, d triple(s) of a key cut short not checked "
                f"(past the chunk's modulus work budget of {MAX_RSA_WORK:g} units)"]


_CHUNK_BUDGET: ContextVar[RsaBudget | None] = ContextVar("signward_rsa_cut_budget", default=None)


@contextmanager
def chunk_budget() -> Iterator[RsaBudget]:
    """The RSA work budget every `CutChecks` made inside shares (one chunk and all its views)."""
    budget = RsaBudget()
    token = _CHUNK_BUDGET.set(budget)
    try:
        yield budget
    finally:
        _CHUNK_BUDGET.reset(token)


def _current_budget() -> RsaBudget:
    budget = _CHUNK_BUDGET.get()
    return budget if budget is not None else RsaBudget()


@dataclass
class CutChecks:
    """The RSA work budget a scan draws on (the chunk's, inside `chunk_budget`)."""

    budget: RsaBudget = field(default_factory=_current_budget)


def _header(data: bytes, at: int) -> Head | None:
    """The head at `at` (a long form of up to MAX_LENGTH_BYTES octets, or indefinite): its content may
    run past the end."""
    return read_head(data, at, octets=MAX_LENGTH_BYTES, indefinite=True)


def _field(data: bytes, at: int, tag: int) -> tuple[int, int] | None:
    """(content start, end) of a `tag` value at `at` whose content is all there."""
    head = _header(data, at)
    if head is None or head[0] != tag or head[2] is None or head[1] + head[2] > len(data):
        return None
    return head[1], head[1] + head[2]


def _version(data: bytes, at: int) -> tuple[int, int] | None:
    """A small INTEGER at `at` (BER: leading zeros, a long-form length): (value, end)."""
    value = _field(data, at, 0x02)
    if value is None or not 1 <= value[1] - value[0] <= MAX_VERSION_BYTES:
        return None
    return int.from_bytes(data[value[0]:value[1]], "big"), value[1]


def _ec_scalar(data: bytes, at: int, curves: list[ec.EllipticCurve]) -> tuple[Any, int] | None:
    """SEC1's version 1, `04 LL scalar` at `at`: the key and where the scalar ends, or None."""
    version = _version(data, at)
    if version is None or version[0] != 1:
        return None
    octets = _field(data, version[1], 0x04)
    if octets is None:
        return None
    raw = data[octets[0]:octets[1]]
    scalar = int.from_bytes(raw, "big")
    for curve in curves:
        size = SCALAR_SIZES[curve.name]
        if (len(raw) == size or (len(raw) == size + 1 and raw[0] == 0)) and 1 <= scalar < ORDERS[curve.name]:
            return ec.derive_private_key(scalar, curve), octets[1]
    return None


def _checked(n: int, e: int, d: int, checks: CutChecks) -> bool:
    """Whether a^(ed) = a mod n for a = 2, within the chunk's work budget (past it: not checked,
    counted as unchecked: the chunk is incomplete)."""
    budget = checks.budget
    digest = hashlib.sha256(b"%x,%x,%x" % (n, e, d)).digest()
    if digest in budget.verdicts:
        return budget.verdicts[digest]
    cost = rsa_work(n.bit_length(), e.bit_length() + d.bit_length())
    if cost > budget.left:
        budget.unchecked += 1
        return False
    budget.left -= cost
    verdict = pow(2, e * d, n) == 2
    if len(budget.verdicts) < MAX_VERDICTS:
        budget.verdicts[digest] = verdict
    return verdict


def _rsa_key(data: bytes, at: int, checks: CutChecks) -> tuple[Any, int] | None:
    """PKCS#1's version 0, n, e, d at `at` (the rest may be missing): the whole key when n factors
    from e and d, and where d ends."""
    version = _version(data, at)
    if version is None or version[0] not in (0, 1):  # 1: a multi-prime key (multiprime.py) cut after d
        return None
    values, position = [], version[1]
    for _ in range(3):
        field_at = _field(data, position, 0x02)
        if field_at is None:
            return None
        values.append(int.from_bytes(data[field_at[0]:field_at[1]], "big", signed=True))
        position = field_at[1]
    n, e, d = values
    if not MIN_RSA_BITS <= n.bit_length() <= MAX_RSA_BITS or not 1 < e < n or not 1 < d < n or e % 2 == 0:
        return None
    if not _checked(n, e, d, checks):
        return None
    try:
        p, q = rsa.rsa_recover_prime_factors(n, e, d)
    except ValueError:
        return None
    numbers = rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), rsa.rsa_crt_iqmp(p, q),
                                    rsa.RSAPublicNumbers(e, n))
    return numbers.private_key(unsafe_skip_rsa_key_validation=True), position


def _curve25519(data: bytes, at: int, oid: bytes) -> tuple[Any, int] | None:
    """PKCS#8's OCTET STRING at `at` holding `04 20 <seed>`: the key and where the seed ends."""
    outer = _header(data, at)
    if outer is None or outer[0] != 0x04:
        return None
    seed = _field(data, outer[1], 0x04)
    if seed is None or seed[1] - seed[0] != 32:
        return None
    secret = bytes(data[seed[0]:seed[1]])
    if oid == ED25519:
        return ed25519.Ed25519PrivateKey.from_private_bytes(secret), seed[1]
    return x25519.X25519PrivateKey.from_private_bytes(secret), seed[1]


def _pkcs8(data: bytes, at: int, checks: CutChecks) -> tuple[tuple[Any, int] | None, str]:
    """PKCS#8's AlgorithmIdentifier at `at`, then the OCTET STRING and its key: (found, kind)."""
    algorithm = _field(data, at, 0x30)
    oid = _field(data, algorithm[0], 0x06) if algorithm is not None else None
    if algorithm is None or oid is None:
        return None, ""
    name = bytes(data[oid[0]:oid[1]])
    if name in (ED25519, X25519) and oid[1] == algorithm[1]:
        return _curve25519(data, algorithm[1], name), "pkcs8-ed25519" if name == ED25519 else "pkcs8-x25519"
    inner = _header(data, algorithm[1])
    wrapped = _header(data, inner[1]) if inner is not None and inner[0] == 0x04 else None
    if wrapped is None or wrapped[0] != 0x30:
        return None, ""
    if name == EC_PUBLIC_KEY:
        curve = _field(data, oid[1], 0x06)
        named = CURVES.get(bytes(data[curve[0]:curve[1]])) if curve is not None else None
        if named is None:
            return None, ""
        return _ec_scalar(data, wrapped[1], [named]), "pkcs8-ec"
    if name == RSA_ENCRYPTION:
        return _rsa_key(data, wrapped[1], checks), "pkcs8-rsa"
    return None, ""


def cut_key(data: bytes, start: int, checks: CutChecks) -> tuple[int, str, Any] | None:
    """A private key's DER prefix at `start` read through its secret (the rest may be missing):
    (length, kind, key), the span from `start` to the declared end or the data's end (at least to
    the secret's end), or None."""
    outer = _header(data, start)
    if outer is None or outer[0] != 0x30:
        return None
    body = outer[1]
    declared = len(data) if outer[2] is None else body + outer[2]
    version = _version(data, body)
    if version is None or version[1] >= len(data):
        return None
    after = data[version[1]]
    found: tuple[Any, int] | None = None
    kind = ""
    if version[0] == 1 and after == 0x04:  # SEC1: the curve is named after the scalar, if at all
        found, kind = _ec_scalar(data, body, SEC1_CURVES), "sec1-ec"
    elif version[0] in (0, 1) and after == 0x02:
        found, kind = _rsa_key(data, body, checks), "pkcs1-rsa"
    elif version[0] in (0, 1) and after == 0x30:  # PKCS#8 (v1, v2): AlgorithmIdentifier, the OCTET STRING
        found, kind = _pkcs8(data, version[1], checks)
    if found is None:
        return None
    return max(min(declared, len(data)), found[1]) - start, kind + "-cut-short", found[0]


__all__ = ["MAX_RSA_WORK", "CutChecks", "RsaBudget", "chunk_budget", "cut_key", "rsa_work"]
