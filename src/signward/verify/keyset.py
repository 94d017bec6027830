"""Trusted public keys from JWKS documents, checked as they load.

A key is dropped (with a log line) when it has no kid, carries private members, has
inconsistent kty/crv/alg, is RSA under 2048 bits, or names an `issuer` other than the
one it was loaded for. A key's `nbf` and `exp` members (NumericDate) bound its validity.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey, RSAKey

from ..algorithms import SPECS, Alg, PublicKey

log = logging.getLogger("signward.verify.keyset")
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k", "oth")
MIN_RSA_BITS = 2048


@dataclass(frozen=True)
class TrustedKey:
    kid: str
    alg: Alg
    issuer: str
    public_key: PublicKey
    thumbprint: str
    nbf: float | None
    exp: float | None


class KeyDropped(Exception):
    pass


def _numeric(jwk: dict[str, Any], name: str) -> float | None:
    value = jwk.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise KeyDropped(f"{name} is not a NumericDate")
    return float(value)


def _alg_for(jwk: dict[str, Any]) -> Alg:
    kty, crv, alg = jwk.get("kty"), jwk.get("crv"), jwk.get("alg")
    if alg is not None and (not isinstance(alg, str) or alg not in {a.value for a in Alg}):
        raise KeyDropped(f"alg {alg!r} is not allowed")
    if kty == "EC":
        by_curve = {"P-256": Alg.ES256, "P-384": Alg.ES384}
        if crv not in by_curve:
            raise KeyDropped(f"EC curve {crv!r} is not allowed")
        if alg is not None and alg != by_curve[crv].value:
            raise KeyDropped(f"alg {alg} does not fit curve {crv}")
        return by_curve[crv]
    if kty == "OKP":
        if crv != "Ed25519" or alg not in (None, "EdDSA"):
            raise KeyDropped(f"OKP key with crv {crv!r} and alg {alg!r} is not allowed")
        return Alg.EdDSA
    if kty == "RSA":
        if alg not in ("RS256", "PS256"):
            raise KeyDropped("an RSA key must name its alg (RS256 or PS256)")
        if crv is not None:
            raise KeyDropped("an RSA key has no crv")
        return Alg(alg)
    raise KeyDropped(f"kty {kty!r} is not allowed")


def _public(jwk: dict[str, Any], alg: Alg) -> tuple[PublicKey, str]:
    members = {k: v for k, v in jwk.items() if k in ("kty", "crv", "x", "y", "n", "e")}
    kty = SPECS[alg].kty
    if kty == "RSA":
        n = members.get("n")
        if not isinstance(n, str):
            raise KeyDropped("RSA key without n")
        bits = len(n.rstrip("=")) * 6  # checked before import: joserfc warns on small keys
        if bits < MIN_RSA_BITS - 6:
            raise KeyDropped(f"RSA key of about {bits} bits is under {MIN_RSA_BITS}")
    try:
        imported: ECKey | OKPKey | RSAKey
        if kty == "EC":
            imported = ECKey.import_key(members)
        elif kty == "OKP":
            imported = OKPKey.import_key(members)
        else:
            imported = RSAKey.import_key(members)
        key = imported.public_key
        thumb = str(imported.thumbprint())
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise KeyDropped(f"bad key material ({type(exc).__name__})") from None
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise KeyDropped(f"RSA key of {key.key_size} bits is under {MIN_RSA_BITS}")
        return key, thumb
    if isinstance(key, (ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey)):
        return key, thumb
    raise KeyDropped("unsupported key type")


def load_key(jwk: Any, issuer: str | None) -> TrustedKey:
    """One JWK as a TrustedKey for `issuer` (None: not bound to one, for JWS-level use);
    raises KeyDropped with the reason."""
    if not isinstance(jwk, dict):
        raise KeyDropped("not a JSON object")
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        raise KeyDropped("no kid")
    private = [m for m in PRIVATE_MEMBERS if m in jwk]
    if private:
        raise KeyDropped(f"carries private members {private}")
    if jwk.get("use") not in (None, "sig"):
        raise KeyDropped(f"use {jwk.get('use')!r} is not sig")
    key_ops = jwk.get("key_ops")
    if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):
        raise KeyDropped(f"key_ops {key_ops!r} does not allow verify (RFC 7517 4.3)")
    bound = jwk.get("issuer")
    if bound is not None and issuer is not None and bound != issuer:
        raise KeyDropped(f"issuer member {bound!r} is not {issuer!r}")
    alg = _alg_for(jwk)
    public, thumb = _public(jwk, alg)
    return TrustedKey(kid=kid, alg=alg, issuer=issuer or "", public_key=public, thumbprint=thumb,
                      nbf=_numeric(jwk, "nbf"), exp=_numeric(jwk, "exp"))


def load_jwks(document: Any, issuer: str | None, source: str = "") -> dict[str, TrustedKey]:
    """The usable keys of a JWKS document, by kid; every dropped key is logged."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document (an object with a keys list)")
    keys: dict[str, TrustedKey] = {}
    duplicated: set[str] = set()
    for index, jwk in enumerate(document["keys"]):
        try:
            key = load_key(jwk, issuer)
        except KeyDropped as why:
            log.warning("dropped key %s of %s (%s): %s", index, issuer, source or "jwks", why)
            continue
        if key.kid in keys or key.kid in duplicated:
            log.warning("dropped duplicate kid %s of %s: ambiguous", key.kid, issuer)
            keys.pop(key.kid, None)
            duplicated.add(key.kid)
            continue
        keys[key.kid] = key
    return keys
