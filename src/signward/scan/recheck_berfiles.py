"""The independent reader's rule for keys, encrypted keys and PKCS#12 files written in BER (issue
#32, sessions 21 and 22): BouncyCastle's BER keystore and other BER writers (indefinite lengths, long
forms where short would do, OCTET STRINGs in segments, nested), the outer length in any form (rt22: a
minimal definite one around BER inside). Written apart from the scanner's `detectors/der_ber.py`
(standard library and `cryptography` only): its own BER reading.

A head (a SEQUENCE, then a version and a key's or a PFX's next field, or an AlgorithmIdentifier) is
re-encoded as DER, `WINDOW` bytes, `DEPTH` deep, `VALUES` values and `WORK` bytes copied at most;
DER already is the DER and PKCS#12 rules'. A PFX (version 3) keeps its MAC when no OCTET STRING's
content changed, else loses it (computed over the BER bytes), and is opened with the well-known
passwords, each try charged to the read's key derivation budget; any key that loads is a finding,
an encrypted PKCS#8 key too. A re-encoding that met BER and passes a bound at a head with a key's
or a PFX's OID near it is a finding (`berfile`), not silence.
"""

from __future__ import annotations

import mmap
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.serialization import load_der_private_key, pkcs12

from . import recheck_zeros as zeros
from .knownkeys import KnownKeys
from .recheck_keyfiles import _NOT_ONLY_CERTIFICATES, MAX_ITERATIONS, MAX_PFX, WELL_KNOWN_PASSWORDS, _iterations

if TYPE_CHECKING:
    from .recheck import Budget

WINDOW = 1 << 20
DEPTH = 32
VALUES = 4096
VIEW_VALUES, KIB_VALUES = 65_536, 1024  # values read for all of a view's heads: this many, and this many a KiB
WORK = 16 * WINDOW  # bytes copied for one head (its window, once a level: each level joins its children)
VIEW_WORK, KIB_WORK = 64 << 20, 64 << 10  # bytes copied for all of a view's heads: this many, and this many a KiB
_LENGTH = rb"(?:\x80|[\x00-\x7f]|\x81[\x00-\xff]|\x82[\x00-\xff]{2}|\x83[\x00-\xff]{3}|\x84[\x00-\xff]{4})"
# a SEQUENCE, its length in any form, then a version (0, 1 or 3, its length in any form) followed by
# what a key or a PFX has next (a modulus, a SEC1 scalar, an AlgorithmIdentifier, a ContentInfo: not
# a SignedData's SET), or an AlgorithmIdentifier (encrypted PKCS#8)
_HEAD = re.compile(rb"\x30" + _LENGTH + rb"(?:\x02(?:\x01|\x81\x01|\x82\x00\x01|\x83\x00\x00\x01|\x84\x00\x00\x00\x01)"
                   rb"[\x00\x01\x03][\x02\x04\x24\x30]|\x30" + _LENGTH + rb"\x06)", re.DOTALL)
_SECRET_OIDS = (bytes.fromhex("2a864886f70d010101"), bytes.fromhex("2a8648ce3d0201"), bytes.fromhex("2b6570"),
                bytes.fromhex("2b656e"), bytes.fromhex("2a864886f70d010701"), bytes.fromhex("2a864886f70d01050d"),
                bytes.fromhex("2a864886f70d010c01"))

Found = tuple[str, str, tuple[int, int]]
_ENCRYPTED = "encrypted PKCS#8 key in BER"


class _Bound(Exception):
    pass


class _Malformed(Exception):
    pass


def _length_octets(size: int) -> bytes:
    if size < 0x80:
        return bytes([size])
    raw = size.to_bytes(-(-size.bit_length() // 8), "big")
    return bytes([0x80 + len(raw)]) + raw


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _length_octets(len(content)) + content


class _Reencoding:
    """BER -> DER for one head; `segmented` counts the strings that came in segments, `ber` says a
    BER form was met (an indefinite or non-minimal length, a string in segments), `rewritten` that
    an OCTET STRING's content changed (a PFX's MAC no longer holds), `work` the bytes copied."""

    def __init__(self, most: int, most_work: int) -> None:
        self.count, self.segmented, self.most = 0, 0, most
        self.work, self.most_work, self.ber, self.rewritten = 0, most_work, False, False

    def charge(self, size: int) -> None:
        self.work += size
        if self.work > self.most_work:
            raise _Bound

    def element(self, buf: bytes | mmap.mmap, at: int, end: int, depth: int) -> tuple[int, bytes, int]:
        """(tag, DER content, offset after) of the BER element at `at`."""
        self.count += 1
        if self.count > self.most or depth > DEPTH:
            raise _Bound
        if end - at < 2 or buf[at] & 0x1F == 0x1F:
            raise _Malformed
        tag, octet = buf[at], buf[at + 1]
        at += 2
        indefinite = octet == 0x80
        if indefinite and not tag & 0x20:
            raise _Malformed
        if not indefinite and octet & 0x80:
            width = octet & 0x7F
            if width > 4 or at + width > end:
                raise _Malformed
            octet, at = int.from_bytes(buf[at:at + width], "big"), at + width
            self.ber |= octet < 0x80 or octet >> (8 * width - 8) == 0  # a long form where a shorter would do
        self.ber |= indefinite
        stop = end if indefinite else at + octet
        if stop > end:
            raise _Malformed
        if not tag & 0x20:
            self.charge(stop - at)
            content = bytes(buf[at:stop])
            return tag, self.octets(content, depth) if tag == 0x04 else content, stop
        children: list[tuple[int, bytes]] = []
        while True:
            if indefinite and buf[at:at + 2] == b"\x00\x00":
                at += 2
                break
            if not indefinite and at >= stop:
                break
            child_tag, child, at = self.element(buf, at, stop, depth + 1)
            children.append((child_tag, child))
        if not indefinite and at != stop:
            raise _Malformed
        return self.joined(tag, children, depth) + (at,)

    def joined(self, tag: int, children: list[tuple[int, bytes]], depth: int) -> tuple[int, bytes]:
        if tag == 0x24:  # an OCTET STRING in segments, each an OCTET STRING (joined already, if nested)
            if not all(child_tag == 0x04 for child_tag, _ in children):
                raise _Malformed
            self.segmented += 1
            self.ber = True
            joined = b"".join(child for _, child in children)
            self.charge(len(joined))
            return 0x04, self.octets(joined, depth)
        der = b"".join(_tlv(child_tag, child) for child_tag, child in children)
        self.charge(len(der))
        return tag, der

    def octets(self, content: bytes, depth: int) -> bytes:
        """An OCTET STRING's content; re-encoded when it is exactly one BER SEQUENCE."""
        if not content.startswith(b"\x30"):
            return content
        try:
            tag, inner, after = self.element(content, 0, len(content), depth + 1)
        except (_Malformed, IndexError):
            return content
        if after != len(content):
            return content
        der = _tlv(tag, inner)
        self.rewritten |= der != content
        return der


def _split(der_content: bytes) -> list[tuple[int, bytes]]:
    """The DER elements of `der_content` as (tag, content), or [] when they do not fill it."""
    out, at = [], 0
    while at + 2 <= len(der_content):
        octet, head = der_content[at + 1], 2
        if octet & 0x80:
            head += octet & 0x7F
            octet = int.from_bytes(der_content[at + 2:at + head], "big")
        out.append((der_content[at], der_content[at + head:at + head + octet]))
        at += head + octet
    return out if at == len(der_content) else []


def ber_file_findings(data: bytes | mmap.mmap, known: KnownKeys, budget: Budget, cut: list[str]) -> Iterator[Found]:
    """Every key, encrypted key and PKCS#12 file in BER in `data` (see the module's text); past
    the view's values (`VIEW_VALUES`, `KIB_VALUES` a KiB), a line in `cut` (the view is incomplete)."""
    skip_to, opened = 0, 0
    left = VIEW_VALUES + KIB_VALUES * (len(data) // 1024)
    left_work = VIEW_WORK + KIB_WORK * (len(data) // 1024)
    for match in zeros.finditer(_HEAD, data):
        at = match.start()
        if at < skip_to:
            continue
        reading = _Reencoding(max(0, min(VALUES, left)), max(0, min(WORK, left_work)))
        try:
            tag, content, after = reading.element(data, at, min(len(data), at + WINDOW), 0)
        except _Bound:
            if reading.most < VALUES or reading.most_work < WORK:
                cut.append(f"BER heads whose values pass {VIEW_VALUES} and {KIB_VALUES} a KiB, or whose bytes copied "
                           f"pass {VIEW_WORK >> 20} MiB and {KIB_WORK >> 10} KiB a KiB")
                return
            # a head whose reading met BER (DER is the DER and PKCS#12 rules') with a key's or a PFX's OID near
            if reading.ber and any(oid in bytes(data[at:at + 40]) for oid in _SECRET_OIDS):
                skip_to = min(len(data), at + WINDOW)  # what was not read is inside the finding's span
                yield "berfile", "BER key or PKCS#12 head past the reader's bounds", (at, skip_to)
            continue
        except (_Malformed, IndexError):
            continue
        finally:
            left -= reading.count
            left_work -= reading.work
        der = _tlv(tag, content)
        if der == data[at:after]:
            continue
        here = (at, after)
        fields = _split(content)
        if fields[:1] == [(0x02, b"\x03")] and len(fields) >= 2:
            opened += 1
            skip_to = here[1]
            # the MAC holds when no OCTET STRING's content changed (a writer that kept DER inside: rt22 row 11)
            blob = _tlv(0x30, b"".join(_tlv(*field) for field in fields[:2])) if reading.rewritten else der
            yield from _pfx(blob, opened, known, budget, here)
            continue
        found = _key(der, known)
        if found == _ENCRYPTED:
            opened += 1
            found = _encrypted(der, opened, known, budget)
        if found is not None:
            skip_to = here[1]
            yield "berfile", found, here


def _key(der: bytes, known: KnownKeys) -> str | None:
    try:
        key = load_der_private_key(der, None, unsafe_skip_rsa_key_validation=True)
    except TypeError:
        return _ENCRYPTED
    except Exception:
        return None
    return f"{_named(key, known)} in BER"


def _named(key: object, known: KnownKeys) -> str:
    match = known.match(key)
    return f"{type(key).__name__.lstrip('_')}" + (f" (known kid {match.kid})" if match else "")


def _encrypted(der: bytes, opened: int, known: KnownKeys, budget: Budget) -> str:
    """An encrypted PKCS#8 key tried with the well-known passwords (one key derivation a try,
    charged to the read's budget; at most `MAX_PFX` keys and PFX files a view): named when one
    opens it, a finding whatever happens."""
    iterations = _iterations(der)
    if opened > MAX_PFX or iterations is None or iterations > MAX_ITERATIONS:
        return f"{_ENCRYPTED} (not opened: too many in one view, or {iterations or 'unreadable'} iterations)"
    for password in WELL_KNOWN_PASSWORDS:
        if password is None:
            continue
        budget.kdf_iterations += max(iterations, 1)
        if budget.max_kdf_iterations < budget.kdf_iterations:
            return f"{_ENCRYPTED} (not opened: the read's key derivation budget is spent)"
        try:
            key = load_der_private_key(der, password, unsafe_skip_rsa_key_validation=True)
        except Exception:
            continue
        return f"{_named(key, known)} in an {_ENCRYPTED} under the password {password.decode()!r}"
    return f"{_ENCRYPTED} under an unknown password"


def _pfx(blob: bytes, opened: int, known: KnownKeys, budget: Budget, here: tuple[int, int]) -> Iterator[Found]:
    if opened > MAX_PFX:
        yield "berfile", "PKCS#12 file in BER (not opened: too many in one view)", here
        return
    iterations = _iterations(blob)
    if iterations is None or iterations > MAX_ITERATIONS:
        yield "berfile", f"PKCS#12 file in BER (not opened: {iterations or 'unreadable'} iterations)", here
        return
    for password in WELL_KNOWN_PASSWORDS:
        budget.kdf_iterations += 2 * max(iterations, 1)
        if budget.kdf_iterations > budget.max_kdf_iterations:
            yield "berfile", "PKCS#12 file in BER (not opened: the read's key derivation budget is spent)", here
            return
        try:
            key, _, _ = pkcs12.load_key_and_certificates(blob, password)
        except Exception:
            continue
        said = "no password" if password is None else f"the password {password.decode()!r}"
        if key is None:
            if _NOT_ONLY_CERTIFICATES.search(blob):  # a truststore of certificates in plain sight is not one
                yield "berfile", f"PKCS#12 file in BER under {said} with a secret or encrypted bag", here
            return
        match = known.match(key)
        kid = f" (known kid {match.kid})" if match else ""
        yield "berfile", f"{type(key).__name__.lstrip('_')}{kid} in a PKCS#12 file in BER under {said}", here
        return
    yield "berfile", "PKCS#12 file in BER under an unknown password", here


__all__ = ["ber_file_findings"]
