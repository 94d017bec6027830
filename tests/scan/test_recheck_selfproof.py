"""The independent reader proves keys printed as integers from the printout itself, with no known
key (recheck_selfproof.py, issue #32 F6): Go's `%+v`/`%v`, Java's toString, Python's repr of the
private numbers, hex and decimal configs; near misses certify; past each bound incomplete, within
seconds. Keys are made by `cryptography` for each run: the assertions hold for any key."""

from __future__ import annotations

import math
import random
import re
import time
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from signward.scan import recheck_selfproof
from signward.scan.knownkeys import KnownKeys
from signward.scan.recheck import Budget, _Reader, recheck_bytes

PRE, POST = b"2026-12-07T10:11:12Z signer started\n", b"\n2026-12-07T10:11:13Z listening on :8443\n"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateNumbers:
    return rsa.generate_private_key(65537, 2048).private_numbers()


@pytest.fixture(scope="module")
def ec_keys() -> dict[str, ec.EllipticCurvePrivateNumbers]:
    curves = {"p256": ec.SECP256R1(), "k256": ec.SECP256K1(), "p384": ec.SECP384R1(), "p521": ec.SECP521R1()}
    return {name: ec.generate_private_key(curve).private_numbers() for name, curve in curves.items()}


def _go_rsa(k: rsa.RSAPrivateNumbers) -> bytes:
    pub = k.public_numbers
    return (f"key=&{{PublicKey:{{N:+{pub.n} E:{pub.e}}} D:+{k.d} Primes:[+{k.p} +{k.q}] "
            f"Precomputed:{{Dp:+{k.dmp1} Dq:+{k.dmq1} Qinv:+{k.iqmp} CRTValues:[]}}}}").encode()


def _java_rsa(k: rsa.RSAPrivateNumbers) -> bytes:
    bits = k.public_numbers.n.bit_length()
    return (f"SunRsaSign RSA private CRT key, {bits} bits\n  params: null\n  modulus: {k.public_numbers.n}\n"
            f"  private exponent: {k.d}").encode()


def _py_rsa(k: rsa.RSAPrivateNumbers) -> bytes:
    pub = k.public_numbers
    return (f"numbers=<RSAPrivateNumbers(p={k.p}, q={k.q}, d={k.d}, dmp1={k.dmp1}, dmq1={k.dmq1}, "
            f"iqmp={k.iqmp}, public_numbers=<RSAPublicNumbers(e={pub.e}, n={pub.n})>)>").encode()


RSA_FORMS: dict[str, Callable[[rsa.RSAPrivateNumbers], bytes]] = {
    "go-plusv": _go_rsa,
    "java-tostring": _java_rsa,
    "python-repr": _py_rsa,
    "hex-config": lambda k: f"n: {k.public_numbers.n:x}\nd: {k.d:x}\np: {k.p:x}\n".encode(),
    "hex-config-0X-upper": lambda k: f"n: 0X{k.public_numbers.n:X}\nq: 0X{k.q:X}\n".encode(),
    "decimal-config": lambda k: f"n={k.public_numbers.n}\ne=65537\np={k.p}\n".encode(),
    "n-and-d-only": lambda k: f"modulus={k.public_numbers.n} exponent={k.d}".encode(),
    "n-and-dp-only": lambda k: f"n={k.public_numbers.n}\ndp={k.dmp1}\n".encode(),
}


def _go_ec_plusv(k: ec.EllipticCurvePrivateNumbers) -> bytes:
    pub = k.public_numbers
    return f"key=&{{PublicKey:{{Curve:0xc0000a2000 X:+{pub.x} Y:+{pub.y}}} D:+{k.private_value}}}".encode()


def _sec1(k: ec.EllipticCurvePrivateNumbers, compressed: bool) -> bytes:
    pub = k.public_numbers
    size = (pub.curve.key_size + 7) // 8
    point = (bytes([2 + pub.y % 2]) + pub.x.to_bytes(size, "big")) if compressed else \
        b"\x04" + pub.x.to_bytes(size, "big") + pub.y.to_bytes(size, "big")
    return f"private: {k.private_value:0{2 * size}x}\npublic: {point.hex()}\n".encode()


def _hex_config(k: ec.EllipticCurvePrivateNumbers) -> bytes:
    width = 2 * ((k.public_numbers.curve.key_size + 7) // 8)
    return (f"ec:\n  d: {k.private_value:0{width}x}\n  x: {k.public_numbers.x:0{width}x}\n"
            f"  y: {k.public_numbers.y:0{width}x}\n").encode()


EC_FORMS: dict[str, Callable[[ec.EllipticCurvePrivateNumbers], bytes]] = {
    "go-plusv": _go_ec_plusv,
    "go-v": lambda k: (f"key=&{{{{0xc0000a2000 {k.public_numbers.x} {k.public_numbers.y}}} "
                       f"{k.private_value}}}").encode(),
    "hex-config": lambda k: _hex_config(k),
    "sec1-uncompressed": lambda k: _sec1(k, False),
    "sec1-compressed": lambda k: _sec1(k, True),
}


def _kinds(data: bytes) -> tuple[list[str], list[str]]:
    report = recheck_bytes(data)
    return [f.kind for f in report.findings], report.incomplete


def _check_found(data: bytes, kind: str, body: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by this rule alone (kind; nothing with the rule off), its span covers the printout,
    and the printout redacted certifies."""
    report = recheck_bytes(data)
    assert [f.kind for f in report.findings] == [kind], (report.findings, report.incomplete)
    start, end = report.findings[0].span  # type: ignore[misc]
    at = data.index(body)
    runs = [(at + m.start(), at + m.end()) for m in re.finditer(rb"[0-9a-fA-F]{60,}", body)]
    assert start <= runs[0][0] and runs[-1][1] <= end <= at + len(body), (runs, start, end)  # every number
    redacted = data[:start] + b"x" * (end - start) + data[end:]
    assert recheck_bytes(redacted).clean
    with monkeypatch.context() as patch:
        patch.setattr("signward.scan.recheck.self_proving_numbers", lambda *args: None)
        assert recheck_bytes(data).clean, "another rule finds this form: the test does not show this rule"


@pytest.mark.parametrize("form", sorted(RSA_FORMS))
def test_an_rsa_key_printed_as_integers_is_found_with_no_known_key(
        rsa_key: rsa.RSAPrivateNumbers, form: str, monkeypatch: pytest.MonkeyPatch) -> None:
    body = RSA_FORMS[form](rsa_key)
    _check_found(PRE + body + POST, "printed-rsa-numbers", body, monkeypatch)


@pytest.mark.parametrize("form", sorted(EC_FORMS))
@pytest.mark.parametrize("curve", ["p256", "k256", "p384", "p521"])
def test_an_ec_key_printed_as_integers_is_found_with_no_known_key(
        ec_keys: dict[str, ec.EllipticCurvePrivateNumbers], curve: str, form: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    body = EC_FORMS[form](ec_keys[curve])
    _check_found(PRE + body + POST, "printed-ec-numbers", body, monkeypatch)


def test_a_printed_public_exponent_is_used(rsa_key: rsa.RSAPrivateNumbers) -> None:
    """n and d for a small odd e printed as `e=` (17, or the next one that is prime to lambda(n)):
    proven with the printed e, not 65537 nor 3."""
    p, q = rsa_key.p, rsa_key.q
    lam = (p - 1) * (q - 1) // math.gcd(p - 1, q - 1)
    e = next(e for e in (17, 19, 23, 29, 31, 37, 41, 43, 47) if math.gcd(e, lam) == 1)
    data = PRE + f"n={p * q}\ne={e}\nd={pow(e, -1, lam)}\n".encode() + POST
    assert _kinds(data) == (["printed-rsa-numbers"], [])


def _random_digits(rnd: random.Random, digits: int) -> str:
    return str(rnd.randrange(10 ** (digits - 1), 10 ** digits))


def _near_misses(k: rsa.RSAPrivateNumbers, e: ec.EllipticCurvePrivateNumbers, other: ec.EllipticCurvePrivateNumbers
                 ) -> dict[str, bytes]:
    rnd = random.Random(32)
    n = k.public_numbers.n
    half = rnd.getrandbits(1024) | (1 << 1023) | 1
    return {
        "modulus-decimal-and-hex": f"Modulus (decimal): {n}\nModulus (hex): {n:x}\nExponent: 65537\n".encode(),
        "random-80-digit-list": "\n".join(_random_digits(rnd, 80) for _ in range(60)).encode(),
        "modulus-and-a-random-half": f"n={n}\nx={half}\n".encode(),
        "modulus-and-a-random-full": f"n={n}\nx={rnd.randrange(n // 2, n) | 1}\n".encode(),
        "ec-public-point-alone": f"x: {e.public_numbers.x:064x}\ny: {e.public_numbers.y:064x}\n".encode(),
        "ec-point-and-another-scalar": (f"d: {other.private_value:064x}\nx: {e.public_numbers.x:064x}\n"
                                        f"y: {e.public_numbers.y:064x}\n").encode(),
    }


@pytest.mark.parametrize("case", ["modulus-decimal-and-hex", "random-80-digit-list", "modulus-and-a-random-half",
                                  "modulus-and-a-random-full", "ec-public-point-alone",
                                  "ec-point-and-another-scalar"])
def test_near_misses_certify(rsa_key: rsa.RSAPrivateNumbers, ec_keys: dict[str, ec.EllipticCurvePrivateNumbers],
                             case: str) -> None:
    other = ec.generate_private_key(ec.SECP256R1()).private_numbers()
    data = PRE + _near_misses(rsa_key, ec_keys["p256"], other)[case] + POST
    assert _kinds(data) == ([], [])


def _rule_only(data: bytes) -> tuple[list[str], list[str], float]:
    """The rule alone over one view: (kinds, incomplete reasons, CPU seconds)."""
    reader = _Reader(KnownKeys(), Budget.for_size(len(data)))
    started = time.process_time()
    recheck_selfproof.self_proving_numbers(reader, data, "view")
    return [f.kind for f in reader.report.findings], reader.report.incomplete, time.process_time() - started


def test_hostile_short_numbers_end_clean_within_seconds() -> None:
    """1 MiB of 80-digit decimal numbers: clean (no modulus size, no curve point), in bounded time."""
    rnd = random.Random(7)
    data = " ".join(_random_digits(rnd, 80) for _ in range((1 << 20) // 81)).encode()
    kinds, incomplete, seconds = _rule_only(data)
    assert (kinds, incomplete) == ([], []) and seconds < 5, seconds


def test_hostile_long_numbers_end_incomplete_within_seconds() -> None:
    """1 MiB of 512-digit decimal numbers (each a modulus candidate, each another's d): past the
    group's modular exponentiations, incomplete, in bounded time."""
    rnd = random.Random(8)
    data = "\n".join(_random_digits(rnd, 512) for _ in range((1 << 20) // 513)).encode()
    kinds, incomplete, seconds = _rule_only(data)
    assert not kinds and seconds < 5, seconds
    assert incomplete and all("modular exponentiation in one group" in why for why in incomplete), incomplete


def test_many_points_and_scalars_in_one_group_are_incomplete(ec_keys: dict[str, ec.EllipticCurvePrivateNumbers]
                                                           ) -> None:
    """Public points beside scalars that derive none of them: past the group's derivations, incomplete."""
    keys = [ec.generate_private_key(ec.SECP256R1()).private_numbers() for _ in range(6)]
    lines = [f"x={k.public_numbers.x:064x} y={k.public_numbers.y:064x}" for k in keys[:3]]
    lines += [f"s={ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value:064x}" for _ in range(12)]
    kinds, incomplete, _ = _rule_only("\n".join(lines).encode())
    assert not kinds and incomplete and "EC derivations" in incomplete[0], incomplete


def test_the_recheck_modexp_budget_is_shared_and_incomplete_past_it(rsa_key: rsa.RSAPrivateNumbers) -> None:
    """A Java printout (one modular exponentiation) with no budget left: incomplete, not clean."""
    data = _java_rsa(rsa_key)
    reader = _Reader(KnownKeys(), Budget(max_modexps=0))
    recheck_selfproof.self_proving_numbers(reader, data, "view")
    assert not reader.report.findings and "printed RSA keys" in reader.report.incomplete[0]


def test_many_printouts_in_one_group_cost_one_exponentiation() -> None:
    """Twelve Java printouts of 1,024-bit keys in a row (n and d only): each modulus is tried with
    its nearest numbers first, so the first d proves its key with one modular exponentiation."""
    keys = [rsa.generate_private_key(65537, 1024).private_numbers() for _ in range(12)]
    data = b"\n".join(_java_rsa(k) for k in keys)
    reader = _Reader(KnownKeys(), Budget.for_size(len(data)))
    recheck_selfproof.self_proving_numbers(reader, data, "view")
    assert [f.kind for f in reader.report.findings] == ["printed-rsa-numbers"] and not reader.report.incomplete
    assert reader.budget.modexps == 1


def test_a_log_of_hex_signatures_certifies() -> None:
    """Twelve 2,048-bit values in hex a line (a debug log of RSA signatures): no modulus has a small
    factor, so most are no modulus and the rest stay within the group's bound: clean."""
    rnd = random.Random(22)
    data = b"".join(b"2026-12-07T10:11:%02dZ signed kid=rs1 sig=%0512x\n" % (i, rnd.getrandbits(2048))
                    for i in range(12))
    kinds, incomplete, _ = _rule_only(data)
    assert (kinds, incomplete) == ([], [])
