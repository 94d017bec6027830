"""`modexp.mod_pow` (libcrypto's BN_mod_exp where built) gives exactly what `pow` gives, on RSA-sized
numbers and on the edges where it must hand over to `pow` (even modulus, 1, oversized numbers)."""

from __future__ import annotations

import random

import pytest

from signward.scan import modexp
from signward.scan.compiled import AVAILABLE, filters


def test_rsa_sized_powers_equal_pow() -> None:
    rng = random.Random(3)
    for bits in (512, 1024, 2048, 4096):
        modulus = rng.getrandbits(bits) | (1 << (bits - 1)) | 1
        for base, exponent in ((rng.getrandbits(bits // 2), rng.getrandbits(bits // 2)), (0, 5), (7, 0),
                               (modulus + 3, 65537), (modulus - 1, rng.getrandbits(bits)), (1, 1 << 100)):
            assert modexp.mod_pow(base, exponent, modulus) == pow(base, exponent, modulus)


@pytest.mark.parametrize("modulus", [1, 2, 10 ** 40, (1 << 20000) + 1], ids=["one", "two", "even", "oversized"])
def test_where_libcrypto_does_not_apply_pow_answers(modulus: int) -> None:
    assert modexp.mod_pow(12345, 6789, modulus) == pow(12345, 6789, modulus)


@pytest.mark.skipif(not AVAILABLE, reason="the compiled filters were not built")
def test_the_compiled_call_refuses_what_it_cannot_compute() -> None:
    compiled = filters()
    assert compiled is not None
    for modulus in (b"\x0a", b"\x01", b""):
        with pytest.raises(ValueError):
            compiled.mod_pow(b"\x02", b"\x03", modulus)
    with pytest.raises(ValueError):
        compiled.mod_pow(b"\x02" * 2049, b"\x03", b"\x07")
