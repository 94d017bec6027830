"""BER the way BouncyCastle and other BER writers write it, made from `cryptography`'s DER for the
tests: indefinite lengths, OCTET STRINGs cut into segments (`24 80 04 LL .. 04 LL .. 00 00`),
and a PKCS#12 file re-encoded so with its MAC computed again over its BER (RFC 7292 appendix B's
key derivation), so that `openssl pkcs12` opens it as it opens BouncyCastle's BER keystore."""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12


def _tlv(data: bytes, at: int) -> tuple[int, int, int]:
    tag, first = data[at], data[at + 1]
    at += 2
    if first < 0x80:
        return tag, at, at + first
    width = first & 0x7F
    return tag, at + width, at + width + int.from_bytes(data[at:at + width], "big")


def _values(data: bytes) -> list[tuple[int, bytes]]:
    found, at = [], 0
    while at < len(data):
        tag, inner, after = _tlv(data, at)
        found.append((tag, data[inner:after]))
        at = after
    return found


def _length(size: int) -> bytes:
    if size < 0x80:
        return bytes([size])
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets


def _holds_der(body: bytes) -> bool:
    try:
        return body[:1] == b"\x30" and _tlv(body, 0)[2] == len(body)
    except IndexError:
        return False


def to_ber(der: bytes, segment: int = 16, nested: bool = False, inner: bool = True) -> bytes:
    """`der` in BER: every constructed value indefinite, every OCTET STRING (and [0] IMPLICIT
    one: PKCS#7's encrypted content) longer than `segment` cut into segments of `segment` bytes
    (with `nested`, the segments are themselves constructed, two segments each), an OCTET STRING
    that holds DER re-encoded so too (with `inner`)."""
    def encode(tag: int, body: bytes) -> bytes:
        if tag & 0x20:
            return bytes([tag, 0x80]) + b"".join(encode(*value) for value in _values(body)) + b"\0\0"
        if tag == 0x04 and inner and _holds_der(body):
            body = to_ber(body, segment, nested, inner)
        if tag in (0x04, 0x80) and len(body) > segment:
            pieces = [body[i:i + segment] for i in range(0, len(body), segment)]
            return bytes([0x24 if tag == 0x04 else 0xA0, 0x80]) + b"".join(piece(p) for p in pieces) + b"\0\0"
        return bytes([tag]) + _length(len(body)) + body

    def piece(octets: bytes) -> bytes:
        if nested and len(octets) > 1:
            half = len(octets) // 2
            return b"\x24\x80" + piece_plain(octets[:half]) + piece_plain(octets[half:]) + b"\0\0"
        return piece_plain(octets)

    def piece_plain(octets: bytes) -> bytes:
        return b"\x04" + _length(len(octets)) + octets

    return encode(der[0], der[_tlv(der, 0)[1]:])


def kdf(password: bytes | None, salt: bytes, iterations: int, digest: str, size: int) -> bytes:
    """PKCS#12's key derivation (RFC 7292 B.2), purpose 3: the MAC key."""
    h = hashlib.new(digest)
    u, v = h.digest_size, h.block_size
    secret = b"" if password is None else (password.decode() + "\0").encode("utf-16-be")

    def fill(octets: bytes) -> bytes:
        if not octets:
            return b""
        size_ = v * -(-len(octets) // v)
        return (octets * (size_ // len(octets) + 1))[:size_]

    block = bytearray(fill(salt) + fill(secret))
    out = b""
    while len(out) < size:
        a = bytes([3]) * v + bytes(block)
        for _ in range(iterations):
            a = hashlib.new(digest, a).digest()
        out += a
        b = int.from_bytes((a * (v // u + 1))[:v], "big") + 1
        for k in range(0, len(block), v):
            n = (int.from_bytes(block[k:k + v], "big") + b) % (1 << (8 * v))
            block[k:k + v] = n.to_bytes(v, "big")
    return out[:size]


def ber_pfx(key: object, password: bytes, segment: int = 16, nested: bool = False, cert: object = None) -> bytes:
    """A PKCS#12 file of `key` (and `cert`: in PKCS#7 encrypted content, with a password) under
    `password` ("" for none) in BER, its MAC over the BER."""
    protection = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    der = pkcs12.serialize_key_and_certificates(b"k", key, cert, None, protection)  # type: ignore[arg-type]
    version, auth_safe, mac_data = _values(der[_tlv(der, 0)[1]:])
    (_, oid), (_, explicit) = _values(auth_safe[1])
    ((_, content),) = _values(explicit)
    ber_content = to_ber(content, segment, nested)
    (_, digest_info), (_, salt), (_, count) = _values(mac_data[1])
    (_, algorithm), (_, old) = _values(digest_info)
    name = "sha256" if len(old) == 32 else "sha1"
    mac_key = kdf(password, salt, int.from_bytes(count, "big"), name, len(old))
    mac = hmac.new(mac_key, ber_content, name).digest()
    octets = [ber_content[i:i + segment] for i in range(0, len(ber_content), segment)]
    segmented = b"\x24\x80" + b"".join(b"\x04" + _length(len(o)) + o for o in octets) + b"\0\0"
    auth = b"\x30\x80\x06" + _length(len(oid)) + oid + b"\xa0\x80" + segmented + b"\0\0\0\0"
    digest_value = (b"\x30" + _length(len(algorithm)) + algorithm) + b"\x04" + _length(len(mac)) + mac
    digest_info_der = b"\x30" + _length(len(digest_value)) + digest_value
    mac_body = digest_info_der + b"\x04" + _length(len(salt)) + salt + b"\x02" + _length(len(count)) + count
    return b"\x30\x80\x02\x01" + version[1] + auth + b"\x30" + _length(len(mac_body)) + mac_body + b"\0\0"
