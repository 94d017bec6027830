"""Private keys, encrypted keys and PKCS#12 files written in BER (issue #32, session 21): indefinite
lengths (`30 80 ... 00 00`), long-form lengths where the short form would do, and OCTET STRINGs
cut into segments (`24 80 04 LL .. 04 LL .. 00 00`, segments nested), as BouncyCastle's BER
keystore (Java's `KeyStore.getInstance("PKCS12", "BC")`) and other BER writers write them.

A head (a SEQUENCE with an indefinite or non-minimal length, then a version or an
AlgorithmIdentifier) is converted to DER within bounds (`MAX_WINDOW` bytes, `MAX_DEPTH` deep,
`MAX_VALUES` values): lengths definite and minimal, segmented strings joined, an OCTET STRING
that holds one BER value converted too.
The DER is then classified by der.py's `classify_der`; a PKCS#12 file's MAC (over the BER bytes,
which the conversion changed) is dropped first, so the well-known passwords are tried against its
encrypted bags. Plain BER keys without a segmented string are the BER rule's (textforms.py); a
conversion that gives up on a head that looks like a key or a PFX is a finding, `*-ber-unread`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..chunks import Chunk
from ..findings import Finding
from .base import PassDetector
from .der import classify_der, der_length
from .textforms import _der_head as _head
from .tlv import read_head

MAX_WINDOW = 1 << 20  # bytes a conversion reads from its head
MAX_DEPTH = 32
MAX_VALUES = 4096  # values read for one head
MAX_WIDTH = 4  # long-form length octets
MAX_CHUNK_VALUES = 65_536  # values read for all the heads of a chunk (about 1 us each), plus `VALUES_PER_KIB` a KiB
VALUES_PER_KIB = 1024  # a capture of nothing but SNMP messages in BER reads about 500 a KiB
# a SEQUENCE with an indefinite or non-minimal length, then a version (a key's 0 or 1, a PFX's 3) or
# an AlgorithmIdentifier's SEQUENCE and OID (EncryptedPrivateKeyInfo)
# (rt22: the outer length minimal and definite, BER inside: segments, indefinite or long-form inner
# lengths, a version in a long-form length: any length form, the conversion tells DER from BER)
HEAD = re.compile(rb"\x30(?:[\x00-\x80]|\x81.|\x82..|\x83...|\x84....)"
                  rb"(?:\x02(?:\x01|\x81\x01|\x82\x00\x01|\x83\x00\x00\x01|\x84\x00\x00\x00\x01)[\x00\x01\x03]"
                  rb"|\x30(?:[\x00-\x80]|\x81.|\x82..|\x83...|\x84....)\x06)", re.DOTALL)
# what a key or a PFX looks like after its head: a PKCS#8 key's algorithm (RSA, EC, Ed25519, X25519),
# a PFX's pkcs7-data, a password-based encryption: a conversion that gives up on these is a finding
LOOKS_SECRET = re.compile(rb"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01|\x06\x07\x2a\x86\x48\xce\x3d\x02\x01"
                          rb"|\x06\x03\x2b\x65[\x6e\x70]|\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01"
                          rb"|\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x05\x0d|\x06\x0a\x2a\x86\x48\x86\xf7\x0d\x01\x0c\x01")
SECRET_REACH = 32  # bytes after the head searched for `LOOKS_SECRET`


class GaveUp(Exception):
    """The conversion passed one of its bounds."""


class NotBer(Exception):
    """Not a BER value."""


def _content(der: bytes) -> bytes:
    return der[read_head(der, 0).start:]  # type: ignore[union-attr]


class BerToDer:
    """One head's conversion; `joined` counts the segmented strings joined."""

    def __init__(self, data: bytes, most: int = MAX_VALUES) -> None:
        self.data, self.values, self.joined, self.most = data, 0, 0, most

    def value(self, at: int, limit: int, depth: int) -> tuple[bytes, int]:
        """The DER of the BER value at `at` (before `limit`) and where it ends."""
        self.values += 1
        if depth > MAX_DEPTH or self.values > self.most:
            raise GaveUp
        data = self.data
        head = read_head(data, at, limit, octets=MAX_WIDTH, indefinite=True)
        if head is None or head.tag & 0x1F == 0x1F:
            raise NotBer
        tag, at = head.tag, head.start
        if head.length is None:
            parts = []
            while data[at:at + 2] != b"\x00\x00":
                part, at = self.value(at, limit, depth + 1)
                parts.append(part)
            return self.built(tag, parts, depth), at + 2
        stop = at + head.length
        if stop > limit:
            raise NotBer
        if tag & 0x20:
            parts = []
            while at < stop:
                part, at = self.value(at, stop, depth + 1)
                parts.append(part)
            return self.built(tag, parts, depth), stop
        body = bytes(data[at:stop])
        if tag == 0x04:
            body = self.inner(body, depth)
        return _head(tag, len(body)) + body, stop

    def built(self, tag: int, parts: list[bytes], depth: int) -> bytes:
        """A constructed value's DER from its parts' DER: a segmented OCTET STRING joined (its
        segments are OCTET STRINGs). PKCS#7's encrypted content in segments (`a0 80 04 .. 04 ..`)
        stays constructed: `cryptography` reads it so without its BER fallback."""
        if tag == 0x24:
            if any(part[0] != 0x04 for part in parts):
                raise NotBer
            self.joined += 1
            body = self.inner(b"".join(_content(part) for part in parts), depth)
            return _head(0x04, len(body)) + body
        body = b"".join(parts)
        return _head(tag, len(body)) + body

    def inner(self, body: bytes, depth: int) -> bytes:
        """An OCTET STRING's content, converted when it is one BER SEQUENCE (a PKCS#8 key's inner
        key, a PFX's authenticated safe, a bag's value), else as it is."""
        if body[:1] != b"\x30":
            return body
        reading = BerToDer(body, self.most)
        reading.values = self.values
        try:
            converted, used = reading.value(0, len(body), depth + 1)
        except (NotBer, IndexError):
            return body
        finally:
            self.values = reading.values
        self.joined += reading.joined
        return converted if used == len(body) else body


def _children(der_body: bytes) -> list[bytes]:
    found, at = [], 0
    while at < len(der_body):
        total = der_length(der_body, at)
        if total is None:
            return []
        found.append(der_body[at:at + total])
        at += total
    return found


def without_mac(der: bytes) -> bytes:
    """A PFX's DER without its MacData (the third value), or `der` as it is."""
    values = _children(_content(der))
    if len(values) != 3 or values[0] != b"\x02\x01\x03":
        return der
    body = values[0] + values[1]
    return _head(0x30, len(body)) + body


def convert(reading: BerToDer, start: int) -> tuple[bytes, int]:
    """(DER, end) of the BER value at `start` of the reading's data; GaveUp past a bound, NotBer
    (or IndexError) when it is not BER."""
    return reading.value(start, min(len(reading.data), start + MAX_WINDOW), 0)


def ber_keys(data: bytes, cut: set[str] | None = None, open_pkcs12: int = 16) -> Iterator[tuple[int, int, str, object]]:
    """(start, end, kind, key) of each key, encrypted key or PKCS#12 file in BER in `data`; the
    first `open_pkcs12` PKCS#12 files are opened with the well-known passwords. Past the chunk's
    values (`MAX_CHUNK_VALUES`, `VALUES_PER_KIB`) the rest is not read: said in `cut`."""
    reach = 0
    left = MAX_CHUNK_VALUES + VALUES_PER_KIB * (len(data) >> 10)
    for match in HEAD.finditer(data):
        start = match.start()
        if start < reach:
            continue  # inside a value already converted
        reading = BerToDer(data, min(MAX_VALUES, max(left, 0)))
        try:
            der, end = convert(reading, start)
        except GaveUp:
            if reading.most < MAX_VALUES:  # the chunk's bounds, not this head's: the rest is not read
                if cut is not None:
                    cut.add(f"der: BER heads whose values pass {MAX_CHUNK_VALUES} and {VALUES_PER_KIB} a KiB "
                            "in a chunk or view")
                return
            if LOOKS_SECRET.search(data, start, start + SECRET_REACH) is not None:
                reach = min(len(data), start + MAX_WINDOW)  # the finding covers what it did not read
                yield start, reach, "der-ber-unread", None
            continue
        except (NotBer, IndexError):
            continue
        finally:
            left -= reading.values
        if der == data[start:end]:
            continue  # DER: der.py's
        hit = classify_der(without_mac(der), 0, open_pkcs12=open_pkcs12 > 0)
        if hit is None:
            continue  # (a plain BER key textforms.py's BER rule reads too: found twice, redacted once)
        open_pkcs12 -= hit.kind.startswith("pkcs12")
        reach = end
        yield start, end, hit.kind + "-ber", hit.key


class BerPass(PassDetector):
    """Keys, encrypted keys and PKCS#12 files in BER: a pass of the `der` detector (as `der_cut_pass.py`)."""

    def scan(self, chunk: Chunk) -> Iterator[Finding]:
        for start, end, kind, key in ber_keys(chunk.data, self._cut):
            if chunk.owns(start):
                yield self.found(chunk, start, end - start, kind, "der", key)


__all__ = ["MAX_DEPTH", "MAX_VALUES", "MAX_WINDOW", "BerPass", "ber_keys", "convert", "without_mac"]
