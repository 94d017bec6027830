"""Private keys in the forms other writers use (issue #32, round 5: F2, F3, F5, F8, F10), read by
the text detector beside its PEM / base64 / JSON rules:

jwk-like   a JWK written as something other than JSON: Python's repr (single quotes), YAML (block,
           flow, lists), a JS object literal, JSON5 (unquoted member names), Ruby (`=>`), Go's
           `map[k:v]`, TOML; members next to each other around a `kty` (nearer neighbour first;
           no brace, bracket, `:`, `=` or `;` between two; lines in one column), loaded with
           joserfc (a private member of 16 or more characters that does not load is a finding too)
xml        .NET's `<RSAKeyValue>` (RSA.ToXmlString(true), xmldsig), with or without a namespace
           prefix, whitespace inside elements; confirmed by P or Q dividing the Modulus
ber        a private key in BER that OpenSSL reads and `cryptography` refuses: indefinite lengths
           (`30 80 02 01 0[01]`), long-form lengths with leading zeros or where the short form
           would do, a padded version, a SEC1 scalar with leading zeros or short of its size; converted to DER
           (bounded depth, values, size and anchors per view) and loaded
cose       a COSE_Key (CBOR map, label -4 = the private scalar), labels and lengths in any
           integer encoding (canonical or not); a map whose kty is EC2 or OKP
pem-cut    PEM armour cut before its END behind a log prefix (`issuer-1  | `, a timestamp): BEGIN,
           then 100 or more base64 characters on the lines after it once a prefix as long as
           BEGIN's and ending like it is stripped

Each recogniser anchors on a literal, bounds what it reads around it, and returns TextHits.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import re
from collections.abc import Iterator
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_der_private_key
from joserfc.jwk import JWKRegistry

from .der import consistent

MAX_REACH = 16 << 10  # bytes read around one anchor
MAX_BER_DEPTH = 8

# ---- JWKs that are not JSON
# a literal first (one fast pass over a core); the character before `kty` is checked by hand
# (not `oct`: a symmetric JWK's `k` is found by the known AES keys; libraries' docstrings hold
# example oct keys in repr form - joserfc's is in every signward process, so in every core)
KTY_ANCHOR = re.compile(rb"kty['\"]?[ \t]{0,8}[:=]>?[ \t]{0,8}['\"]?(RSA|EC|OKP)(?![A-Za-z0-9_])")
NAME_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
JWK_PRIVATE = ("d", "p", "q", "dp", "dq", "qi")
MEMBER = re.compile(rb"(?<![A-Za-z0-9_])['\"]?(kty|crv|n|e|d|p|q|dp|dq|qi|x|y|k|kid|alg|use)['\"]?[ \t]{0,8}[:=]>?"
                    rb"[ \t]{0,8}['\"]?([A-Za-z0-9_-]{1,4096})['\"]?")
GAP_STOPS = re.compile(rb"[{}\[\]:=;]")
MEMBER_GAP = 64  # at most this many bytes between two members of one key (", ", "\n    ", " ,\r\n  ")


def _gap(text: bytes, before: re.Match[bytes], after: re.Match[bytes]) -> int | None:
    """The bytes between two members of one key, or None when they cannot be one key's (too far
    apart, a brace, bracket, `:`, `=` or `;` between: another object or member; or, on another line,
    in another column)."""
    between = text[before.end():after.start()]
    if len(between) > MEMBER_GAP or GAP_STOPS.search(between):
        return None
    if b"\n" in between:  # members on lines of their own start in one column (YAML: one mapping)
        column = before.start() - (text.rfind(b"\n", 0, before.start()) + 1)
        if len(between) - between.rfind(b"\n") - 1 != column:
            return None
    return len(between)


def jwk_like(text: bytes, covered: list[tuple[int, int]]) -> Iterator[tuple[int, int, str, Any]]:
    """(start, end, kind, key) of each non-JSON JWK with a private member."""
    done = -1
    for anchor in KTY_ANCHOR.finditer(text):
        before = anchor.start() - (1 if anchor.start() and text[anchor.start() - 1] in b"'\"" else 0)
        if before and text[before - 1] in NAME_CHARS:
            continue  # `mykty: ...`, not a member named kty
        if anchor.start() < done or any(s <= anchor.start() < e for s, e in covered):
            continue
        low = max(0, anchor.start() - MAX_REACH)
        members = list(MEMBER.finditer(text, low, min(len(text), anchor.end() + MAX_REACH)))
        at = next((i for i, m in enumerate(members) if m.start() <= anchor.start() < m.end()), None)
        if at is None:
            continue
        first = last = at
        names = {members[at].group(1)}
        left = right = True
        while left or right:  # the nearer neighbour first: two keys side by side stay apart
            gap_left = _gap(text, members[first - 1], members[first]) if left and first > 0 else None
            gap_right = _gap(text, members[last], members[last + 1]) if right and last + 1 < len(members) else None
            left, right = gap_left is not None, gap_right is not None
            if gap_left is not None and (gap_right is None or gap_left <= gap_right):
                if members[first - 1].group(1) in names:
                    left = False
                else:
                    first -= 1
                    names.add(members[first].group(1))
            elif gap_right is not None:
                if members[last + 1].group(1) in names:
                    right = False
                else:
                    last += 1
                    names.add(members[last].group(1))
        jwk = {m.group(1).decode(): m.group(2).decode() for m in members[first:last + 1]}
        if not any(len(jwk.get(name, "")) >= 16 for name in JWK_PRIVATE):  # (a placeholder `"k": "..."` is not)
            continue
        start, end = members[first].start(), members[last].end()
        done = end
        kty = jwk["kty"].lower()
        try:
            key: Any = JWKRegistry.import_key(jwk).private_key
        except Exception:
            key = None
        yield start, end, f"jwk-{kty}-private-not-json", key if key is None or consistent(key) else None


# ---- .NET XML RSAKeyValue
XML_ANCHOR = re.compile(rb"<([A-Za-z_][A-Za-z0-9_.-]{0,31}:)?RSAKeyValue[\s>]")
XML_FIELD = re.compile(rb"<(?:[A-Za-z_][A-Za-z0-9_.-]{0,31}:)?(Modulus|Exponent|P|Q|DP|DQ|InverseQ|D)\s*>"
                       rb"([A-Za-z0-9+/=\s]{1,8192})</(?:[A-Za-z_][A-Za-z0-9_.-]{0,31}:)?\1\s*>")
XML_PRIVATE = ("P", "Q", "DP", "DQ", "InverseQ", "D")


def _xml_int(value: bytes) -> int | None:
    try:
        return int.from_bytes(base64.b64decode(re.sub(rb"\s", b"", value), validate=True), "big")
    except (binascii.Error, ValueError):
        return None


def xml_rsa(text: bytes) -> Iterator[tuple[int, int, str, Any]]:
    """(start, end, kind, key) of each <RSAKeyValue> holding a private element of key size."""
    for anchor in XML_ANCHOR.finditer(text):
        close = re.compile(rb"</" + re.escape(anchor.group(1) or b"") + rb"RSAKeyValue\s*>")
        stop = close.search(text, anchor.end(), anchor.end() + MAX_REACH)
        end = stop.end() if stop is not None else min(len(text), anchor.end() + MAX_REACH)
        fields: dict[str, int] = {}
        last = anchor.end()
        for match in XML_FIELD.finditer(text, anchor.end(), end):
            value = _xml_int(match.group(2))
            if value is not None:
                fields.setdefault(match.group(1).decode(), value)
                last = match.end()
        if not any(fields.get(name, 0).bit_length() >= 128 for name in XML_PRIVATE):
            continue
        key: Any = None
        n, e = fields.get("Modulus", 0), fields.get("Exponent", 0)
        for prime in (fields.get("P", 0), fields.get("Q", 0)):
            if n > 1 and e > 1 and 1 < prime < n and n % prime == 0:
                p, q = prime, n // prime
                d = rsa.rsa_recover_private_exponent(e, p, q)
                key = rsa.RSAPrivateNumbers(p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q),
                                            rsa.rsa_crt_iqmp(p, q), rsa.RSAPublicNumbers(e, n)).private_key(
                                                unsafe_skip_rsa_key_validation=True)
                break
        yield anchor.start(), stop.end() if stop is not None else last, "xml-rsakeyvalue-private", key


# ---- BER: the length and integer forms OpenSSL reads and `cryptography` refuses (rt19 group 1): indefinite
# lengths, long-form lengths with leading zeros or where the short form would do (`30 84 00 00 00 77`,
# `30 81 2e`), a padded version (`02 02 00 01`), a SEC1 scalar with a leading zero (Java's `04 21 00 ..`) or short
# an outer length of any form (plain DER: der.py's); the version INTEGER in any length form
BER_ANCHOR = re.compile(rb"\x30(?:\x80|[\x10-\x7f]|\x81.|\x82..|\x83...|\x84....|[\x85-\x88]\x00{1,4}....)"
                        rb"\x02(?:\x01|\x02\x00|\x81\x01|\x81\x02\x00|\x82\x00\x01)[\x00\x01]", re.DOTALL)
MAX_BER_VALUES = 256  # values read for one candidate (PKCS#1 RSA: 10, PKCS#8 EC: 11; attributes: a few more)
MAX_BER_ANCHORS = 20_000  # candidates converted per view (the reader's cap too), plus one per KiB
MAX_BER_WIDTH = 8  # long-form length octets (OpenSSL reads leading zeros)
# a SEC1 scalar written with leading zeros, or without the zeros its curve's size gives it (Java's
# BigInteger, OpenSSL 1.0: minimal) -> its curve's size (P-256, P-384, P-521)
SCALAR_SIZES = {30: 32, 31: 32, 33: 32, 34: 32, 46: 48, 47: 48, 49: 48, 50: 48, 64: 66, 65: 66, 67: 66, 68: 66}


def _der_head(tag: int, size: int) -> bytes:
    if size < 0x80:
        return bytes([tag, size])
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(octets)]) + octets


def _minimal_integer(content: bytes) -> bytes:
    """An INTEGER's content without the redundant leading 00 (or FF) octets BER allows."""
    for pad, negative in ((0x00, False), (0xFF, True)):
        if content[:1] == bytes([pad]):
            rest = content.lstrip(bytes([pad]))
            return bytes([pad]) + rest if not rest or (rest[0] >= 0x80) != negative else rest
    return content


class _BerReading:
    """One candidate's conversion: `MAX_BER_VALUES` values at most, `MAX_BER_DEPTH` deep."""

    def __init__(self) -> None:
        self.values, self.indefinite = 0, False

    def convert(self, data: bytes, at: int, depth: int, limit: int) -> tuple[bytes, int]:
        """The DER of the BER value at `at` (lengths made minimal and definite, integers minimal,
        a SEC1 scalar unpadded, an OCTET STRING holding one such value converted too) and where it
        ends."""
        self.values += 1
        if depth > MAX_BER_DEPTH or at + 2 > limit or self.values > MAX_BER_VALUES:
            raise ValueError("BER too deep, long or short")
        tag, first = data[at], data[at + 1]
        at += 2
        if tag & 0x1F == 0x1F:
            raise ValueError("multi-octet tag")
        parts: list[bytes] = []
        if first == 0x80:  # indefinite: constructed contents up to 00 00
            if not tag & 0x20:
                raise ValueError("indefinite primitive")
            self.indefinite = True
            while data[at:at + 2] != b"\x00\x00":
                part, at = self.convert(data, at, depth + 1, limit)
                parts.append(part)
            at += 2
        else:
            length = first
            if first > 0x80:
                width = first & 0x7F
                if width > MAX_BER_WIDTH or at + width > limit:
                    raise ValueError("BER length")
                length = int.from_bytes(data[at:at + width], "big")
                at += width
            stop = at + length
            if stop > limit:
                raise ValueError("BER past its end")
            if tag & 0x20:  # constructed with a definite length: its parts may be BER too
                while at < stop:
                    part, at = self.convert(data, at, depth + 1, stop)
                    parts.append(part)
            else:
                body = bytes(data[at:stop])
                if tag == 0x02 and body:
                    body = _minimal_integer(body)
                elif tag == 0x04 and body[:1] in (b"\x30", b"\x04"):  # PKCS#8's inner key, in BER too
                    body = self.inner(body, depth)
                parts.append(body)
                at = stop
        if tag == 0x30 and len(parts) >= 2 and parts[0] == b"\x02\x01\x01" and parts[1][:1] == b"\x04":
            parts[1] = _sized_scalar(parts[1])  # SEC1: version 1, then the scalar
        body = b"".join(parts)
        return _der_head(tag, len(body)) + body, at

    def inner(self, body: bytes, depth: int) -> bytes:
        """An OCTET STRING's content converted when it is one BER value, else as it is."""
        try:
            converted, used = self.convert(body, 0, depth + 1, len(body))
        except (ValueError, IndexError):
            return body
        return converted if used == len(body) else body


def _sized_scalar(octets: bytes) -> bytes:
    """A SEC1 privateKey OCTET STRING (DER by now) with its scalar at its curve's size: leading
    zeros removed, or the ones a minimal writer left out put back."""
    content = octets[2:] if octets[1] < 0x80 else octets[3:]
    size = SCALAR_SIZES.get(len(content))
    if size is not None and len(content) < size:
        return _der_head(0x04, size) + bytes(size - len(content)) + content
    if size is None or content[:len(content) - size].strip(b"\x00"):
        return octets
    return _der_head(0x04, size) + content[len(content) - size:]


def ber_keys(data: bytes, cut: list[str] | None = None) -> Iterator[tuple[int, int, str, Any]]:
    """(start, end, kind, key) of each private key written in BER (`BER_ANCHOR`'s forms), the span
    as written. Past `MAX_BER_ANCHORS` (plus one per KiB) anchors the rest is not read and `cut`
    says so (the scan is incomplete: refused)."""
    cap = MAX_BER_ANCHORS + len(data) // 1024
    for count, anchor in enumerate(BER_ANCHOR.finditer(data)):
        if count >= cap:
            if cut is not None:
                cut.append(f"ber: more than {cap} BER key anchors in {len(data)} bytes")
            return
        reading = _BerReading()
        try:
            der, end = reading.convert(data, anchor.start(), 0, min(len(data), anchor.start() + MAX_REACH))
            if der == data[anchor.start():end]:
                continue  # DER: the der detector's
            key = load_der_private_key(der, None, unsafe_skip_rsa_key_validation=True)
        except Exception:  # (IndexError: cut short) noise, or a structure that is not a key
            continue
        kind = "ber-indefinite-private-key" if reading.indefinite else "ber-private-key"
        yield anchor.start(), end, kind, key if consistent(key) else None


# ---- COSE_Key
# label -4 in any integer encoding, then a byte string head (any width) of 32, 48, 57 or 66 bytes
# (one pattern per label form, each opening with a literal: one fast pass each over a core)
COSE_D = [re.compile(re.escape(label) + rb"(?:\x58|\x59\x00|\x5a\x00{3}|\x5b\x00{7})[\x20\x30\x39\x42]", re.DOTALL)
          for label in (b"\x23", b"\x38\x03", b"\x39\x00\x03", b"\x3a\x00\x00\x00\x03", b"\x3b" + bytes(7) + b"\x03")]
CURVES: dict[int, ec.EllipticCurve] = {1: ec.SECP256R1(), 2: ec.SECP384R1(), 3: ec.SECP521R1()}


def _cbor_head(data: bytes, at: int) -> tuple[int, int, int]:
    """(major type, argument, next offset) of the CBOR head at `at` (any width)."""
    first = data[at]
    major, info = first >> 5, first & 0x1F
    if info < 24:
        return major, info, at + 1
    if info > 27:
        raise ValueError("indefinite or reserved")
    width = 1 << (info - 24)
    if at + 1 + width > len(data):
        raise ValueError("short")
    return major, int.from_bytes(data[at + 1:at + 1 + width], "big"), at + 1 + width


def _cose_map(data: bytes, at: int) -> tuple[dict[int, Any], int]:
    major, count, at = _cbor_head(data, at)
    if major != 5 or not 0 < count <= 16:
        raise ValueError("not a small map")
    items: dict[int, Any] = {}
    for _ in range(count):
        major, label, at = _cbor_head(data, at)
        if major not in (0, 1):
            raise ValueError("label not an integer")
        label = label if major == 0 else -1 - label
        major, value, at = _cbor_head(data, at)
        if major in (2, 3):
            if value > 1024 or at + value > len(data):
                raise ValueError("long string")
            items[label] = bytes(data[at:at + value])
            at += value
        elif major in (0, 1):
            items[label] = value if major == 0 else -1 - value
        else:
            raise ValueError("value type")
    return items, at


def cose_keys(data: bytes) -> Iterator[tuple[int, int, str, Any]]:
    """(start, end, kind, key) of each COSE_Key map (kty EC2 or OKP) holding a private -4."""
    done = -1
    for anchor in sorted(itertools.chain.from_iterable(p.finditer(data) for p in COSE_D), key=lambda m: m.start()):
        if anchor.start() < done:
            continue
        for start in range(anchor.start() - 1, max(-1, anchor.start() - 512), -1):
            if data[start] >> 5 != 5:
                continue
            try:
                items, end = _cose_map(data, start)
            except (ValueError, IndexError):
                continue
            if end <= anchor.start() or items.get(1) not in (1, 2) or not isinstance(items.get(-4), bytes):
                continue
            done = end
            yield start, end, "cose-key-private", _cose_private(items)
            break


def _cose_private(items: dict[int, Any]) -> Any:
    secret = items[-4]
    try:
        if items[1] == 2 and items.get(-1) in CURVES:
            return ec.derive_private_key(int.from_bytes(secret, "big"), CURVES[items[-1]])
        if items[1] == 1 and items.get(-1) == 6 and len(secret) == 32:
            return ed25519.Ed25519PrivateKey.from_private_bytes(secret)
    except ValueError:
        return None
    return None


# ---- PEM cut before END, behind a log prefix
PEM_LINE = re.compile(rb"[ \t]*([A-Za-z0-9+/=]{4,128})[ \t]*\r?")
MAX_CUT_LINES = 1024


def prefixed_cut_pem(text: bytes, begin: int, after: int) -> int | None:
    """The end of the base64 lines after a BEGIN line at `begin` (its header ends at `after`),
    each behind a prefix like the BEGIN line's (the text before BEGIN on its line: as long, and
    ending in the same two characters, so a per-line timestamp changes nothing), when they hold
    a key's worth of base64 (100 or more characters, 16 or more distinct); else None."""
    line_start = text.rfind(b"\n", max(0, begin - 129), begin) + 1
    if begin - line_start > 128:
        return None  # no line start within 128 bytes: not a log prefix
    prefix = text[line_start:begin]
    at = text.find(b"\n", after, after + 256)
    chars: list[bytes] = []
    end = None
    tail = prefix[-2:]  # a prefix that changes by line (a timestamp) keeps its length and its last characters
    for _ in range(MAX_CUT_LINES):
        if at < 0 or not text.startswith(tail, at + 1 + len(prefix) - len(tail)):
            break
        body = PEM_LINE.match(text, at + 1 + len(prefix))
        stop = text.find(b"\n", at + 1)
        line_end = len(text) if stop < 0 else stop
        if body is None or body.end() != line_end or b"\n" in text[at + 1:at + 1 + len(prefix)]:
            break
        chars.append(body.group(1))
        end, at = line_end, stop
    found = b"".join(chars)
    if end is not None and len(found) >= 100 and len(set(found)) >= 16:
        return end
    return None


__all__ = ["ber_keys", "cose_keys", "jwk_like", "prefixed_cut_pem", "xml_rsa"]
