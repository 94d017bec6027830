"""HAZARDOUS: an in-process software signer. Do not use it; use the PKCS#11 backend.

This backend holds private keys in this process's memory (through `cryptography`), where
a crash dump of the process captures them: exactly the weakness of the 2021 Storm-0558
signing service. It exists only as the deliberately weak baseline of the lab. The service
refuses to start with it unless the configuration says `allow_insecure_software_keys = true`,
and it logs a warning every time it is opened. The safe alternative is
`signward.hsm.Pkcs11Backend` (keys generated inside an HSM, never in process memory).
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from ..algorithms import RSA_BITS_ALLOWED, SPECS, Alg, PublicKey
from ..errors import AlgorithmUnsupported, KeyNotFound
from .base import KeyAttributes

log = logging.getLogger("signward.hsm.hazmat")
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
CURVES = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1}


class InsecureSoftwareBackend:
    """Keys as PEM files in the home and as objects in this process. Lab use only."""

    name = "insecure-software"
    holds_keys_in_process = True

    def __init__(self, directory: Path) -> None:
        log.warning("INSECURE: signing keys are held in process memory (allow_insecure_software_keys); "
                    "a crash dump of this process contains them")
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        self._keys: dict[str, PrivateKey] = {}
        self._lock = threading.Lock()

    def _path(self, handle: str) -> Path:
        if not handle.isalnum():
            raise KeyNotFound(f"bad key handle {handle!r}")
        return self.directory / f"{handle}.pem"

    def _load(self, handle: str) -> PrivateKey:
        key = self._keys.get(handle)
        if key is None:
            path = self._path(handle)
            if not path.exists():
                raise KeyNotFound(f"software key {handle} not found in {self.directory}")
            loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(loaded, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)):
                raise KeyNotFound(f"software key {handle} has an unsupported type")
            key = loaded
            with self._lock:
                self._keys[handle] = key
        return key

    def generate(self, alg: Alg, label: str, rsa_bits: int = 2048) -> tuple[str, PublicKey]:
        spec = SPECS[alg]
        key: PrivateKey
        if spec.kty == "RSA":
            if rsa_bits not in RSA_BITS_ALLOWED:
                raise AlgorithmUnsupported(f"RSA keys must have {RSA_BITS_ALLOWED} bits, not {rsa_bits}")
            key = rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
        elif spec.kty == "EC":
            key = ec.generate_private_key(CURVES[spec.curve or ""]())
        else:
            key = ed25519.Ed25519PrivateKey.generate()
        handle = secrets.token_hex(16)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        fd = os.open(self._path(handle), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, pem)
        finally:
            os.close(fd)
        with self._lock:
            self._keys[handle] = key
        return handle, key.public_key()

    def public_key(self, handle: str, alg: Alg) -> PublicKey:
        return self._load(handle).public_key()

    def raw_sign(self, handle: str, alg: Alg, data: bytes) -> bytes:
        key = self._load(handle)
        spec = SPECS[alg]
        if isinstance(key, ec.EllipticCurvePrivateKey) and spec.hash is not None:
            r, s = decode_dss_signature(key.sign(data, ec.ECDSA(spec.hash())))
            return r.to_bytes(spec.field_bytes, "big") + s.to_bytes(spec.field_bytes, "big")
        if isinstance(key, rsa.RSAPrivateKey):
            pad: padding.AsymmetricPadding = (padding.PKCS1v15() if alg is Alg.RS256
                                              else padding.PSS(padding.MGF1(hashes.SHA256()), 32))
            return key.sign(data, pad, hashes.SHA256())
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(data)
        raise AlgorithmUnsupported(f"key {handle} cannot sign {alg.value}")

    def destroy(self, handle: str) -> None:
        with self._lock:
            self._keys.pop(handle, None)
        self._path(handle).unlink(missing_ok=True)

    def attributes(self) -> list[KeyAttributes]:
        return [KeyAttributes(handle=p.stem, sensitive=False, extractable=True, value_readable=True,
                              in_token=False) for p in sorted(self.directory.glob("*.pem"))]

    def status(self) -> dict[str, object]:
        return {"module": "in-process software keys (INSECURE)", "token": None,
                "private_keys": len(list(self.directory.glob("*.pem"))),
                "algorithms": [a.value for a in Alg]}

    def close(self) -> None:
        with self._lock:
            self._keys.clear()
