"""The scanner's multi-prime RSA keys (detectors/multiprime.py; issue #32): openssl's 3- and
4-prime keys as PKCS#1 and PKCS#8 DER in a dump, as bare base64 and in PEM (there the armour is
found too); a prime list whose product is not n, or a prime that is 1 or n, certifies; the
bounds (the scanner's and the reader's); sanitize leaves nothing; a key cut short after d, or
whose prime list is wrong with n, e and d intact, is found by the cut rules (version 1 taken)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from signward.dumps import sanitize, scan_path
from signward.home import Home
from signward.scan.detectors.der import classify_der
from signward.scan.detectors.multiprime import MAX_BITS, MAX_PRIMES, multiprime_key
from signward.scan.knownkeys import KnownKeys, known_key
from signward.scan.recheck import recheck_bytes
from signward.scan.recheck_multiprime import read_multiprime
from tests.scan.multiprime_keys import (
    KEYS,
    POST,
    PRE,
    cut_after_d,
    encode,
    numbers,
    of_factors,
    pem,
    pkcs1,
    pkcs8,
    prime,
    wrap,
)

FORMS = {"pkcs1-der": lambda case: PRE + pkcs1(case) + POST,
         "pkcs8-der": lambda case: PRE + pkcs8(case) + POST,
         "base64": lambda case: PRE + base64.b64encode(pkcs1(case)) + POST}
KINDS = {"pkcs1-der": "pkcs1-rsa-multiprime", "pkcs8-der": "pkcs8-rsa-multiprime",
         "base64": "base64-pkcs1-rsa-multiprime"}


def _kinds(tmp_path: Path, data: bytes, detectors: str | None = None) -> list[str]:
    path = tmp_path / "dump.bin"
    path.write_bytes(data)
    return [f.kind for f in scan_path(path, detectors).findings]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("case", KEYS)
def test_the_scanner_finds_a_multiprime_key(tmp_path: Path, case: str, form: str) -> None:
    assert KINDS[form] in _kinds(tmp_path, FORMS[form](case))


@pytest.mark.parametrize("case", KEYS)
def test_the_key_is_the_structure_openssl_wrote(case: str) -> None:
    values = numbers(case)
    assert encode(values) == pkcs1(case) and wrap(pkcs1(case)) == pkcs8(case)
    assert len(values) == 9 + 3 * (KEYS[case][0] - 2) and values[0] == 1  # version 1, otherPrimeInfos


def test_the_stand_in_key_has_the_keys_public_half_and_is_matched_as_known(tmp_path: Path) -> None:
    _, n, e, d = numbers("3-primes-2048")[:4]
    kind, key = multiprime_key(pkcs1("3-primes-2048"))  # type: ignore[misc]
    assert kind == "pkcs1-rsa-multiprime" and key.public_key().public_numbers() == rsa.RSAPublicNumbers(e, n)
    assert key.private_numbers().d == d
    known = KnownKeys()
    known.add(known_key(rsa.RSAPublicNumbers(e, n).public_key(), "mp-kid"))  # type: ignore[arg-type]
    path = tmp_path / "dump.bin"
    path.write_bytes(PRE + pkcs1("3-primes-2048") + POST)
    found = [f for f in scan_path(path, "der", known).findings if f.kind == "pkcs1-rsa-multiprime"]
    assert found and found[0].kid == "mp-kid" and found[0].verified


def test_pem_is_found_by_its_armour_and_its_der_by_this_rule(tmp_path: Path) -> None:
    assert "pem-private-key" in _kinds(tmp_path, PRE + pem("3-primes-2048") + POST)
    assert classify_der(pkcs8("3-primes-2048"), 0).kind == "pkcs8-rsa-multiprime"  # type: ignore[union-attr]


def _altered(case: str, index: int, change: int) -> list[int]:
    values = list(numbers(case))
    values[index] += change
    return values


def test_a_prime_list_whose_product_is_not_n_certifies(tmp_path: Path) -> None:
    near = encode(_altered("3-primes-2048", 1, 2))  # n + 2: no prime list, nor e and d, fits it
    assert multiprime_key(near) is None and multiprime_key(wrap(near)) is None
    assert _kinds(tmp_path, PRE + near + POST) == [] and recheck_bytes(PRE + near + POST).findings == []


@pytest.mark.parametrize("index", [4, 9], ids=["p", "third-prime"])
def test_a_wrong_prime_list_with_n_e_and_d_intact_is_found_by_the_cut_rule(tmp_path: Path, index: int) -> None:
    near = PRE + encode(_altered("3-primes-2048", index, 2)) + POST
    assert multiprime_key(near[len(PRE):-len(POST)]) is None
    assert "pkcs1-rsa-cut-short" in _kinds(tmp_path, near, "der")
    assert "RSAPrivateKey cut short after its secret" in [f.key for f in recheck_bytes(near).findings]


@pytest.mark.parametrize("wrapped", [False, True], ids=["pkcs1", "pkcs8"])
@pytest.mark.parametrize("case", ["3-primes-2048", "4-primes-4096"])
def test_a_multiprime_key_cut_after_d_is_found_by_both_readers(tmp_path: Path, case: str, wrapped: bool) -> None:
    data = PRE + cut_after_d(case, wrapped) + POST
    assert ("pkcs8-rsa-cut-short" if wrapped else "pkcs1-rsa-cut-short") in _kinds(tmp_path, data, "der")
    assert "RSAPrivateKey cut short after its secret" in [f.key for f in recheck_bytes(data).findings]


def test_a_list_of_n_and_ones_is_not_a_factorization() -> None:
    values = list(numbers("3-primes-2048"))
    values[4], values[5], values[9] = values[1], 1, 1  # n * 1 * 1 = n
    assert multiprime_key(encode(values)) is None


def test_a_key_whose_d_does_not_fit_is_still_reported_by_its_primes() -> None:
    for index in (3, 10):  # d, then the third prime's exponent
        found = multiprime_key(encode(_altered("4-primes-4096", index, 2)))
        assert found is not None and found[0] == "pkcs1-rsa-multiprime-primes"
    assert multiprime_key(pkcs1("4-primes-4096"))[0] == "pkcs1-rsa-multiprime"  # type: ignore[index]


READERS = {"scanner": multiprime_key, "reader": read_multiprime}  # the bounds are the same in both (16, 16,384)


@pytest.mark.parametrize("reader", READERS)
def test_the_bound_on_primes(reader: str) -> None:
    factors = [prime(64, index) for index in range(MAX_PRIMES + 1)]
    assert READERS[reader](of_factors(factors[:MAX_PRIMES])) is not None
    assert READERS[reader](of_factors(factors)) is None


@pytest.mark.parametrize("reader", READERS)
def test_the_bound_on_the_modulus(reader: str) -> None:
    """n over MAX_BITS bits whose INTEGER still fits the bound on one INTEGER (MAX_BITS + 8 bits
    with its sign byte): 4096-bit n four times, and a factor 2^k + 1 (primality is not read)."""
    n4 = numbers("4-primes-4096")[1]
    assert (n4 ** 4).bit_length() <= MAX_BITS and READERS[reader](of_factors([n4] * 4)) is not None
    factor = (1 << (MAX_BITS + 2 - (n4 ** 4).bit_length())) + 1
    assert MAX_BITS < (n4 ** 4 * factor).bit_length() < MAX_BITS + 7
    assert READERS[reader](of_factors([n4] * 4 + [factor])) is None


@pytest.mark.parametrize("reader", READERS)
def test_the_bound_on_each_integer(reader: str) -> None:
    """An INTEGER (here e) of more than MAX_BITS // 8 + 1 bytes is not read (the cost of e*d)."""
    values = list(numbers("3-primes-2048"))
    values[2] = (1 << (MAX_BITS + 6)) + 1  # 2,049 bytes
    assert READERS[reader](encode(values)) is not None  # d no longer fits: still a key
    values[2] = (1 << (MAX_BITS + 7)) + 1  # 2,050 bytes with its sign byte
    assert READERS[reader](encode(values)) is None


def test_sanitize_leaves_nothing(tmp_path: Path) -> None:
    source = tmp_path / "crash.bin"
    data = PRE + pkcs1("3-primes-3072") + POST + pkcs8("4-primes-4096") + POST
    source.write_bytes(data)
    result = sanitize(source, tmp_path / "clean.bin", Home(tmp_path / "home"))
    clean = (tmp_path / "clean.bin").read_bytes()
    assert result.status == "clean" and len(clean) == len(data)
    for case in ("3-primes-3072", "4-primes-4096"):
        for value in numbers(case)[1:]:
            if value.bit_length() > 64:
                assert value.to_bytes((value.bit_length() + 7) // 8, "big") not in clean
    assert recheck_bytes(clean).findings == []

