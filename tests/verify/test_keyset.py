"""JWKS documents are checked as they load: bad keys are dropped, never trusted."""

from __future__ import annotations

import logging

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from signward.verify import load_jwks
from tests.verify.forge import KID_STYLES, b64, new_key

ISS = "https://login.example.com/realms/enterprise"


@pytest.mark.parametrize("kid_style", KID_STYLES)
def test_good_keys_load(kid_style: str) -> None:
    """Under their thumbprints or under a third party's names: loaded by the kid as published."""
    keys = [new_key(a).named(f"2024-0{i}" if kid_style == "named" else None)
            for i, a in enumerate(("ES256", "ES384", "RS256", "PS256", "EdDSA"), 1)]
    loaded = load_jwks({"keys": [k.jwk() for k in keys]}, ISS)
    assert set(loaded) == {k.kid for k in keys}
    assert {v.kid: v.thumbprint for v in loaded.values()} == {k.kid: k.thumbprint for k in keys}
    assert {v.alg.value for v in loaded.values()} == {"ES256", "ES384", "RS256", "PS256", "EdDSA"}


@pytest.mark.parametrize("mutate", [
    lambda j: j.pop("kid"),
    lambda j: j.update(d="AAAA"),
    lambda j: j.update(k="AAAA"),
    lambda j: j.update(alg="ES384"),
    lambda j: j.update(crv="P-384"),
    lambda j: j.update(alg="HS256"),
    lambda j: j.update(kty="oct"),
    lambda j: j.update(issuer="https://login.example.com/realms/consumer"),
    lambda j: j.update(use="enc"),
    lambda j: j.update(exp="tomorrow"),
])
def test_bad_ec_keys_are_dropped_with_a_log_line(mutate: object, caplog: pytest.LogCaptureFixture) -> None:
    jwk = new_key("ES256").jwk()
    mutate(jwk)  # type: ignore[operator]
    with caplog.at_level(logging.WARNING, logger="signward.verify.keyset"):
        assert load_jwks({"keys": [jwk]}, ISS) == {}
    assert "dropped key" in caplog.text


def test_small_rsa_and_unnamed_rsa_alg_dropped() -> None:
    small = rsa.generate_private_key(65537, 1024).public_key().public_numbers()
    jwk = {"kty": "RSA", "n": b64(small.n.to_bytes(128, "big")), "e": "AQAB", "kid": "small", "alg": "RS256"}
    assert load_jwks({"keys": [jwk]}, ISS) == {}
    no_alg = {k: v for k, v in new_key("RS256").jwk().items() if k != "alg"}
    assert load_jwks({"keys": [no_alg]}, ISS) == {}
    private = new_key("RS256")
    assert load_jwks({"keys": [{**private.jwk(), "p": "AQAB"}]}, ISS) == {}


@pytest.mark.parametrize("kid_style", KID_STYLES)
def test_duplicate_kids_are_ambiguous(kid_style: str) -> None:
    a, b = new_key("ES256").named("key-1" if kid_style == "named" else None), new_key("ES256")
    assert load_jwks({"keys": [a.jwk(), {**b.jwk(), "kid": a.kid}, {**b.jwk(), "kid": a.kid}]}, ISS) == {}


def test_not_a_jwks() -> None:
    with pytest.raises(ValueError):
        load_jwks([], ISS)
    with pytest.raises(ValueError):
        load_jwks({"keys": {}}, ISS)
