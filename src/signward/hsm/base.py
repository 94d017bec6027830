"""The signing-backend seam: keys are handles, never bytes.

A backend makes a key inside itself and hands back an opaque `handle` and the public key.
Nobody can ask a backend for private material. Every signature is checked against the
public key before it leaves (`CheckedSigner`), because SoftHSM has had intermittent bad
ECDSA signatures and a bad signature is an outage the validator would find anyway.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from ..algorithms import Alg, PublicKey, signature_ok
from ..errors import SignatureCheckFailed


@dataclass(frozen=True)
class KeyAttributes:
    """What the backend reports about a private key object (never its value)."""

    handle: str
    sensitive: bool
    extractable: bool
    value_readable: bool
    in_token: bool


class SigningBackend(Protocol):
    name: str
    holds_keys_in_process: bool

    def generate(self, alg: Alg, label: str, rsa_bits: int = 2048) -> tuple[str, PublicKey]:
        """Make a key pair inside the backend; return (handle, public key)."""
        ...

    def public_key(self, handle: str, alg: Alg) -> PublicKey: ...

    def raw_sign(self, handle: str, alg: Alg, data: bytes) -> bytes:
        """Sign `data` (the JWS signing input); ECDSA returns r||s of fixed size."""
        ...

    def destroy(self, handle: str) -> None: ...

    def attributes(self) -> list[KeyAttributes]: ...

    def status(self) -> dict[str, object]: ...

    def close(self) -> None: ...


class CheckedSigner:
    """Signs through a backend and verifies every signature before returning it."""

    def __init__(self, backend: SigningBackend) -> None:
        self.backend = backend
        self._public: dict[str, PublicKey] = {}
        self._lock = threading.Lock()

    def public_key(self, handle: str, alg: Alg) -> PublicKey:
        """The public key every signature of `handle` is checked against (the backend's, cached)."""
        return self._public_key(handle, alg)

    def _public_key(self, handle: str, alg: Alg) -> PublicKey:
        key = self._public.get(handle)
        if key is None:
            key = self.backend.public_key(handle, alg)
            with self._lock:
                self._public[handle] = key
        return key

    def sign(self, handle: str, alg: Alg, data: bytes) -> bytes:
        public = self._public_key(handle, alg)
        for _ in range(2):
            signature = self.backend.raw_sign(handle, alg, data)
            if signature_ok(public, alg, data, signature):
                return signature
        raise SignatureCheckFailed(f"the {self.backend.name} backend returned signatures that do not verify "
                                   f"(key {handle})")
