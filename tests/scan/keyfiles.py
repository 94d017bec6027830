"""Key files of other tools written from their documented formats, as the tools write them (checked
against puttygen 0.78 and keytool 17 in test_keyfiles.py when they are installed): PuTTY .ppk v2
and v3 and the ssh.com (SECSH) private key armour, for RSA keys from `cryptography`, and Java's
JKS and JCEKS keystores."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.asymmetric import rsa


def _string(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value


def _mpint(value: int) -> bytes:  # SSH's (RFC 4251): two's complement, a leading zero when the top bit is set
    return _string(value.to_bytes(value.bit_length() // 8 + 1, "big") if value else b"")


def _lines(blob: bytes, width: int) -> list[bytes]:
    text = base64.b64encode(blob)
    return [text[i:i + width] for i in range(0, len(text), width)]


def ppk(key: rsa.RSAPrivateKey, version: int, comment: bytes = b"rsa-key") -> bytes:
    """An unencrypted PuTTY key file ("Encryption: none"), version 2 or 3."""
    numbers = key.private_numbers()
    public = _string(b"ssh-rsa") + _mpint(numbers.public_numbers.e) + _mpint(numbers.public_numbers.n)
    private = _mpint(numbers.d) + _mpint(numbers.p) + _mpint(numbers.q) + _mpint(numbers.iqmp)
    signed = _string(b"ssh-rsa") + _string(b"none") + _string(comment) + _string(public) + _string(private)
    mac = (hmac.new(b"", signed, hashlib.sha256) if version == 3 else
           hmac.new(hashlib.sha1(b"putty-private-key-file-mac-key").digest(), signed, hashlib.sha1)).hexdigest()
    out = [b"PuTTY-User-Key-File-%d: ssh-rsa" % version, b"Encryption: none", b"Comment: " + comment]
    out += [b"Public-Lines: %d" % len(_lines(public, 64)), *_lines(public, 64)]
    out += [b"Private-Lines: %d" % len(_lines(private, 64)), *_lines(private, 64)]
    out += [b"Private-MAC: " + mac.encode()]
    return b"\n".join(out) + b"\n"


def _sshcom_mpint(value: int) -> bytes:  # ssh.com's: a 32-bit count of bits, then the bytes
    return struct.pack(">I", value.bit_length()) + value.to_bytes((value.bit_length() + 7) // 8, "big")


def sshcom(key: rsa.RSAPrivateKey, cipher: bytes = b"none") -> bytes:
    """The ssh.com private key armour (`puttygen -O private-sshcom`): magic 3f6ff9eb, total length,
    key type, cipher, then the key data (e, d, n, iqmp, p, q) as a string."""
    n = key.private_numbers()
    data = b"".join(_sshcom_mpint(v) for v in (n.public_numbers.e, n.d, n.public_numbers.n, n.iqmp, n.p, n.q))
    body = (_string(b"if-modn{sign{rsa-pkcs1-sha1},encrypt{rsa-pkcs1v2-oaep}}") + _string(cipher)
            + _string(_string(data)))
    blob = b"\x3f\x6f\xf9\xeb" + struct.pack(">I", 8 + len(body)) + body
    return (b"---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nComment: \"rsa-key\"\n" + b"\n".join(_lines(blob, 70))
            + b"\n---- END SSH2 ENCRYPTED PRIVATE KEY ----\n")


def sshcom_public(key: rsa.RSAPrivateKey) -> bytes:
    """The RFC 4716 public key armour (`ssh-keygen -e -m RFC4716`): not a secret."""
    n = key.private_numbers().public_numbers
    blob = _string(b"ssh-rsa") + _mpint(n.e) + _mpint(n.n)
    return (b"---- BEGIN SSH2 PUBLIC KEY ----\nComment: \"2048-bit RSA\"\n" + b"\n".join(_lines(blob, 70))
            + b"\n---- END SSH2 PUBLIC KEY ----\n")


JKS_PROTECTOR = bytes.fromhex("300e060a2b060104012a0211010105 00".replace(" ", ""))  # Sun's JKS key protector
JCEKS_PROTECTOR = bytes.fromhex("301c06092b060104012a021301300f0408") + bytes(8) + bytes.fromhex("02030186a0")


def _der(tag: int, content: bytes) -> bytes:
    size = len(content)
    head = (bytes([size]) if size < 0x80 else b"\x81" + bytes([size]) if size < 0x100
            else b"\x82" + size.to_bytes(2, "big"))
    return bytes([tag]) + head + content


def protected_key(jceks: bool, size: int = 1218) -> bytes:
    """A keystore's protected private key as keytool writes it: EncryptedPrivateKeyInfo with the
    store's protector (its ciphertext random here: no reader decrypts it)."""
    return _der(0x30, (JCEKS_PROTECTOR if jceks else JKS_PROTECTOR) + _der(0x04, os.urandom(size)))


def keystore(jceks: bool, entries: list[tuple[int, bytes]], certificate: bytes) -> bytes:
    """A JKS or JCEKS keystore (version 2): entries of (tag, body) with tag 1 a private key (its
    protected key, then a chain of one certificate), 2 a trusted certificate and 3 (JCEKS) a secret
    key as the serialized SealedObject keytool writes; then the store's keyed SHA-1 (random here)."""
    out = (b"\xce\xce\xce\xce" if jceks else b"\xfe\xed\xfe\xed") + struct.pack(">II", 2, len(entries))
    cert = struct.pack(">H", 5) + b"X.509" + struct.pack(">I", len(certificate)) + certificate
    for number, (tag, body) in enumerate(entries):
        alias = b"entry%d" % number
        out += struct.pack(">IH", tag, len(alias)) + alias + struct.pack(">Q", 1_765_000_000_000)
        if tag == 1:
            out += struct.pack(">I", len(body)) + body + struct.pack(">I", 1) + cert
        elif tag == 2:
            out += cert
        else:
            out += body
    return out + os.urandom(20)
