"""Canaries: known keys a service plants in its own memory so every dump of it proves the
scanner works on that dump. A silent miss becomes a loud one.

`make_canary(path)` writes canary material (an RSA, an EC and an Ed25519 key and an AES
key, plus their public description) with mode 0600; `kinds` narrows it to the key types a
deployment signs with (RSA and AES at least), which spares every scan of its dumps the
bounded full passes for curves it does not use. `hold_canaries(path)` is the one call
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
from ..scan.findings import Finding
from ..scan.knownkeys import KnownKey, KnownKeys, aes_key_id, known_key

_HELD: list[Any] = []  # what hold_canaries keeps alive for the life of the process


def _pem(key: Any, fmt: serialization.PrivateFormat = serialization.PrivateFormat.PKCS8) -> str:
    return bytes(key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())).decode()


def whole_at_both_ends(secret: bytes) -> bool:
    """Whether a secret's bytes begin and end nonzero. The scanner takes a window for an EC
    scalar or Ed25519 seed only if one of its end bytes is nonzero (zero-ended windows are
    pointers and padding); a canary is made so that it is found in every byte order."""
    return secret[0] != 0 and secret[-1] != 0


def _ec_canary() -> ec.EllipticCurvePrivateKey:
    while True:
        key = ec.generate_private_key(ec.SECP256R1())
        if whole_at_both_ends(key.private_numbers().private_value.to_bytes(32, "big")):
            return key


def _ed25519_canary() -> ed25519.Ed25519PrivateKey:
    while True:
        key = ed25519.Ed25519PrivateKey.generate()
        if whole_at_both_ends(key.private_bytes_raw()):
            return key


KINDS = ("rsa", "ec", "ed25519", "aes")
REQUIRED_KINDS = ("rsa", "aes")


def canary_kinds(kinds: Iterable[str] | str | None) -> tuple[str, ...]:
    """Validated canary kinds ('rsa,aes' or a list; None: all of them)."""
    if kinds is None:
        return KINDS
    wanted = {k.strip() for k in (kinds.split(",") if isinstance(kinds, str) else kinds) if k.strip()}
    unknown = sorted(wanted - set(KINDS))
    if unknown or not set(REQUIRED_KINDS) <= wanted:
        raise UsageError(f"canary kinds must include {', '.join(REQUIRED_KINDS)} and be among {', '.join(KINDS)}"
                         + (f" (unknown: {', '.join(unknown)})" if unknown else ""))
    return tuple(k for k in KINDS if k in wanted)


@dataclass(frozen=True)
class CanaryMade:
    """What `make_canary` wrote: the file, and the public half a scanner is given (the keys'
    JWKs and the AES key's id, as `Canary.public`)."""

    file: str
    keys: tuple[dict[str, Any], ...]  # a public JWK (with its kid) for each private key
    secret_ids: tuple[str, ...]  # the kid of each secret key (the AES key)

    def to_dict(self) -> dict[str, Any]:
        """The JSON of `dumps canary`."""
        return {"file": self.file, "public": {"keys": list(self.keys), "secret_ids": list(self.secret_ids)}}


def make_canary(path: str | Path, now: float, kinds: Iterable[str] | str | None = None) -> CanaryMade:
    """Write fresh canary material to `path` (mode 0600, not overwritten); returns what it wrote
    with its public part."""
    chosen = canary_kinds(kinds)
    document: dict[str, Any] = {"signward_canary": 1, "created": iso(now),
                                "rsa": _pem(rsa.generate_private_key(65537, 2048)), "aes": os.urandom(32).hex()}
    if "ec" in chosen:
        document["ec"] = _pem(_ec_canary())
    if "ed25519" in chosen:
        document["ed25519"] = _pem(_ed25519_canary())
    canary = Canary.from_document(document, str(path))
    document["public"] = canary.public()
    target = Path(path)
    try:
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise UsageError(f"{target} exists; canary material is never overwritten") from None
    with os.fdopen(descriptor, "w") as handle:
        json.dump(document, handle, indent=2)
    public = canary.public()
    return CanaryMade(str(path), tuple(public["keys"]), tuple(public["secret_ids"]))


@dataclass
class Canary:
    """Loaded canary material: the private keys (to plant) and their known public halves.
    `ec` and `ed25519` are None in material made for fewer kinds."""

    rsa: rsa.RSAPrivateKey
    ec: ec.EllipticCurvePrivateKey | None
    ed25519: ed25519.Ed25519PrivateKey | None
    aes: bytes
    source: str = ""

    @classmethod
    def from_document(cls, document: Any, source: str) -> "Canary":
        try:
            keys = [serialization.load_pem_private_key(document[name].encode(), None)
                    if name == "rsa" or document.get(name) is not None else None
                    for name in ("rsa", "ec", "ed25519")]
            aes = bytes.fromhex(document["aes"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise UsageError(f"{source}: not signward canary material ({exc.__class__.__name__}: {exc})") from None
        rsa_key, ec_key, ed_key = keys
        if not (isinstance(rsa_key, rsa.RSAPrivateKey) and isinstance(ec_key, (ec.EllipticCurvePrivateKey, type(None)))
                and isinstance(ed_key, (ed25519.Ed25519PrivateKey, type(None))) and len(aes) == 32):
            raise UsageError(f"{source}: canary material has the wrong key types")
        return cls(rsa_key, ec_key, ed_key, aes, source)

    @classmethod
    def load(cls, path: str | Path) -> "Canary":
        try:
            document = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise UsageError(f"canary {path}: cannot read ({exc})") from None
        return cls.from_document(document, str(path))

    def _private(self) -> dict[str, Any]:
        return {name: key for name, key in (("rsa", self.rsa), ("ec", self.ec), ("ed25519", self.ed25519))
                if key is not None}

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(k for k in KINDS if k == "aes" or k in self._private())

    def known_keys(self) -> list[KnownKey]:
        keys = [known_key(k.public_key(), None, self.source) for k in self._private().values()]
        return [k for k in keys if k is not None]

    @cached_property
    def kids(self) -> dict[str, str]:
        kids = {name: known.kid for name, known in zip(self._private(), self.known_keys(), strict=True)}
        return {**kids, "aes": aes_key_id(self.aes)}

    def public(self) -> dict[str, Any]:
        importers: dict[str, Any] = {"rsa": RSAKey, "ec": ECKey, "ed25519": OKPKey}
        jwks = [dict(importers[name].import_key(key.public_key()).as_dict(), kid=self.kids[name])
                for name, key in self._private().items()]
        return {"keys": jwks, "secret_ids": [self.kids["aes"]]}

    def expected(self) -> dict[str, tuple[str, str, str | None]]:
        """Representation name -> (detector, kid, encoding or None for any), for the kinds held."""
        kids = self.kids
        every = {
            "rsa-in-memory": ("rsa", "known-key", None),
            "ec-in-memory": ("ec", "known-key", None),
            "ed25519-in-memory": ("ed25519", "known-key", None),
            "rsa-pem-ascii": ("rsa", "text", "ascii"),
            "rsa-pem-utf16le": ("rsa", "text", "utf-16le"),
            "rsa-der": ("rsa", "der", None),
            "ec-jwk": ("ec", "text", "ascii"),
            "ed25519-der": ("ed25519", "der", None),
            "aes-schedule": ("aes", "aes", None),
        }
        return {name: (detector, kids[kind], encoding) for name, (kind, detector, encoding) in every.items()
                if kind in kids}

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


def hold_canaries(path: str | Path) -> Canary:
    """Load canary material and keep it in this process's memory in every detectable form."""
    canary = Canary.load(path)
    encryptor = Cipher(algorithms.AES(canary.aes), modes.CTR(b"\0" * 16)).encryptor()
    _HELD.extend([
        canary,  # live key objects: OpenSSL keeps primes, d and the EC scalar as limbs, the seed raw
        bytearray(_pem(canary.rsa).encode()),
        _pem(canary.rsa, serialization.PrivateFormat.TraditionalOpenSSL).encode("utf-16-le"),
        bytearray(canary.rsa.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption())),
        encryptor, encryptor.update(b"\0" * 64),  # an AES key schedule in use
    ])
    if canary.ec is not None:
        jwk_text = json.dumps(ECKey.import_key(canary.ec).as_dict(private=True, kid=canary.kids["ec"]))
        _HELD.append(bytearray(jwk_text.encode()))
    if canary.ed25519 is not None:
        _HELD.append(bytearray(canary.ed25519.private_bytes(serialization.Encoding.DER,
                                                            serialization.PrivateFormat.PKCS8,
                                                            serialization.NoEncryption())))
    return canary


__all__ = ["KINDS", "Canary", "CanaryMade", "canary_kinds", "hold_canaries", "make_canary", "whole_at_both_ends"]
