"""Files of many short base64 values (request ids, SHA-256 digests) with an EC scalar that may
stand in for one of them: the inputs of the tests of the bounds that grow with the file (the
scanner's lone-value candidates, the independent reader's view budget)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from signward.scan.knownkeys import KnownKeys, known_key


@dataclass(frozen=True)
class ShortValues:
    """`count` digests of `pattern % i`; `scalar` (a P-256 private scalar) in place of value `at`."""

    pattern: bytes
    count: int
    at: int
    scalar: bytes

    def known(self) -> KnownKeys:
        """The scalar's public key, known to the readers."""
        key = known_key(ec.derive_private_key(int.from_bytes(self.scalar, "big"), ec.SECP256R1()).public_key())
        assert key is not None
        return KnownKeys([key])

    def values(self, with_key: bool) -> list[bytes]:
        values = [hashlib.sha256(self.pattern % i).digest() for i in range(self.count)]
        if with_key:
            values[self.at] = self.scalar
        return values

    def ids_log(self, with_key: bool) -> bytes:
        """A log line a value, each as a 43-character base64url id."""
        return b"".join(b"req " + base64.urlsafe_b64encode(v).rstrip(b"=") + b" ok\n" for v in self.values(with_key))

    def digests_json(self, with_key: bool) -> bytes:
        """A JSON array of the values in base64."""
        return b"[\n" + b",\n".join(b'"' + base64.b64encode(v) + b'"' for v in self.values(with_key)) + b"\n]\n"
