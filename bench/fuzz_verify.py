"""Coverage-guided fuzzing of the strict JWS parser and the validator (atheris / libFuzzer).

Any exception escaping `Validator.verify` or an accepted token is a crash. Run long with:
    .venv/bin/python bench/fuzz_verify.py -runs=2000000 -max_len=4096
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from signward.verify import Validator
    from signward.verify.jws import parse

from cryptography.hazmat.primitives.asymmetric import ec

from signward.clock import FixedClock
from signward.keys import public_jwk, thumbprint

KEY = ec.generate_private_key(ec.SECP256R1())
ISSUER = "https://login.example.com/realms/enterprise"
JWKS = Path(tempfile.mkdtemp()) / "jwks.json"
JWKS.write_text(json.dumps({"keys": [{**public_jwk(KEY.public_key()), "kid": thumbprint(KEY.public_key()),
                                      "alg": "ES256"}]}))
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


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
