"""A signing backend opened on first use.

The composition root hands the registry and the audit log this proxy, so commands that
only read (list keys, verify the audit chain, scan a dump) never need the HSM to run, and
every command that signs or generates opens it exactly once. Its `name` and
`holds_keys_in_process` come from the configuration, so reading them opens nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from ..algorithms import Alg, PublicKey
from .base import KeyAttributes, SigningBackend


class LazyBackend:
    """Forwards every call to the backend `opener` returns, calling `opener` once."""

    def __init__(self, opener: Callable[[], SigningBackend], name: str, holds_keys_in_process: bool) -> None:
        self._opener = opener
        self._backend: SigningBackend | None = None
        self._lock = threading.Lock()
        self.name = name
        self.holds_keys_in_process = holds_keys_in_process

    @property
    def opened(self) -> bool:
        return self._backend is not None

    def get(self) -> SigningBackend:
        """The real backend (opening it now if it is not open yet)."""
        backend = self._backend  # open already: no lock per signature
        if backend is not None:
            return backend
        with self._lock:
            if self._backend is None:
                self._backend = self._opener()
            return self._backend

    def generate(self, alg: Alg, label: str, rsa_bits: int = 2048) -> tuple[str, PublicKey]:
        return self.get().generate(alg, label, rsa_bits)

    def public_key(self, handle: str, alg: Alg) -> PublicKey:
        return self.get().public_key(handle, alg)

    def raw_sign(self, handle: str, alg: Alg, data: bytes) -> bytes:
        return self.get().raw_sign(handle, alg, data)

    def destroy(self, handle: str) -> None:
        self.get().destroy(handle)

    def attributes(self) -> list[KeyAttributes]:
        return self.get().attributes()

    def status(self) -> dict[str, object]:
        return self.get().status()

    def close(self) -> None:
        with self._lock:
            backend, self._backend = self._backend, None
        if backend is not None:
            backend.close()


__all__ = ["LazyBackend"]
