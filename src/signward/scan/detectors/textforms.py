"""Private keys in the forms other writers use (issue #32, round 5: F2, F3, F5, F8, F10), read by
the text detector beside its PEM / base64 / JSON rules:

jwk-like   a JWK written as something other than JSON: Python's repr (single quotes), YAML (block,
           flow, lists), a JS object literal, JSON5 (unquoted member names), Ruby (`=>`), Go's
           `map[k:v]`, TOML; members next to each other around a `kty` (nearer neighbour first;
           no brace, bracket, `:`, `=` or `;` between two; lines in one column), loaded with
           joserfc (a private member of 16 or more characters that does not load is a finding too)
xml        .NET's `<RSAKeyValue>` (RSA.ToXmlString(true), xmldsig), with or without a namespace
           prefix, whitespace inside elements; confirmed by P or Q dividing the Modulus
ber        a private key in BER with indefinite lengths (`30 80 02 01 0[01]`), converted to DER
           (bounded depth and size) and loaded
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


# ---- BER with indefinite lengths
# an outer indefinite length, or a definite one with an indefinite length inside (plain DER: der.py's)
BER_ANCHOR = re.compile(rb"\x30(?:\x80|[\x10-\x7f]|\x81[\x80-\xff]|\x82[\x00-\xff]{2})\x02\x01[\x00\x01]",
                        re.DOTALL)


def _ber_to_der(data: bytes, at: int, depth: int, limit: int) -> tuple[bytes, int]:
    """The DER of the BER element at `at` (indefinite lengths made definite) and where it ends."""
    if depth > MAX_BER_DEPTH or at + 2 > limit:
        raise ValueError("BER too deep or short")
    tag, first = data[at], data[at + 1]
    at += 2
    if first == 0x80:  # indefinite: constructed contents up to 00 00
        if not tag & 0x20:
            raise ValueError("indefinite primitive")
        body = b""
        while data[at:at + 2] != b"\x00\x00":
            part, at = _ber_to_der(data, at, depth + 1, limit)
            body += part
            if len(body) > MAX_REACH:
                raise ValueError("BER too long")
        at += 2
    else:
        if first < 0x80:
            length = first
        else:
            width = first & 0x7F
            if not 0 < width <= 3:
                raise ValueError("BER length")
            length = int.from_bytes(data[at:at + width], "big")
            at += width
        if at + length > limit:
            raise ValueError("BER past its end")
        if tag & 0x20:  # constructed with a definite length: its parts may be indefinite
            body, inner = b"", at
            while inner < at + length:
                part, inner = _ber_to_der(data, inner, depth + 1, at + length)
                body += part
        else:
            body = data[at:at + length]
            if tag == 0x04 and body[:2] == b"\x30\x80":  # PKCS#8's inner key, in BER too
                try:
                    converted, used = _ber_to_der(body, 0, depth + 1, len(body))
                    body = converted if used == len(body) else body
                except (ValueError, IndexError):
                    pass
        at += length
    size = len(body)
    head = bytes([size]) if size < 0x80 else bytes([0x81, size]) if size < 0x100 else \
        bytes([0x82]) + size.to_bytes(2, "big")
    return bytes([tag]) + head + body, at


def ber_keys(data: bytes) -> Iterator[tuple[int, int, str, Any]]:
    """(start, end, kind, key) of each private key written in BER with indefinite lengths."""
    for anchor in BER_ANCHOR.finditer(data):
        try:
            der, end = _ber_to_der(data, anchor.start(), 0, min(len(data), anchor.start() + MAX_REACH))
            if der == data[anchor.start():end]:
                continue  # DER: the der detector's
            key = load_der_private_key(der, None, unsafe_skip_rsa_key_validation=True)
        except Exception:  # (IndexError: cut short) noise, or a structure that is not a key
            continue
        yield anchor.start(), end, "ber-indefinite-private-key", key if consistent(key) else None


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
