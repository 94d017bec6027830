"""Private keys as text: PEM (any label with PRIVATE KEY, a body required), OpenSSH, PuTTY,
the ssh.com (SECSH) private key armour, bare base64 DER (decoded and confirmed by the DER parser) and JWK/JWKS JSON with private
members (d, p, q, dp, dq, qi, k), in ASCII and in UTF-16LE; other writers' forms in textforms.py, OpenSSL's text
printout of a key (`openssl pkey -text`) in keytext.py.

UTF-16LE text is found by literal anchors (the UTF-16 form of each pattern's start); the
run of UTF-16 text around an anchor is decoded to ASCII and scanned by the same matchers,
and offsets are mapped back (two bytes per character).
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_ssh_private_key
from joserfc.jwk import JWKRegistry

from ..ansi_text import ansi_regions
from ..chunks import Chunk
from ..findings import Finding, merge_spans
from .base import BaseDetector
from .der import classify_der, consistent
from .der_cut import CutChecks, cut_key
from .keytext import keytext_hits
from .printed_numbers import printed_number_hits
from .textforms import ber_keys, cose_keys, jwk_like, prefixed_cut_pem, xml_rsa

PEM_BEGIN = re.compile(rb"-----BEGIN ([A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?)-----")
PEM_BODY = re.compile(rb"(?:[ \t]*(?:\r?\n|\\n)[ \t]*[A-Za-z][A-Za-z0-9-]*:[^\r\n]*)*"
                      rb"((?:[ \t\r\n]|\\n)*[A-Za-z0-9+/=](?:[A-Za-z0-9+/=\r\n \t]|\\n){31,65536})")
PUTTY = re.compile(rb"PuTTY-User-Key-File-[23]: [A-Za-z0-9-]{3,40}\r?\n")
PUTTY_PRIVATE = re.compile(rb"Private-Lines: (\d{1,4})\r?\n((?:[A-Za-z0-9+/=]{1,128}\r?\n?)+)")
PUTTY_MAC = re.compile(rb"Private-MAC: [0-9a-fA-F]{16,128}")
SSH2_BEGIN = re.compile(rb"---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----")
SSH2_END = b"---- END SSH2 ENCRYPTED PRIVATE KEY ----"
SSH2_MAGIC = b"\x3f\x6f\xf9\xeb"  # ssh.com's private key blob (puttygen -O private-sshcom, ssh-keygen -i)
# lines joined however they are indented (YAML `!!binary |`, pretty-printed XML, CRLF); padding ends a run
BASE64_DER = re.compile(rb"M[A-Za-z0-9+/]{43,}(?:(?:\r?\n|\\n)[ \t]*[A-Za-z0-9+/]{4,})*={0,2}")
JWK_MEMBER = re.compile(rb'"(d|p|q|dp|dq|qi|k)"\s{0,8}:\s{0,8}"([A-Za-z0-9_-]{16,})"')
UTF16_ANCHORS = [s.encode("utf-16-le") for s in ("-----BEGIN ", "---- BEGIN SSH2", "PuTTY-User-Key", '"d"', '"k"', '"p"', "MII", "MIG",
                                                  "MHc", "MC4", "MFE", "MFM")]
UTF16_PREFIX = re.compile(rb'[-P"M]\x00[-uIHCFdkpq]\x00')


@dataclass(frozen=True)
class TextHit:
    start: int
    end: int
    kind: str
    key: Any = None


def _load_pem(label: bytes, text: bytes) -> tuple[str, Any]:
    pem = text.replace(b"\\n", b"\n")
    kind = "pem-" + label.decode().lower().replace(" ", "-")
    key: Any
    try:
        if label == b"OPENSSH PRIVATE KEY":
            key = load_ssh_private_key(pem, password=None)
        else:
            key = load_pem_private_key(pem, password=None, unsafe_skip_rsa_key_validation=True)
        return kind, key if consistent(key) else None
    except TypeError:
        return kind + "-encrypted", None
    except Exception:  # truncated, encrypted OpenSSH, unsupported: still a private key in text
        return kind, None


MAX_ARMOUR = 64 << 10  # BEGIN to END of one armoured key, at most
ARMOUR_CHARS = re.compile(rb"[A-Za-z0-9+/]")


def armoured(between: bytes) -> bool:
    """Text between a private key's BEGIN and END lines that holds a key's worth of base64 (100
    or more base64 characters, 16 or more distinct: not a redacted `xxxx` body), however its
    lines are prefixed or joined (a log's `issuer-1  | `, `> `, `# `, `"..\n" +`, `&#xA;`, `<br>`)."""
    found = ARMOUR_CHARS.findall(between)
    return len(found) >= 100 and len(set(found)) >= 16


def _pem(text: bytes) -> Iterator[TextHit]:
    for match in PEM_BEGIN.finditer(text):
        trailer = b"-----END " + match.group(1) + b"-----"
        close = text.find(trailer, match.end(), match.end() + MAX_ARMOUR)
        if close >= 0 and armoured(text[match.end():close]):
            # the whole armour, BEGIN to END, whatever is written between the lines: a key that
            # does not load as written is a private key all the same
            end = close + len(trailer)
            kind, key = _load_pem(match.group(1), text[match.start():end])
            yield TextHit(match.start(), end, kind, key)
            continue
        cut = prefixed_cut_pem(text, match.start(), match.end())
        if cut is not None:  # cut before END behind a log prefix (issuer-1  | ): a key all the same
            yield TextHit(match.start(), cut, "pem-" + match.group(1).decode().lower().replace(" ", "-") + "-cut")
            continue
        body = PEM_BODY.match(text, match.end())
        if body is None:
            continue
        chars = sum(1 for c in body.group(1) if c not in b" \t\r\n\\")
        if chars < 32:
            continue
        end = body.end()
        trailer = b"-----END " + match.group(1) + b"-----"
        if text.startswith(trailer, end):
            end += len(trailer)
        kind, key = _load_pem(match.group(1), text[match.start():end])
        yield TextHit(match.start(), end, kind, key)


def _putty(text: bytes) -> Iterator[TextHit]:
    for match in PUTTY.finditer(text):
        private = PUTTY_PRIVATE.search(text, match.end(), match.end() + 16384)
        if private is None:
            continue
        end = private.end()
        mac = PUTTY_MAC.match(text, end)
        if mac is not None:
            end = mac.end()
        yield TextHit(match.start(), end, "putty-private-key")


def _ssh2(text: bytes) -> Iterator[TextHit]:
    """The ssh.com private key armour, BEGIN to END: "ENCRYPTED" in its label whatever the cipher
    (`none` is what puttygen writes without a passphrase). Its blob (magic 3f6ff9eb, key type,
    cipher, key data) names the cipher; armour with a key's worth of base64 that does not decode to
    it is a private key all the same."""
    for match in SSH2_BEGIN.finditer(text):
        close = text.find(SSH2_END, match.end(), match.end() + MAX_ARMOUR)
        if close < 0 or not armoured(text[match.end():close]):
            continue
        yield TextHit(match.start(), close + len(SSH2_END), "sshcom-private-key" + _ssh2_cipher(text[match.end():close]))


def _ssh2_cipher(between: bytes) -> str:
    """"" for cipher none, "-encrypted" for another, "-undecoded" when the body is not the blob."""
    lines = re.split(rb"\r?\n|\\n", between)
    body, header = b"", False
    for line in lines:
        line = line.strip()
        if header or re.match(rb"[A-Za-z][A-Za-z0-9-]*:", line):  # header lines, `\` continues one
            header = line.endswith(b"\\")
            continue
        body += line
    try:
        blob = base64.b64decode(body + b"=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        return "-undecoded"
    if not blob.startswith(SSH2_MAGIC) or len(blob) < 16:
        return "-undecoded"
    kind_length = int.from_bytes(blob[8:12], "big")
    at = 12 + kind_length
    cipher_length = int.from_bytes(blob[at:at + 4], "big")
    return "" if blob[at + 4:at + 4 + cipher_length] == b"none" else "-encrypted"


def _base64_der(text: bytes, covered: list[tuple[int, int]]) -> Iterator[TextHit]:
    for match in BASE64_DER.finditer(text):
        if any(s <= match.start() < e for s, e in covered):
            continue
        compact = re.sub(rb"\r|\n|\\n|[ \t]", b"", match.group(0)).rstrip(b"=")
        if len(compact) % 4 == 1:
            compact = compact[:-1]  # a word line joined at the end: cut, the DER has its own length
        compact += b"=" * (-len(compact) % 4)
        try:
            blob = base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError):
            continue
        hit = classify_der(blob, 0)
        if hit is not None:
            yield TextHit(match.start(), match.end(), "base64-" + hit.kind, hit.key)
            continue
        shortened = cut_key(blob, 0, CutChecks())  # a key cut short after its secret, any head (der_cut.py)
        # (a whole key in BER is not cut short: the BER rule reads it in the decoded run's view)
        if shortened is not None and next(ber_keys(blob), None) is None:
            yield TextHit(match.start(), match.end(), "base64-" + shortened[1], shortened[2])


def _jwk(text: bytes) -> Iterator[TextHit]:
    done_until = -1
    for match in JWK_MEMBER.finditer(text):
        if match.start() < done_until:
            continue
        left = text.rfind(b"{", max(0, match.start() - 16384), match.start())
        right = text.find(b"}", match.end(), match.end() + 16384)
        hit: TextHit | None = None
        if left >= 0 and right >= 0:
            try:
                jwk = json.loads(text[left:right + 1])
            except ValueError:
                jwk = None
            if isinstance(jwk, dict) and isinstance(jwk.get("kty"), str):
                kty = jwk["kty"].lower()
                try:
                    key = JWKRegistry.import_key(jwk)
                    private = None if kty == "oct" else key.private_key
                except Exception:
                    private = None
                hit = TextHit(left, right + 1, f"jwk-{kty}-private", private)
        if hit is None:  # torn or embedded: the member alone is still secret
            hit = TextHit(match.start(), match.end(), "jwk-private-member")
        done_until = hit.end
        yield hit


def text_hits(text: bytes, cut: list[str] | None = None) -> list[TextHit]:
    """Every text secret in `text` (ASCII), in order of start; a bounded rule that stopped at its
    bound says so in `cut`."""
    hits = list(_pem(text))
    covered = [(h.start, h.end) for h in hits]
    hits += list(_putty(text))
    hits += list(_ssh2(text))
    hits += list(_base64_der(text, covered))
    hits += list(_jwk(text))
    covered = [(h.start, h.end) for h in hits]
    for start, end, kind, key in itertools.chain(jwk_like(text, covered), xml_rsa(text), ber_keys(text, cut),
                                                  cose_keys(text), keytext_hits(text, cut),
                                                  printed_number_hits(text, cut)):
        hits.append(TextHit(start, end, kind, key))
    hits += list(_vault_tokens(text))
    return sorted(hits, key=lambda h: (h.start, -h.end))


# OpenBao/Vault tokens: `s.`, `b.`, `r.` + 24 base62 characters (OpenBao service tokens, Vault before
# 1.10), `b.` (OpenBao batch tokens) or `s.`, `r.` + 90 or more base64url characters, and `hvs.`, `hvb.`,
# `hvr.` + 24 or more (Vault 1.10 on: 90 and more in practice). The issuer's Transit token is in its
# memory, so in its crash core: whoever holds it can sign with the realm's keys until it expires.
# The independent reader (recheck.py) has its own pattern and rule, the same ones written apart.
VAULT_TOKEN = re.compile(rb"(?<![A-Za-z0-9_.-])(?:hv[sbr]\.[A-Za-z0-9_-]{24,400}|[sbr]\.[A-Za-z0-9_-]{90,400}"
                         rb"|[sbr]\.[A-Za-z0-9]{24})(?![A-Za-z0-9_-])")


def vault_token_matches(text: bytes) -> Iterator[re.Match[bytes]]:
    """`VAULT_TOKEN.finditer(text)`, found fast: every match starts at a `s.`, `b.` or `r.`
    (or two bytes before one, `hv`), which `bytes.find` locates at memchr speed, and the pattern
    is tried only there (its lookbehind sees the bytes before the start). finditer itself tried
    the pattern at every byte: 1 s of a 32 MiB dense core's 1.1 s here went to that."""
    starts: list[int] = []
    for literal in (b"s.", b"b.", b"r."):
        at = text.find(literal)
        while at != -1:
            starts.append(at)
            at = text.find(literal, at + 2)
    starts.sort()
    end = 0
    for at in starts:
        for start in (at - 2, at):  # `hv` + the literal, else the literal
            if start < end:
                continue
            match = VAULT_TOKEN.match(text, start)
            if match is not None:
                yield match
                end = match.end()
                break


def _vault_tokens(text: bytes) -> Iterator[TextHit]:
    for match in vault_token_matches(text):
        if _random_token_body(match.group(0).split(b".", 1)[1]):
            yield TextHit(match.start(), match.end(), "vault-token")


def _random_token_body(body: bytes) -> bool:
    """A token's random body, not an identifier or words: two capitals and two small letters at
    least, and a digit or, without one, two capitals side by side and a change of character class
    (capital, small, digit, other) every third character at least (changes * 3 >= length).
    Measured: 89 of 100,000 random 24-character base62 bodies fail (no digit, no two capitals
    together; the test counts it, seeded), none of 90-character base64url ones; of 282 identifiers
    of 24 letters and digits behind a dot in Python's library, the venv's packages and Debian's
    node modules 6 pass (a digit or an acronym), 40 under the rule before (a digit or a class change
    every third character), which CamelCase words make."""
    upper = sum(1 for c in body if 65 <= c <= 90)
    lower = sum(1 for c in body if 97 <= c <= 122)
    digits = sum(1 for c in body if 48 <= c <= 57)
    if upper < 2 or lower < 2:
        return False
    if digits:
        return True
    capitals_together = any(65 <= a <= 90 and 65 <= b <= 90 for a, b in itertools.pairwise(body))
    changes = sum(1 for a, b in itertools.pairwise(body) if _class(a) != _class(b))
    return capitals_together and changes * 3 >= len(body)


def _class(c: int) -> int:
    return 0 if 65 <= c <= 90 else 1 if 97 <= c <= 122 else 2 if 48 <= c <= 57 else 3


def _utf16_runs(data: bytes) -> list[tuple[int, int]]:
    """[start, end) of the UTF-16LE text runs (at most 64 KiB either side) around each anchor, merged.

    One regex pass finds the first two UTF-16 characters of any anchor (bytes.find on a
    pattern holding 0x00 crawls through zero-filled memory); hits are then checked in full."""
    runs: list[tuple[int, int]] = []
    last_end = -1
    for match in UTF16_PREFIX.finditer(data):
        position = match.start()
        if position < last_end or not any(data.startswith(anchor, position) for anchor in UTF16_ANCHORS):
            continue
        start = position
        while start >= 2 and position - start < 65536 and 0x09 <= data[start - 2] < 0x7F and data[start - 1] == 0:
            start -= 2
        end = position
        while end + 1 < len(data) and end - position < 65536 and 0x09 <= data[end] < 0x7F and data[end + 1] == 0:
            end += 2
        runs.append((start, end))
        last_end = end
    return merge_spans(runs)


class TextDetector(BaseDetector):
    """PEM, OpenSSH, PuTTY, base64 DER and JWK private keys in ASCII and UTF-16LE text."""

    name = "text"

    def __init__(self) -> None:
        self._cut: list[str] = []

    def incomplete(self) -> list[str]:
        """The views whose BER anchors passed `textforms.MAX_BER_ANCHORS` (kept, as known_key does)."""
        return sorted(set(self._cut))

    def scan(self, chunk: Chunk) -> Iterator[Finding]:
        for hit in text_hits(chunk.data, self._cut):
            if chunk.owns(hit.start):
                yield self.found(chunk, hit.start, hit.end - hit.start, hit.kind, "ascii", hit.key)
        for region in ansi_regions(chunk.data, self._cut):  # coloured text, read as a terminal shows it
            for hit in text_hits(region.text, self._cut):
                start, end = region.span(hit.start, hit.end)
                if chunk.owns(start):
                    yield self.found(chunk, start, end - start, hit.kind, "ansi", hit.key)
        for start, end in _utf16_runs(chunk.data):
            decoded = bytes(chunk.data[start:end:2])
            for hit in text_hits(decoded, self._cut):
                if chunk.owns(start + 2 * hit.start):
                    yield self.found(chunk, start + 2 * hit.start, 2 * (hit.end - hit.start), hit.kind, "utf-16le",
                                     hit.key)


__all__ = ["TextDetector", "TextHit", "text_hits"]
