"""algorithms.signature_ok's key-type rule with the per-class memo of the EC check (issue 39)."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from signward.algorithms import Alg, signature_ok

KEY = ec.derive_private_key(0x5EED_0F_7E57, ec.SECP256R1())  # fixed: no rule here depends on random bytes
DATA = b"header.payload"


def _es256(data: bytes) -> bytes:
    r, s = decode_dss_signature(KEY.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


class _LooksElliptic:
    """Not an EllipticCurvePublicKey, though it has a P-256 curve and accepts every signature:
    only the key-type rule can refuse it."""

    class curve:  # noqa: N801 - mimics the attribute
        key_size = 256

    def verify(self, *_args: Any) -> None:
        return None


def test_an_es256_signature_verifies_with_its_key_again_and_again() -> None:
    signature = _es256(DATA)
    assert all(signature_ok(KEY.public_key(), Alg.ES256, DATA, signature) for _ in range(3))
    assert not signature_ok(KEY.public_key(), Alg.ES256, DATA + b"x", signature)


def test_a_key_that_is_not_an_ec_public_key_never_verifies_even_after_ec_keys_did() -> None:
    signature = _es256(DATA)
    assert signature_ok(KEY.public_key(), Alg.ES256, DATA, signature)  # the EC class is now remembered
    assert not signature_ok(_LooksElliptic(), Alg.ES256, DATA, signature)  # type: ignore[arg-type]
    assert not signature_ok(_LooksElliptic(), Alg.ES256, DATA, signature)  # type: ignore[arg-type]
