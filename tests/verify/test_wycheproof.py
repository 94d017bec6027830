"""Every Wycheproof vector for the five algorithms through the JWS signature layer.

A Wycheproof message is arbitrary bytes while a JWS signing input is always
`b64(header).b64(payload)`, so a vector cannot be wrapped byte for byte into a compact
token. Each vector's public key is loaded through the JWKS loader (kid and alg added, as a
JWKS would carry them) and the vector goes through the same `check_signature` the
validator calls, with the message as signing input and the signature as the JWS
signature bytes (P1363 r||s for ECDSA): "invalid" rejected, "valid" accepted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import load_der_public_key

from signward.errors import Rejected
from signward.keys import public_jwk
from signward.verify import load_key
from signward.verify.jws import ParsedJws
from signward.verify.validator import check_signature

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "wycheproof"
FILES = {
    "ecdsa_secp256r1_sha256_p1363_test.json": "ES256",
    "ecdsa_secp384r1_sha384_p1363_test.json": "ES384",
    "rsa_signature_2048_sha256_test.json": "RS256",
    "rsa_pss_2048_sha256_mgf1_32_test.json": "PS256",
    "ed25519_test.json": "EdDSA",
}


def load_cases() -> list[Any]:
    cases = []
    for name, alg in FILES.items():
        data = json.loads((VECTORS / name).read_text())
        for gi, group in enumerate(data["testGroups"]):
            jwk = dict(group.get("publicKeyJwk") or group.get("keyJwk") or {})
            if not jwk:  # some groups carry only DER (e.g. keys with unusual coordinates)
                jwk = public_jwk(load_der_public_key(bytes.fromhex(group["publicKeyDer"])))  # type: ignore[arg-type]
            jwk = {k: v for k, v in jwk.items() if k in ("kty", "crv", "x", "y", "n", "e")}
            for test in group["tests"]:
                cases.append(pytest.param(alg, jwk, test, id=f"{alg}-{gi}-{test['tcId']}"))
    return cases


CASES = load_cases()
# "acceptable" vectors and what signward decides: a PKCS#1 v1.5 DigestInfo without the NULL
# parameter is refused (one encoding per signature; OpenSSL's verify refuses it too)
ACCEPTABLE: dict[tuple[str, ...], bool] = {("MissingNull",): False}


def test_vector_count() -> None:
    assert len(CASES) == 262 + 280 + 259 + 108 + 151


@pytest.mark.parametrize("alg,jwk,test", CASES)
def test_vector(alg: str, jwk: dict[str, Any], test: dict[str, Any]) -> None:
    key = load_key({**jwk, "kid": "w", "alg": alg}, "https://wycheproof.example")
    parsed = ParsedJws(header={"alg": alg}, payload=b"", signing_input=bytes.fromhex(test["msg"]),
                       signature=bytes.fromhex(test["sig"]))
    try:
        check_signature(key, parsed)
        accepted = True
    except Rejected:
        accepted = False
    if test["result"] == "valid":
        assert accepted, test["comment"]
    elif test["result"] == "invalid":
        assert not accepted, test["comment"]
    else:  # "acceptable": the standard allows either; strict by default, so each is decided here
        flags = tuple(test["flags"])
        assert test["result"] == "acceptable" and flags in ACCEPTABLE, test
        assert accepted is ACCEPTABLE[flags], test["comment"]
