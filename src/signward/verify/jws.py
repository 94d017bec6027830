"""Strict compact JWS parsing (RFC 7515) and header rules.

Strict means: at most 16 KiB, exactly three parts, base64url without padding and in its
one canonical form, header and payload JSON objects with no duplicate member names
(RFC 7515 5.2 lets a parser reject them; we do), and the header rules that stop key
confusion: the algorithm allowlist, no key references, and `crit` honoured.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from ..algorithms import Alg
from ..errors import Rejected
from .reasons import Reason

MAX_TOKEN = 16 * 1024
B64URL = re.compile(r"[A-Za-z0-9_-]*")
ALLOWED_ALGS = frozenset(a.value for a in Alg)
KEY_REFERENCES = ("jku", "x5u", "jwk", "x5c")
UNDERSTOOD_CRIT: frozenset[str] = frozenset()  # no JWS extension is processed


@dataclass(frozen=True)
class ParsedJws:
    header: dict[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes

    @property
    def alg(self) -> str:
        return str(self.header["alg"])

    @property
    def kid(self) -> str | None:
        kid = self.header.get("kid")
        return kid if isinstance(kid, str) else None


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}


def b64url_decode(part: str) -> bytes:
    """Strict base64url: URL alphabet, no padding, and the canonical encoding of its bytes
    (the unused low bits of the last character must be zero)."""
    if not B64URL.fullmatch(part):
        raise Rejected(Reason.MALFORMED, "bad base64url")
    rest = len(part) % 4
    if rest == 1 or (rest == 2 and _INDEX[part[-1]] & 0x0F) or (rest == 3 and _INDEX[part[-1]] & 0x03):
        raise Rejected(Reason.MALFORMED, "non-canonical base64url")
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise Rejected(Reason.MALFORMED, "bad base64url") from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise Rejected(Reason.MALFORMED, f"duplicate member {key!r}")
        obj[key] = value
    return obj


def _reject_constant(name: str) -> Any:
    raise Rejected(Reason.MALFORMED, f"non-standard JSON constant {name}")


_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)


def json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        text = data.decode("utf-8")
        value = _DECODER.decode(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Rejected(Reason.MALFORMED, f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise Rejected(Reason.MALFORMED, f"{what} is not a JSON object")
    return value


def parse(token: str | bytes) -> ParsedJws:
    """Parse a compact JWS and apply the header rules; raises Rejected."""
    if isinstance(token, bytes):
        try:
            token = token.decode("ascii")
        except UnicodeDecodeError:
            raise Rejected(Reason.MALFORMED, "not ASCII") from None
    if not isinstance(token, str):
        raise Rejected(Reason.MALFORMED, "not a string")
    if len(token) > MAX_TOKEN:
        raise Rejected(Reason.MALFORMED, f"longer than {MAX_TOKEN} bytes")
    parts = token.split(".")
    if len(parts) != 3:
        raise Rejected(Reason.MALFORMED, "not three parts")
    header = json_object(b64url_decode(parts[0]), "header")
    payload = b64url_decode(parts[1])
    signature = b64url_decode(parts[2])
    check_header(header)
    return ParsedJws(header=header, payload=payload, signing_input=f"{parts[0]}.{parts[1]}".encode("ascii"),
                     signature=signature)


def check_header(header: dict[str, Any]) -> None:
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise Rejected(Reason.MALFORMED if "alg" in header else Reason.ALG_NOT_ALLOWED, "alg missing or not a string")
    if alg not in ALLOWED_ALGS:
        raise Rejected(Reason.ALG_NOT_ALLOWED, f"alg {alg!r} is not allowed")
    present = [name for name in KEY_REFERENCES if name in header]
    if present:
        raise Rejected(Reason.UNTRUSTED_KEY_REFERENCE, f"header carries {', '.join(present)}")
    if "crit" in header:
        crit = header["crit"]
        if not isinstance(crit, list) or not crit or not all(isinstance(c, str) for c in crit):
            raise Rejected(Reason.MALFORMED, "crit must be a non-empty list of strings")
        unknown = [c for c in crit if c not in UNDERSTOOD_CRIT]
        if unknown:
            raise Rejected(Reason.UNSUPPORTED_CRIT, f"unsupported crit {unknown}")
    if "kid" in header and not isinstance(header["kid"], str):
        raise Rejected(Reason.MALFORMED, "kid is not a string")
    if "typ" in header and not isinstance(header["typ"], str):
        raise Rejected(Reason.MALFORMED, "typ is not a string")
    if header.get("b64") is False:
        raise Rejected(Reason.UNSUPPORTED_CRIT, "unencoded payloads (b64: false) are not supported")


def peek_kid(token: str) -> str | None:
    """The kid a token's header names, or None when the header does not parse. No rule is
    applied: for scheduling a check (could it need a key refresh?), never for trusting one."""
    head = token.split(".", 1)[0]
    if len(token) > MAX_TOKEN or not head:
        return None
    try:
        header = json_object(b64url_decode(head), "header")
    except Rejected:
        return None
    kid = header.get("kid")
    return kid if isinstance(kid, str) else None
