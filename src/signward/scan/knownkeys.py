"""Public keys the scanner looks for the private halves of (`--keys`): JWKS, JWK or PEM files.

Only public material is read here. Every key becomes a `KnownKey` with its kid (the JWK's
`kid`, else the RFC 7638 thumbprint) and the numbers the detectors compare against.
`KnownKeys.match` tells whether a private key found in a dump belongs to one of them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, x25519
from joserfc.jwk import JWKRegistry

from ..errors import UsageError
from .compiled import OPENSSL_CURVES
from .jose import thumbprint

PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.DOTALL)
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


@dataclass(frozen=True)
class KnownKey:
    """One public key: `kind` is 'rsa', 'ec' or 'ed25519'."""

    kid: str
    kind: str
    public_key: PublicKey
    source: str = ""

    def __reduce__(self) -> tuple[Any, tuple[str, str, bytes, str]]:
        """Pickled as its public DER (cryptography's key objects do not pickle): the scanner's
        pool sends the known keys to its processes."""
        der = self.public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return (_known_key, (self.kid, self.kind, der, self.source))

    @property
    def rsa_n(self) -> int:
        assert isinstance(self.public_key, rsa.RSAPublicKey)
        return self.public_key.public_numbers().n

    @property
    def rsa_e(self) -> int:
        assert isinstance(self.public_key, rsa.RSAPublicKey)
        return self.public_key.public_numbers().e

    @property
    def ec_point(self) -> tuple[int, int]:
        assert isinstance(self.public_key, ec.EllipticCurvePublicKey)
        numbers = self.public_key.public_numbers()
        return numbers.x, numbers.y

    @property
    def ec_curve(self) -> ec.EllipticCurve:
        assert isinstance(self.public_key, ec.EllipticCurvePublicKey)
        return self.public_key.curve

    @property
    def raw_public(self) -> bytes:
        assert isinstance(self.public_key, ed25519.Ed25519PublicKey)
        return self.public_key.public_bytes_raw()


def _known_key(kid: str, kind: str, der: bytes, source: str) -> KnownKey:
    public = serialization.load_der_public_key(der)
    assert isinstance(public, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey))
    return KnownKey(kid, kind, public, source)


class KnownKeys:
    """The set of public keys a scan verifies candidates against."""

    def __init__(self, keys: Iterable[KnownKey] = (), secret_ids: Iterable[str] = ()) -> None:
        self.keys: list[KnownKey] = []
        self.secret_ids: set[str] = set(secret_ids)  # symmetric keys known by aes_key_id only
        self._by_public: dict[bytes, KnownKey] = {}
        for key in keys:
            self.add(key)

    def add(self, key: KnownKey) -> None:
        marker = _public_der(key.public_key)
        if marker not in self._by_public:
            self._by_public[marker] = key
            self.keys.append(key)

    def load(self, data: bytes, source: str) -> None:
        """Add the public keys and AES key ids of one JWKS/JWK/canary/PEM document."""
        keys, secret_ids = parse_public_keys(data, source)
        for key in keys:
            self.add(key)
        self.secret_ids.update(secret_ids)

    def of_kind(self, kind: str) -> list[KnownKey]:
        return [k for k in self.keys if k.kind == kind]

    def match(self, private_key: Any) -> KnownKey | None:
        """The known key whose public half equals this private key's, if any."""
        try:
            return self._by_public.get(_public_der(private_key.public_key()))
        except Exception:
            return None

    def __len__(self) -> int:
        return len(self.keys)


def aes_key_id(key: bytes) -> str:
    """How an AES key is named without revealing it (the aes detector's kid for known keys)."""
    return "aes:" + hashlib.sha256(key).hexdigest()[:32]


SEARCHED_CURVES = frozenset(OPENSSL_CURVES)  # the EC search's curves (JOSE names them all)


def _public_der(public_key: Any) -> bytes:
    return bytes(public_key.public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo))


def known_key(public_key: Any, kid: str | None = None, source: str = "") -> KnownKey | None:
    """A `KnownKey` for a supported public key (RSA, EC, Ed25519); None for others (X25519...)."""
    if isinstance(public_key, rsa.RSAPublicKey):
        kind = "rsa"
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        kind = "ec"
    elif isinstance(public_key, ed25519.Ed25519PublicKey):
        kind = "ed25519"
    else:
        return None
    return KnownKey(kid or thumbprint(public_key), kind, public_key, source)


def _from_jwk(jwk: Any, source: str) -> KnownKey | None:
    if not isinstance(jwk, dict) or "kty" not in jwk:
        raise UsageError(f"{source}: not a JWK (no 'kty')")
    public = {k: v for k, v in jwk.items() if k not in ("d", "p", "q", "dp", "dq", "qi", "k", "oth")}
    try:
        key = JWKRegistry.import_key(public)
        public_key = key.public_key
    except Exception as exc:
        raise UsageError(f"{source}: bad JWK {jwk.get('kid', '')!r}: {exc}") from None
    if isinstance(public_key, x25519.X25519PublicKey):
        return None
    return known_key(public_key, jwk.get("kid"), source)


def load_known_keys(paths: Sequence[str | Path]) -> KnownKeys:
    """Read JWKS documents, single JWKs or PEM public keys/certificates; bad files are UsageError."""
    known = KnownKeys()
    for item in paths:
        path = Path(item)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"--keys {path}: cannot read ({exc.strerror})") from None
        known.load(data, str(path))
    return known


def known_from_documents(documents: Iterable[Any], source: str) -> KnownKeys:
    """KnownKeys from already-parsed JSON documents (JWKS, canary public parts)."""
    known = KnownKeys()
    for document in documents:
        known.load(json.dumps(document).encode(), source)
    return known


def parse_public_keys(data: bytes, source: str) -> tuple[list[KnownKey], list[str]]:
    """Public keys and AES key ids from a JWKS/JWK document, canary material or PEM text."""
    text = data.strip()
    found: list[KnownKey | None] = []
    secret_ids: list[str] = []
    if text.startswith(b"{"):
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise UsageError(f"{source}: invalid JSON ({exc})") from None
        if isinstance(document, dict) and "signward_canary" in document:
            document = document.get("public")
        if isinstance(document, dict) and isinstance(document.get("secret_ids"), list):
            secret_ids = [str(item) for item in document["secret_ids"]]
        jwks = document.get("keys") if isinstance(document, dict) and "keys" in document else [document]
        if not isinstance(jwks, list):
            raise UsageError(f"{source}: 'keys' must be a list")
        found = [_from_jwk(jwk, source) for jwk in jwks]
    elif PEM_BLOCK.search(text):
        found = [_from_pem(match.group(0), source) for match in PEM_BLOCK.finditer(text)]
    else:
        raise UsageError(f"{source}: neither a JWKS/JWK document nor PEM public keys")
    keys = [k for k in found if k is not None]
    if not keys and not secret_ids:
        raise UsageError(f"{source}: no RSA, EC or Ed25519 public key in it")
    return keys, secret_ids


def _from_pem(pem: bytes, source: str) -> KnownKey | None:
    try:
        if b"CERTIFICATE" in pem[:40]:
            public_key: Any = x509.load_pem_x509_certificate(pem).public_key()
        else:
            public_key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise UsageError(f"{source}: bad PEM public key ({exc})") from None
    if isinstance(public_key, ec.EllipticCurvePublicKey) and public_key.curve.name not in SEARCHED_CURVES:
        # (a brainpool key stopped the scan with an internal error in its kid's thumbprint: rt21)
        raise UsageError(f"{source}: EC curve {public_key.curve.name} is not one the scanner searches "
                         f"({', '.join(sorted(SEARCHED_CURVES))})")
    return known_key(public_key, None, source)


__all__ = ["KnownKey", "KnownKeys", "aes_key_id", "known_from_documents", "known_key", "load_known_keys",
           "parse_public_keys"]
