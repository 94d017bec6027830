"""The independent reader's rules for keys in other writers' forms (issue #32, round 5: F2, F3, F5,
F8, F10). Written apart from the scanner's `detectors/textforms.py` (stdlib, `cryptography` and
joserfc's import through the reader's own `jwk`): same forms, its own reading of them.

pem without END   a BEGIN line, then lines that, once a prefix as long as the BEGIN line's own
                  and ending like it (`issuer-1  | `, a timestamp) is taken off, are base64: 100
                  or more characters (16 distinct) are a private key cut short (F8)
dict-like JWK     `kty` quoted with `'` or `"` or bare, then `:`, `=` or `=>`: for each member the
                  key type needs, the occurrence nearest the `kty` inside its braces, or else in
                  the member lines around it that start in its column (Python repr, YAML block,
                  flow and lists, JS object literals, JSON5, Ruby, Go maps, TOML); checked by the
                  reader's JWK rule (F2)
RSAKeyValue       .NET / xmldsig XML, any namespace prefix: the elements' base64 integers; P or Q
                  dividing Modulus makes the key, private elements that do not are a finding too (F3)
BER               private keys in BER (F5, rt19 group 1): indefinite lengths (`30 80`), long-form
                  lengths with leading zeros or where the short form would do, a padded version,
                  a SEC1 scalar with leading zeros or short of its size; re-encoded as DER and loaded
COSE_Key          a CBOR map holding label -4 (any integer width), kty EC2 or OKP (F10)

Each rule anchors on a literal; anchors per view are capped (`recheck_codecs.candidates`: more is
incomplete, refused), and what is read around an anchor is bounded.
"""

from __future__ import annotations

import base64
import binascii
import mmap
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from . import recheck_zeros as zeros
from .recheck_codecs import candidates

if TYPE_CHECKING:
    from .recheck import _Reader

JWK_REACH = 4096
XML_REACH = 16 << 10
BER_REACH = 16 << 10
BER_DEPTH = 10
BER_ELEMENTS = 256  # elements read for one candidate (PKCS#1 RSA: 10, PKCS#8 EC: 11; attributes: a few more)
BER_WIDTH = 8  # long-form length octets (OpenSSL reads leading zeros)
MAX_ARMOUR_LINES = 1024

_BEGIN = re.compile(rb"-----BEGIN ([A-Z0-9 ]{0,40}PRIVATE KEY)-----")
_B64_LINE = re.compile(rb"[A-Za-z0-9+/=]+")
_KTY = re.compile(rb"""kty["']?\s{0,8}(?:=>|[:=])\s{0,8}["']?(RSA|EC|OKP)\b""")  # literal first: fast over a core
_NEEDS = {b"RSA": ("n", "e", "d", "p", "q", "dp", "dq", "qi"), b"EC": ("crv", "x", "y", "d"), b"OKP": ("crv", "x", "d")}
_XML_KEY = re.compile(rb"RSAKeyValue(?:\s[^<>]{0,512})?>")  # attributes (xmlns) too
_YAML_MEMBER = re.compile(rb"""([ \t]*(?:- )?)["']?\w+["']?\s{0,8}(?:=>|[:=])""")
_XML_ELEMENT = re.compile(rb"<(?:[\w.-]+:)?(\w+)\s*>([^<]{1,8192})</")
_BER_HEAD = (rb"\x30(?:\x80|[\x10-\x7f]|\x81[\x00-\xff]|\x82[\x00-\xff]{2}|\x83[\x00-\xff]{3}|\x84[\x00-\xff]{4}"
             rb"|[\x85-\x88]\x00{1,4}[\x00-\xff]{4})")
# indefinite, long-form or non-minimal outer lengths (plain DER is the reader's DER rule); the version in
# three spellings, one rule each (a literal each: the views without it are not searched)
_BER = re.compile(_BER_HEAD + rb"\x02\x01[\x00\x01]", re.DOTALL)
_BER_PADDED = re.compile(_BER_HEAD + rb"\x02\x02\x00[\x00\x01]", re.DOTALL)
_BER_LONG = re.compile(_BER_HEAD + rb"\x02\x81(?:\x01|\x02\x00)[\x00\x01]", re.DOTALL)
_BSTR_HEAD = rb"(?:\x58|\x59\x00|\x5a\x00\x00\x00|\x5b\x00\x00\x00\x00\x00\x00\x00)[\x10-\x85]"  # 16 to 133 bytes
_COSE_FORMS = (b"\x23", b"\x38\x03", b"\x39\x00\x03", b"\x3a\x00\x00\x00\x03", b"\x3b" + bytes(7) + b"\x03")  # label -4
_COSE_LABELS = [re.compile(re.escape(form) + _BSTR_HEAD) for form in _COSE_FORMS]
_CURVES: dict[int, ec.EllipticCurve] = {1: ec.SECP256R1(), 2: ec.SECP384R1(), 3: ec.SECP521R1()}


def read_textforms(reader: _Reader, data: bytes | mmap.mmap, name: str) -> None:
    """Every rule of this module over one view; findings at their spans in it."""
    for literal, pattern, rule in _RULES:
        if data.find(literal) < 0:
            continue  # (a view without the anchor's literal: most of a core's 100,000s of small views)
        cap = candidates(data)
        for count, match in enumerate(zeros.finditer(pattern, data)):
            if count >= cap:
                from .recheck import _Exhausted

                raise _Exhausted(f"{name}: more than {cap} {pattern.pattern[:12]!r} anchors")
            rule(reader, data, match, name)


# each rule: a literal every anchor of it holds (one fast find), its anchor, the rule
_RULES: list[tuple[bytes, re.Pattern[bytes], Callable[[_Reader, bytes | mmap.mmap, re.Match[bytes], str], None]]] = []


def _cut_armour(reader: _Reader, data: bytes | mmap.mmap, match: re.Match[bytes], name: str) -> None:
    label = match.group(1)
    if data.find(b"-----END " + label + b"-----", match.end(), match.end() + (64 << 10)) >= 0:
        return  # armour with its END: the reader's PEM rule
    line_start = data.rfind(b"\n", max(0, match.start() - 200), match.start()) + 1
    prefix = bytes(data[line_start:match.start()])
    if len(prefix) > 160:
        return
    block = bytes(data[match.end():match.end() + (96 << 10)]).split(b"\n")[1:MAX_ARMOUR_LINES]
    body, used = b"", match.end() + 1
    for line in block:
        if len(line) <= len(prefix) or (prefix and line[len(prefix) - 2:len(prefix)] != prefix[-2:]):
            break  # not a line behind the same kind of prefix (its text may differ: a timestamp)
        text = line[len(prefix):].strip()
        if not _B64_LINE.fullmatch(text):
            break
        body += text
        used += len(line) + 1
    if len(body) >= 100 and len(set(body) - {61}) >= 16:
        reader.found("pem", name, f"{label.decode()} armour cut before its END", (line_start, used - 1))


def _dict_jwk(reader: _Reader, data: bytes | mmap.mmap, match: re.Match[bytes], name: str) -> None:
    lead = bytes(data[max(0, match.start() - 2):match.start()])
    if re.search(rb"""(?:\w|\w["'])$""", lead):
        return  # a longer name ending in kty
    if lead.endswith(b'"') and re.match(rb'kty"\s*:\s*"', match.group(0)):
        return  # JSON: the reader's JSON rules (jwk_near, the JSON document)
    low = max(0, match.start() - JWK_REACH)
    window = bytes(data[low:match.end() + JWK_REACH])
    anchor = match.start() - low
    opening = window.rfind(b"{", 0, anchor)
    closing = window.find(b"}", anchor)
    if opening > window.rfind(b"}", 0, anchor) and closing > 0:  # a repr, flow mapping, literal: its braces
        low, window, anchor = low + opening, window[opening:closing + 1], anchor - opening
    else:  # a YAML block: the lines around it whose members start in its column (`- ` of a list too)
        column = anchor - (window.rfind(b"\n", 0, anchor) + 1)
        lines = window.split(b"\n")
        here = window.count(b"\n", 0, anchor)
        top = bottom = here
        while top > 0 and _member_column(lines[top - 1]) == column:
            top -= 1
        while bottom + 1 < len(lines) and _member_column(lines[bottom + 1]) == column:
            bottom += 1
        begin = sum(len(line) + 1 for line in lines[:top])
        block = b"\n".join(lines[top:bottom + 1])
        low, window, anchor = low + begin, block, anchor - begin
    value: dict[str, Any] = {"kty": match.group(1).decode()}
    first, last = match.start(), match.end()
    for member in _NEEDS[match.group(1)]:
        pattern = re.compile(rb"""(?<![\w"'])["']?%s["']?\s{0,8}(?:=>|[:=])\s{0,8}["']?([\w-]{1,2048})"""
                             % member.encode())
        near = min(pattern.finditer(window), key=lambda m: abs(m.start() - anchor), default=None)
        if near is not None:
            value[member] = near.group(1).decode()
            first, last = min(first, low + near.start()), max(last, low + near.end())
    if len(value.get("d", "")) >= 16:  # (a placeholder `d: ...` is not a key)
        reader.jwk(value, name, (first, last))


def _member_column(line: bytes) -> int:
    """Where a line's member name starts (after its indentation and a list's `- `); -1 for a line
    that is not a member (blank, a TOML table head, text)."""
    member = _YAML_MEMBER.match(line)
    return len(member.group(1)) if member else -1


def _b64_int(text: bytes) -> int:
    try:
        return int.from_bytes(base64.b64decode(b"".join(text.split()), validate=True), "big")
    except (binascii.Error, ValueError):
        return 0


def _rsa_key_value(reader: _Reader, data: bytes | mmap.mmap, match: re.Match[bytes], name: str) -> None:
    head = data.rfind(b"<", max(0, match.start() - 40), match.start())
    if head < 0 or bytes(data[head + 1:head + 2]) == b"/":
        return  # a closing tag
    window = bytes(data[match.end():match.end() + XML_REACH])
    close = re.search(rb"</(?:[\w.-]+:)?RSAKeyValue\s*>", window)
    window = window[:close.start()] if close else window
    numbers: dict[bytes, int] = {}
    for element in _XML_ELEMENT.finditer(window):
        numbers.setdefault(element.group(1), _b64_int(element.group(2)))
    private = [tag for tag in (b"P", b"Q", b"D", b"DP", b"DQ", b"InverseQ") if numbers.get(tag, 0) > 1 << 64]
    if not private:
        return
    here = (head, match.end() + (close.end() if close else len(window)))
    n, e = numbers.get(b"Modulus", 0), numbers.get(b"Exponent", 0)
    for p in (numbers.get(b"P", 0), numbers.get(b"Q", 0)):
        if 1 < p < n and n % p == 0 and e > 1:
            q = n // p
            d = pow(e, -1, (p - 1) * (q - 1))
            key = rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p),
                                        rsa.RSAPublicNumbers(e, n)).private_key(unsafe_skip_rsa_key_validation=True)
            reader.private_key(key, "xml", name, here)
            return
    reader.found("xml", name, f"RSAKeyValue with private elements ({b', '.join(private).decode()})", here)


def _definite(data: bytes, at: int, depth: int, seen: list[int]) -> tuple[bytes, int]:
    """BER element at `at` -> (its DER, the offset after it): lengths definite and minimal (long
    forms up to `BER_WIDTH` octets), integers without padding, SEC1's scalar at its curve's size,
    an OCTET STRING that holds one BER element converted too. `seen` counts the elements read."""
    seen[0] += 1
    if depth > BER_DEPTH or seen[0] > BER_ELEMENTS:
        raise ValueError("deep")
    tag, length = data[at], data[at + 1]
    at += 2
    if tag & 0x1F == 0x1F:
        raise ValueError("tag")
    parts: list[bytes] = []
    if length == 0x80:
        while data[at] or data[at + 1]:
            part, at = _definite(data, at, depth + 1, seen)
            parts.append(part)
        at += 2
    else:
        if length > 0x80:
            size = length & 0x7F
            if size > BER_WIDTH:
                raise ValueError("length")
            length = int.from_bytes(data[at:at + size], "big")
            at += size
        stop = at + length
        if stop > len(data):
            raise ValueError("short")
        if tag & 0x20:
            while at < stop:
                part, at = _definite(data, at, depth + 1, seen)
                parts.append(part)
            if at != stop:
                raise ValueError("overrun")
        else:
            content = data[at:stop]
            if tag == 0x02:
                content = _integer(content)
            elif tag == 0x04 and content[:1] in (b"\x30", b"\x04"):  # an inner key in BER
                try:
                    inner, used = _definite(content, 0, depth + 1, seen)
                    content = inner if used == len(content) else content
                except (ValueError, IndexError):
                    pass
            parts.append(content)
            at = stop
    if tag == 0x30 and parts[:1] == [b"\x02\x01\x01"] and len(parts) > 1 and parts[1][0] == 0x04:
        parts[1] = _scalar(parts[1])
    body = b"".join(parts)
    return bytes([tag]) + _der_length(len(body)) + body, at


def _integer(content: bytes) -> bytes:
    """An INTEGER's octets, minimal (BER lets a writer pad with 00 or FF)."""
    pad = content[:1]
    if pad not in (b"\x00", b"\xff"):
        return content
    kept = content.lstrip(pad)
    sign = 0x80 if pad == b"\xff" else 0
    return pad + kept if not kept or kept[0] & 0x80 != sign else kept


def _scalar(element: bytes) -> bytes:
    """SEC1's privateKey OCTET STRING (DER) with its scalar at its curve's size: zero padding cut,
    or the leading zeros a minimal writer (Java, OpenSSL 1.0) left out put back."""
    content = element[2 + (element[1] & 0x7F if element[1] & 0x80 else 0):]
    for size in (32, 48, 66):
        if size < len(content) <= size + 2 and not any(content[:len(content) - size]):
            return bytes([0x04, size]) + content[len(content) - size:]
        if size - 2 <= len(content) < size:
            return bytes([0x04, size]) + bytes(size - len(content)) + content
    return element


def _der_length(size: int) -> bytes:
    if size < 0x80:
        return bytes([size])
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets


def _ber(reader: _Reader, data: bytes | mmap.mmap, match: re.Match[bytes], name: str) -> None:
    blob = bytes(data[match.start():match.start() + BER_REACH])
    try:
        der, used = _definite(blob, 0, 0, [0])
        if der == blob[:used]:
            return  # DER already: the reader's DER rule
        key = serialization.load_der_private_key(der, None, unsafe_skip_rsa_key_validation=True)
    except Exception:
        return
    reader.private_key(key, "ber", name, (match.start(), match.start() + used))


def _cbor_item(data: bytes, at: int) -> tuple[int, int, int]:
    """(major type, value, offset after the head) of one CBOR head, any argument width."""
    initial = data[at]
    extra = initial & 0x1F
    if extra <= 23:
        return initial >> 5, extra, at + 1
    if extra >= 28:
        raise ValueError("unsupported")
    width = 2 ** (extra - 24)
    if at + 1 + width > len(data):
        raise ValueError("short")
    return initial >> 5, int.from_bytes(data[at + 1:at + 1 + width], "big"), at + 1 + width


def _cose(reader: _Reader, data: bytes | mmap.mmap, match: re.Match[bytes], name: str) -> None:
    low = max(0, match.start() - 300)
    blob = bytes(data[low:match.start() + 400])
    anchor = match.start() - low
    for start in range(anchor - 1, -1, -1):
        if blob[start] & 0xE0 != 0xA0:
            continue
        try:
            _, count, at = _cbor_item(blob, start)
            if count > 20:
                continue
            entries: dict[int, Any] = {}
            for _ in range(count):
                sign, label, at = _cbor_item(blob, at)
                if sign > 1:
                    raise ValueError("label")
                label = label if sign == 0 else ~label
                kind, value, at = _cbor_item(blob, at)
                if kind == 2:
                    if at + value > len(blob):
                        raise ValueError("short")
                    entries[label] = blob[at:at + value]
                    at += value
                elif kind in (0, 1):
                    entries[label] = value if kind == 0 else ~value
                else:
                    raise ValueError("value")
        except (ValueError, IndexError):
            continue
        secret = entries.get(-4)
        if at <= anchor or entries.get(1) not in (1, 2) or not isinstance(secret, bytes):
            continue
        here = (low + start, low + at)
        try:
            if entries[1] == 2:
                key: Any = ec.derive_private_key(int.from_bytes(secret, "big"), _CURVES[entries[-1]])
            else:
                key = ed25519.Ed25519PrivateKey.from_private_bytes(secret)
        except Exception:
            reader.found("cose", name, "COSE_Key with a private -4 that does not load", here)
            return
        reader.private_key(key, "cose", name, here)
        return


_RULES.extend([(b"-----BEGIN ", _BEGIN, _cut_armour), (b"kty", _KTY, _dict_jwk),
               (b"RSAKeyValue", _XML_KEY, _rsa_key_value), (b"\x02\x01", _BER, _ber),
               (b"\x02\x02\x00", _BER_PADDED, _ber), (b"\x02\x81", _BER_LONG, _ber),
               *((form, label, _cose) for form, label in zip(_COSE_FORMS, _COSE_LABELS, strict=True))])
