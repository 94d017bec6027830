"""The attacker on its own: it finds a published key's private half in bytes, rebuilds the key,
and forges a token the real validator accepts; bytes without the key give it nothing."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey

from signward.clock import FixedClock
from signward.lab import forge_token, steal_keys
from signward.verify import Validator

ISSUER = "https://login.consumer.lab"
NOW = 1_800_000_000.0
HEAP = (0x7F3A_2C00_1000).to_bytes(8, "little") + (42).to_bytes(8, "little") + b"PyObject"  # 24 bytes


def published(key: rsa.RSAPrivateKey) -> dict[str, object]:
    jwk = RSAKey.import_key(key.public_key()).as_dict()
    jwk.update(kid=RSAKey.import_key(key.public_key()).thumbprint(), alg="RS256", use="sig", issuer=ISSUER)
    return {"keys": [jwk]}


def test_a_prime_in_memory_becomes_a_token_the_validator_accepts(tmp_path: Path) -> None:
    key = rsa.generate_private_key(65537, 2048)
    prime = key.private_numbers().p
    dump = tmp_path / "heap.bin"  # the prime as OpenSSL keeps it: little-endian limbs, 8-byte aligned, in a
    heap = HEAP * 2000          # heap of pointers and small integers (dense random blocks are skipped)
    dump.write_bytes(heap + prime.to_bytes(128, "little") + heap)
    jwks = published(key)
    (stolen,) = steal_keys(dump, [jwks])
    assert stolen.kid == jwks["keys"][0]["kid"] and stolen.alg == "RS256" and stolen.issuer == ISSUER  # type: ignore[index]
    assert "rsa-prime" in stolen.found_as

    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(jwks))
    token = forge_token(stolen, issuer=ISSUER, subject="victim", tenant="consumers", audience="mail", now=NOW)
    with Validator(trust={ISSUER: str(keys)}, audience="mail", clock=FixedClock(NOW)) as validator:
        verdict = validator.verify(token)
    assert verdict.valid, verdict
    assert verdict.claims is not None and verdict.claims["sub"] == "victim"


def test_bytes_without_the_key_give_nothing(tmp_path: Path) -> None:
    key = rsa.generate_private_key(65537, 2048)
    other = rsa.generate_private_key(65537, 2048)
    dump = tmp_path / "heap.bin"  # another key's prime: not a published key's half
    dump.write_bytes(HEAP * 200 + other.private_numbers().p.to_bytes(128, "little") + HEAP * 200)
    assert steal_keys(dump, [published(key)]) == []
