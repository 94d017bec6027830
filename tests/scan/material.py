"""Key material the dump tests plant and look for: made once per session, shared by every module."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from signward.dumps import KnownKeys
from signward.scan.knownkeys import known_key

RSA = rsa.generate_private_key(65537, 2048)
EC = ec.generate_private_key(ec.SECP256R1())
ED = ed25519.Ed25519PrivateKey.generate()
NUMBERS = RSA.private_numbers()


def known(*keys: object) -> KnownKeys:
    """The known-key set of these private keys' public halves."""
    return KnownKeys([k for k in (known_key(key.public_key()) for key in keys) if k is not None])  # type: ignore[attr-defined]
