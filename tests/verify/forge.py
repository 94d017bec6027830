"""Test-side token minting and forging with software keys (the attacker's and the test's tools)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, replace
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from signward.keys import public_jwk, thumbprint

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def enc(obj: Any) -> str:
    return b64(json.dumps(obj, separators=(",", ":")).encode())


@dataclass
class TestKey:
    private: PrivateKey
    alg: str
    name: str | None = None  # a third party's named kid ("2024-01"); None: the RFC 7638 thumbprint

    @property
    def kid(self) -> str:
        return self.name if self.name is not None else self.thumbprint

    @property
    def thumbprint(self) -> str:
        return thumbprint(self.private.public_key())

    def named(self, name: str | None) -> "TestKey":
        """The same key published under kid `name` (None: under its thumbprint)."""
        return replace(self, name=name)

    def jwk(self, **extra: Any) -> dict[str, Any]:
        return {**public_jwk(self.private.public_key()), "kid": self.kid, "alg": self.alg, "use": "sig", **extra}

    def sign(self, signing_input: bytes) -> bytes:
        k = self.private
        if isinstance(k, ec.EllipticCurvePrivateKey):
            h, n = (hashes.SHA256(), 32) if self.alg == "ES256" else (hashes.SHA384(), 48)
            r, s = decode_dss_signature(k.sign(signing_input, ec.ECDSA(h)))
            return r.to_bytes(n, "big") + s.to_bytes(n, "big")
        if isinstance(k, rsa.RSAPrivateKey):
            pad: padding.AsymmetricPadding = (padding.PKCS1v15() if self.alg == "RS256"
                                              else padding.PSS(padding.MGF1(hashes.SHA256()), 32))
            return k.sign(signing_input, pad, hashes.SHA256())
        return k.sign(signing_input)

    def token(self, claims: dict[str, Any], **header: Any) -> str:
        head = {"alg": self.alg, "kid": self.kid, "typ": "at+jwt", **header}
        head = {k: v for k, v in head.items() if v is not None}
        signing_input = f"{enc(head)}.{enc(claims)}"
        return f"{signing_input}.{b64(self.sign(signing_input.encode()))}"


KID_STYLES = ("thumbprint", "named")
"""How an issuer names its keys: signward's RFC 7638 thumbprints, or a third party's names."""


def styled(keys: dict[str, TestKey], style: str, names: dict[str, str]) -> dict[str, TestKey]:
    """`keys` under kid style `style`: thumbprints, or the names in `names` (by the same keys)."""
    return {role: key.named(names[role] if style == "named" else None) for role, key in keys.items()}


def new_key(alg: str) -> TestKey:
    if alg == "ES256":
        return TestKey(ec.generate_private_key(ec.SECP256R1()), alg)
    if alg == "ES384":
        return TestKey(ec.generate_private_key(ec.SECP384R1()), alg)
    if alg in ("RS256", "PS256"):
        return TestKey(rsa.generate_private_key(65537, 2048), alg)
    return TestKey(ed25519.Ed25519PrivateKey.generate(), alg)


def hs256_with_public_key(key: TestKey, claims: dict[str, Any], pem: bytes) -> str:
    """CVE-2015-9235 style: HMAC keyed with the RSA public key, kid of the real key."""
    signing_input = f"{enc({'alg': 'HS256', 'kid': key.kid, 'typ': 'at+jwt'})}.{enc(claims)}"
    return f"{signing_input}.{b64(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())}"
