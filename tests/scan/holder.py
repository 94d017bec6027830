"""A process that holds private keys in memory the way real services do, for dump tests.

Usage: python holder.py OUT_DIR WHAT...   WHAT: rsa ec ed25519 aes pem jwk utf16 pyints none canary=FILE
Writes OUT_DIR/public.jwks (the public keys), OUT_DIR/secrets.json (what an independent
check looks for), prints "ready" and sleeps until killed.

The JWKs are written here with the standard library, not with joserfc: importing joserfc made
4 MB of the process's 15 MB core (its modules' heap), bytes every sanitize and scan of these
cores read again and that no test is about. The members and their order are joserfc's.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

HELD: list[object] = []


def _b64(value: int | bytes, size: int = 0) -> str:
    raw = value if isinstance(value, bytes) else value.to_bytes(size or (value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def rsa_jwk(public: rsa.RSAPublicKey) -> dict[str, str]:
    numbers = public.public_numbers()
    return {"n": _b64(numbers.n), "e": _b64(numbers.e), "kty": "RSA"}


def ec_jwk(key: ec.EllipticCurvePrivateKey, private: bool = False) -> dict[str, str]:
    point = key.public_key().public_numbers()
    jwk = {"crv": "P-256", "x": _b64(point.x, 32), "y": _b64(point.y, 32)}
    if private:
        jwk["d"] = _b64(key.private_numbers().private_value, 32)
    return {**jwk, "kty": "EC"}


def okp_jwk(public: ed25519.Ed25519PublicKey) -> dict[str, str]:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"crv": "Ed25519", "x": _b64(raw), "kty": "OKP"}


def main() -> None:
    out, what = sys.argv[1], set(sys.argv[2:])
    jwks, secrets = [], {}
    if "rsa" in what or "pem" in what or "utf16" in what:
        key = rsa.generate_private_key(65537, 2048)
        HELD.append(key)
        jwks.append(rsa_jwk(key.public_key()))
        numbers = key.private_numbers()
        secrets["rsa_n"] = str(numbers.public_numbers.n)
        if "pyints" in what:  # the values as Python ints, as a JWK export leaves them
            HELD.append(numbers)
            secrets["rsa_p"] = str(numbers.p)
        if "pem" in what:
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            HELD.append(bytearray(pem))  # a heap copy of the text
            secrets["pem"] = True
        if "utf16" in what:
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption())
            HELD.append(pem.decode().encode("utf-16-le"))
    if "ec" in what or "jwk" in what:
        key = ec.generate_private_key(ec.SECP256R1())
        HELD.append(key)
        jwks.append(ec_jwk(key))
        if "pyints" in what:
            HELD.append(key.private_numbers())
            secrets["ec_scalar"] = str(key.private_numbers().private_value)
        if "jwk" in what:
            private = ec_jwk(key, private=True)
            HELD.append(json.dumps(private).encode())
    if "ed25519" in what:
        key = ed25519.Ed25519PrivateKey.generate()
        HELD.append(key)
        jwks.append(okp_jwk(key.public_key()))
    for item in what:
        if item.startswith("canary="):
            from signward.dumps.canary import hold_canaries

            hold_canaries(item.split("=", 1)[1])
    if "aes" in what:
        aes_key = os.urandom(32)
        encryptor = Cipher(algorithms.AES(aes_key), modes.CTR(os.urandom(16))).encryptor()
        HELD.append(encryptor)
        HELD.append(encryptor.update(b"x" * 4096))
        secrets["aes_key"] = aes_key.hex()
    with open(os.path.join(out, "public.jwks"), "w") as handle:
        json.dump({"keys": jwks}, handle)
    with open(os.path.join(out, "secrets.json"), "w") as handle:
        json.dump(secrets, handle)
    print("ready", flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
