"""Modular exponentiation for the scanner's proofs: libcrypto's where the filters were built, else `pow`."""

from __future__ import annotations

from .compiled import filters

MAX_BYTES = 2048  # the compiled call's limit on each number


def mod_pow(base: int, exponent: int, modulus: int) -> int:
    """`pow(base, exponent, modulus)` for non-negative numbers; libcrypto (BN_mod_exp) computes it
    for an odd modulus above 1 (an RSA modulus), `pow` everywhere else."""
    compiled = filters()
    if (compiled is None or modulus <= 1 or not modulus & 1 or base < 0 or exponent < 0
            or max(base.bit_length(), exponent.bit_length(), modulus.bit_length()) > 8 * MAX_BYTES):
        return pow(base, exponent, modulus)
    size = (modulus.bit_length() + 7) // 8
    raw = compiled.mod_pow(base.to_bytes((base.bit_length() + 7) // 8 or 1, "big"),
                           exponent.to_bytes((exponent.bit_length() + 7) // 8 or 1, "big"),
                           modulus.to_bytes(size, "big"))
    return int.from_bytes(raw, "big")


__all__ = ["mod_pow"]
