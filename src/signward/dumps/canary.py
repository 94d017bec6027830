"""Canaries: known keys a service plants in its own memory so every dump of it proves the
scanner works on that dump. A silent miss becomes a loud one.

`make_canary(path)` writes canary material (an RSA, an EC and an Ed25519 key and an AES
key, plus their public description) with mode 0600. `hold_canaries(path)` is the one call
a service makes at start: it keeps each canary in memory in the encodings the detectors
look for (live key objects, PEM text in ASCII and UTF-16LE, a JWK, DER, a running AES
cipher). `Canary.expected` names those representations; `Canary.check` tells which a scan
found. The canary keys sign nothing: they exist only to be found.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from joserfc.jwk import ECKey, OKPKey, RSAKey

from ..clock import iso
from ..errors import UsageError
from .findings import Finding
from .knownkeys import KnownKey, KnownKeys, aes_key_id, known_key

_HELD: list[Any] = []  # what hold_canaries keeps alive for the life of the process


def _pem(key: Any, fmt: serialization.PrivateFormat = serialization.PrivateFormat.PKCS8) -> str:
    return bytes(key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())).decode()


def make_canary(path: str | Path, now: float) -> dict[str, Any]:
    """Write fresh canary material to `path` (mode 0600, not overwritten); returns its public part."""
    rsa_key = rsa.generate_private_key(65537, 2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ed_key = ed25519.Ed25519PrivateKey.generate()
    aes = os.urandom(32)
    document: dict[str, Any] = {
        "signward_canary": 1,
        "created": iso(now),
        "rsa": _pem(rsa_key), "ec": _pem(ec_key), "ed25519": _pem(ed_key), "aes": aes.hex(),
    }
    canary = Canary.from_document(document, str(path))
    document["public"] = canary.public()
    target = Path(path)
    try:
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise UsageError(f"{target} exists; canary material is never overwritten") from None
    with os.fdopen(descriptor, "w") as handle:
        json.dump(document, handle, indent=2)
    return canary.public()


@dataclass
class Canary:
    """Loaded canary material: the private keys (to plant) and their known public halves."""

    rsa: rsa.RSAPrivateKey
    ec: ec.EllipticCurvePrivateKey
    ed25519: ed25519.Ed25519PrivateKey
    aes: bytes
    source: str = ""

    @classmethod
    def from_document(cls, document: Any, source: str) -> "Canary":
        try:
            keys = [serialization.load_pem_private_key(document[name].encode(), None)
                    for name in ("rsa", "ec", "ed25519")]
            aes = bytes.fromhex(document["aes"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise UsageError(f"{source}: not signward canary material ({exc.__class__.__name__}: {exc})") from None
        if not (isinstance(keys[0], rsa.RSAPrivateKey) and isinstance(keys[1], ec.EllipticCurvePrivateKey)
                and isinstance(keys[2], ed25519.Ed25519PrivateKey) and len(aes) == 32):
            raise UsageError(f"{source}: canary material has the wrong key types")
        return cls(keys[0], keys[1], keys[2], aes, source)

    @classmethod
    def load(cls, path: str | Path) -> "Canary":
        try:
            document = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise UsageError(f"canary {path}: cannot read ({exc})") from None
        return cls.from_document(document, str(path))

    def known_keys(self) -> list[KnownKey]:
        keys = [known_key(k.public_key(), None, self.source) for k in (self.rsa, self.ec, self.ed25519)]
        return [k for k in keys if k is not None]

    @cached_property
    def kids(self) -> dict[str, str]:
        rsa_k, ec_k, ed_k = self.known_keys()
        return {"rsa": rsa_k.kid, "ec": ec_k.kid, "ed25519": ed_k.kid, "aes": aes_key_id(self.aes)}

    def public(self) -> dict[str, Any]:
        kids = self.kids
        jwks = [dict(RSAKey.import_key(self.rsa.public_key()).as_dict(), kid=kids["rsa"]),
                dict(ECKey.import_key(self.ec.public_key()).as_dict(), kid=kids["ec"]),
                dict(OKPKey.import_key(self.ed25519.public_key()).as_dict(), kid=kids["ed25519"])]
        return {"keys": jwks, "secret_ids": [kids["aes"]]}

    def expected(self) -> dict[str, tuple[str, str, str | None]]:
        """Representation name -> (detector, kid, encoding or None for any)."""
        kids = self.kids
        return {
            "rsa-in-memory": ("known-key", kids["rsa"], None),
            "ec-in-memory": ("known-key", kids["ec"], None),
            "ed25519-in-memory": ("known-key", kids["ed25519"], None),
            "rsa-pem-ascii": ("text", kids["rsa"], "ascii"),
            "rsa-pem-utf16le": ("text", kids["rsa"], "utf-16le"),
            "ec-jwk": ("text", kids["ec"], "ascii"),
            "ed25519-der": ("der", kids["ed25519"], None),
            "aes-schedule": ("aes", kids["aes"], None),
        }

    def check(self, findings: Iterable[Finding]) -> list[str]:
        """Which expected representations these findings include."""
        seen = {(f.detector, f.kid, f.encoding) for f in findings if f.kid} | \
            {(f.detector, f.kid, None) for f in findings if f.kid}
        return sorted(name for name, wanted in self.expected().items() if wanted in seen)

    def add_to(self, known: KnownKeys) -> None:
        """Make a scan look for these canaries too."""
        for key in self.known_keys():
            known.add(key)
        known.secret_ids.add(aes_key_id(self.aes))

    def kid_set(self) -> set[str]:
        return set(self.kids.values())


def hold_canaries(path: str | Path) -> Canary:
    """Load canary material and keep it in this process's memory in every detectable form."""
    canary = Canary.load(path)
    jwk_text = json.dumps(ECKey.import_key(canary.ec).as_dict(private=True, kid=canary.kids["ec"]))
    encryptor = Cipher(algorithms.AES(canary.aes), modes.CTR(b"\0" * 16)).encryptor()
    _HELD.extend([
        canary,  # live key objects: OpenSSL keeps primes, d and the EC scalar as limbs, the seed raw
        bytearray(_pem(canary.rsa).encode()),
        _pem(canary.rsa, serialization.PrivateFormat.TraditionalOpenSSL).encode("utf-16-le"),
        bytearray(jwk_text.encode()),
        bytearray(canary.ed25519.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption())),
        encryptor, encryptor.update(b"\0" * 64),  # an AES key schedule in use
    ])
    return canary


__all__ = ["Canary", "hold_canaries", "make_canary"]
