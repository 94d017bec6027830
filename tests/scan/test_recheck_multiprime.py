"""The independent reader's multi-prime RSA keys (recheck_multiprime.py; issue #32), alone:
openssl's 3- and 4-prime keys as PKCS#1 and PKCS#8 DER, bare base64 and PEM; a prime list whose
product is not n, or a prime that is 1 or n, is not a key; the bounds; the label when d does not
fit; a known key's kid. The bounds are tested beside the scanner's (test_multiprime.py)."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from signward.scan.knownkeys import KnownKeys, known_key
from signward.scan.recheck import recheck_bytes
from signward.scan.recheck_multiprime import read_multiprime
from tests.scan.multiprime_keys import KEYS, POST, PRE, encode, numbers, pem, pkcs1, pkcs8, wrap

FORMS = {"pkcs1-der": lambda case: PRE + pkcs1(case) + POST,
         "pkcs8-der": lambda case: PRE + pkcs8(case) + POST,
         "base64": lambda case: PRE + base64.b64encode(pkcs1(case)) + POST,
         "pem": lambda case: PRE + pem(case) + POST}


def _labels(data: bytes, known: KnownKeys | None = None) -> list[str]:
    return [f.key for f in recheck_bytes(data, known).findings if f.kind == "der"]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("case", KEYS)
def test_the_reader_finds_a_multiprime_key(case: str, form: str) -> None:
    assert f"multi-prime RSA key ({KEYS[case][0]} primes)" in _labels(FORMS[form](case))


def test_the_reader_names_a_known_key() -> None:
    _, n, e = numbers("3-primes-2048")[:3]
    known = KnownKeys()
    known.add(known_key(rsa.RSAPublicNumbers(e, n).public_key(), "mp-kid"))  # type: ignore[arg-type]
    assert "multi-prime RSA key (3 primes) (known kid mp-kid)" in _labels(PRE + pkcs1("3-primes-2048") + POST, known)


def _altered(case: str, index: int, change: int) -> list[int]:
    values = list(numbers(case))
    values[index] += change
    return values


def test_a_prime_list_whose_product_is_not_n_is_not_a_key() -> None:
    for index in (5, 12):  # q, then the fourth prime (in otherPrimeInfos)
        near = encode(_altered("4-primes-4096", index, 2))
        assert read_multiprime(near) is None and read_multiprime(wrap(near)) is None


def test_a_list_of_n_and_ones_is_not_a_factorization() -> None:
    values = list(numbers("3-primes-2048"))
    values[4], values[5], values[9] = values[1], 1, 1
    assert read_multiprime(encode(values)) is None


def test_a_key_whose_d_does_not_fit_is_still_a_key_by_its_primes() -> None:
    for index in (3, 7):  # d, then q's exponent
        found = read_multiprime(encode(_altered("3-primes-3072", index, 2)))
        assert found is not None and found[0] == "multi-prime RSA key (3 primes, d does not fit)"

