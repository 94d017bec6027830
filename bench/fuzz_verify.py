"""Coverage-guided fuzzing of the strict JWS parser and the validator (atheris / libFuzzer).

Any exception escaping `Validator.verify`, a verdict of `internal_error` (a bug the validator
caught) or an accepted token is a crash. Each input is tried twice: as a whole token, and as
the payload of a token signed by the trusted key (so the fuzzer reaches the claim checks).
Run long with:
    .venv/bin/python bench/fuzz_verify.py -runs=2000000 -max_len=4096
"""

from __future__ import annotations

import base64
import json
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from signward.verify import Validator
    from signward.verify.jws import parse

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from signward.clock import FixedClock
from signward.keys import public_jwk, thumbprint

KEY = ec.generate_private_key(ec.SECP256R1())
ISSUER = "https://login.example.com/realms/enterprise"
JWKS = Path(tempfile.mkdtemp()) / "jwks.json"
JWKS.write_text(json.dumps({"keys": [{**public_jwk(KEY.public_key()), "kid": thumbprint(KEY.public_key()),
                                      "alg": "ES256"}]}))
KID = thumbprint(KEY.public_key())
VALIDATOR = Validator(trust={ISSUER: str(JWKS)}, audience="mail", clock=FixedClock(1_800_000_000))


def one_input(data: bytes) -> None:
    try:
        parse(data)
    except Exception as exc:  # parse may reject, but only with Rejected
        from signward.errors import Rejected

        if not isinstance(exc, Rejected):
            raise
    verdict = VALIDATOR.verify(data)
    if verdict.valid:
        raise AssertionError("a fuzzed input was accepted")
    signed = VALIDATOR.verify(_signed(data))
    if VALIDATOR.internal_errors:
        raise AssertionError(f"the validator hit an internal error ({verdict.detail or signed.detail})")


def _signed(payload: bytes) -> str:
    """`payload` as the claims of a token signed by the trusted key."""
    head = base64.urlsafe_b64encode(json.dumps({"alg": "ES256", "kid": KID, "typ": "at+jwt"}).encode())
    body = base64.urlsafe_b64encode(payload)
    signing_input = head.rstrip(b"=") + b"." + body.rstrip(b"=")
    r, s = decode_dss_signature(KEY.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    signature = base64.urlsafe_b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).rstrip(b"=")
    return (signing_input + b"." + signature).decode()


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
