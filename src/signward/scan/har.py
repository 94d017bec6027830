"""HAR files (HTTP Archive 1.2): the secrets a recorded browser session carries, by byte span.

In October 2023 HAR files uploaded to a support system held live session tokens. A HAR is
JSON; this module parses it with a decoder whose string scanner records where every string
lies in the file, so each secret is reported as the exact byte span of its value and can be
overwritten in place with printable bytes of the same length: the file stays valid JSON and
still opens in a HAR viewer (the sanitizer checks that it parses afterwards).

What is a secret here (`scan`):
- JWS / JWT compact tokens anywhere (headers, cookies, URLs, bodies): the *signature* segment
  is the finding, so redaction kills the token and leaves its header and claims readable.
  A token signed by a known key (`--keys`, the home's public keys, canary keys) is verified
  and reported with its kid, issuer and expiry: "a live token of realm X valid until T";
- `Authorization` and `Proxy-Authorization` header values, `Cookie` / `Set-Cookie` headers
  and the HAR's parsed cookie values;
- OAuth and SAML credentials by name in query strings, form and JSON bodies (`client_secret`,
  `code`, `refresh_token`, `access_token`, `id_token`, `SAMLResponse`, `password`, ...);
- API keys by well-known patterns (AWS, GitHub, Slack, Google, Stripe).
Private keys in bodies are found by the byte detectors that also run over the file.

Every layer a HAR reader decodes is scanned too (`scan_views`, with `views.py`): JSON strings
unescaped, `"encoding": "base64"` bodies, bodies with `Content-Encoding` gzip/deflate/br,
`data:` URLs, percent-encoding, base64 and hex runs, UTF-16 text. The byte detectors and the
token checks run over every view; a finding in a view is the WHOLE raw JSON string that encodes
it (the file offset and length of its text between the quotes). Views past the expansion budget,
a br body without a brotli package and a compressed body that does not end are `incomplete`.

A value made only of `REDACTED_CHAR` is a redacted one and never a finding again.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DumpFormatError
from . import views as decoded_views
from .findings import Finding
from .jose import ALGORITHMS, iso, signature_ok
from .knownkeys import KnownKeys

if TYPE_CHECKING:
    from .detectors.base import Detector

DETECTOR = "har"
MAX_HAR_BYTES = 512 << 20  # a HAR is parsed whole: larger ones are refused
MAX_JSON_VALUES = 1_000_000  # JSON lines parsed for their string views (a docker log of 200 MB)
REDACTED_CHAR = "x"
JWS = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{16,}")
CREDENTIAL_NAMES = frozenset({
    "client_secret", "code", "refresh_token", "access_token", "id_token", "samlresponse", "samlrequest",
    "password", "passwd", "client_assertion", "assertion", "code_verifier", "device_code", "api_key", "apikey",
    "token", "session", "sessionid", "session_id", "secret", "private_key",
})
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key",
                            "x-auth-token", "x-amz-security-token"})
API_KEYS = [
    ("aws-access-key-id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("github-token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),
    ("slack-token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b")),
    ("google-api-key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("stripe-secret-key", re.compile(r"\b[sr]k_live_[0-9A-Za-z]{20,}\b")),
]

PATTERNS = re.compile("|".join([f"(?P<jws>{JWS.pattern})"] +
                               [f"(?P<{kind.replace('-', '_')}>{pattern.pattern})" for kind, pattern in API_KEYS]))
BYTE_PATTERNS = re.compile(PATTERNS.pattern.encode())  # the same, over decoded views as they are
TEXT_BYTES = bytes(range(0x20, 0x7F)) + b"\t\r\n"


@dataclass(frozen=True)
class JsonString:
    """One JSON string of the document: its value and the span of its raw text between the quotes."""

    value: str
    start: int
    end: int


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def looks_like_har(head: bytes) -> bool:
    """A JSON object whose first member is `log` (how every HAR writer starts), that name written
    in any legal escapes (`"\\u006cog"`), or a head too short to tell (whitespace or escapes
    running past it): a hostile writer is not sniffed into the raw scanner. A `log` whose value is
    a string is docker's json-file log (`{"log":"a line\\n",...}` a line), not a HAR (whose `log`
    is an object): read as JSON lines, with its records' messages joined (`log_records.py`)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text.startswith(b"{"):
        return False
    rest = text[1:].lstrip(b" \t\r\n")
    if not rest:
        return True
    if not rest.startswith(b'"'):
        return False
    name = STRING_TOKEN.match(rest)
    if name is None:
        return True  # the first name runs past the head
    try:
        if json.loads(name.group(0)) != "log":
            return False
    except ValueError:
        return False
    return not LOG_STRING.match(rest, name.end())  # `"log":"...`: docker's json-file log


LOG_STRING = re.compile(rb'[ \t\r\n]*:[ \t\r\n]*"')


def looks_like_json(head: bytes) -> bool:
    """A JSON object or array at the start (after a BOM and whitespace): its strings have views."""
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[")


STRING_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def parse(raw: bytes, require_har: bool = True) -> tuple[Any, list[JsonString]]:
    """The document and every string in it with its byte span in `raw` (between the quotes).

    The document is parsed by the json module (C); the strings are then tokenised from the raw
    bytes in one regex pass, which in valid JSON finds exactly the string tokens, in document
    order, with their exact offsets (a string with escapes is decoded by json, the others are
    their own bytes)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DumpFormatError(f"not UTF-8 JSON (byte {exc.start})") from None
    text = text.lstrip("\ufeff")
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        document = None if require_har else _json_lines(text)
        if document is None:
            raise DumpFormatError(f"not a JSON document ({str(exc)[:80]})") from None
    if require_har and not _is_har(document):
        raise DumpFormatError("not a HAR (an object with log.entries)")
    strings = []
    for match in STRING_TOKEN.finditer(raw):
        token = match.group(0)
        value = json.loads(token) if b"\\" in token else token[1:-1].decode("utf-8")
        strings.append(JsonString(value, match.start() + 1, match.end() - 1))
    return document, strings


def _json_lines(text: str) -> list[Any] | None:
    """JSON values one after another, whitespace between (JSON lines: docker's json-file log,
    journald's `-o json`, NDJSON), as the list of them; None if any part is not JSON or there are
    more than MAX_JSON_VALUES (the file then has no JSON views: its raw bytes are still scanned)."""
    decoder = json.JSONDecoder()
    values: list[Any] = []
    position = 0
    try:
        while True:
            while position < len(text) and text[position] in " \t\r\n":
                position += 1
            if position == len(text):
                return values
            if len(values) == MAX_JSON_VALUES:
                return None
            value, position = decoder.raw_decode(text, position)
            values.append(value)
    except (ValueError, RecursionError):
        return None


def _is_har(document: Any) -> bool:
    return isinstance(document, dict) and isinstance(document.get("log"), dict) \
        and isinstance(document["log"].get("entries"), list)


def read(path: Path) -> tuple[bytes, Any, list[JsonString]]:
    size = path.stat().st_size
    if size > MAX_HAR_BYTES:
        raise DumpFormatError(f"{path}: a HAR of {size} bytes is over the {MAX_HAR_BYTES >> 20} MiB limit")
    raw = path.read_bytes()
    try:
        document, strings = parse(raw)
    except DumpFormatError as exc:
        raise DumpFormatError(f"{path}: {exc}") from None
    return raw, document, strings


def _redacted(value: str) -> bool:
    return bool(value) and not value.strip(REDACTED_CHAR)


def char_offsets(segment: bytes) -> list[int]:
    """For the raw text of a JSON string (between its quotes), the byte offset where each decoded
    character starts, and its length at the end: escapes (`\\n`, `\\uXXXX`, surrogate pairs) and
    UTF-8 sequences are one character each."""
    out, i = [], 0
    while i < len(segment):
        out.append(i)
        byte = segment[i]
        if byte == 0x5C:
            if segment[i + 1:i + 2] == b"u":
                try:
                    code = int(segment[i + 2:i + 6], 16)
                    pair = 0xD800 <= code < 0xDC00 and segment[i + 6:i + 8] == b"\\u" and \
                        0xDC00 <= int(segment[i + 8:i + 12], 16) < 0xE000
                except ValueError:
                    pair = False
                i += 12 if pair else 6
            else:
                i += 2
        else:
            i += 1 if byte < 0x80 else 4 if byte >= 0xF0 else 3 if byte >= 0xE0 else 2
    out.append(len(segment))
    return out


class _Locator:
    """Maps a secret inside a decoded string to its bytes in the file."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def span(self, string: JsonString, start: int, end: int) -> tuple[int, int]:
        offsets = char_offsets(self.raw[string.start:string.end])
        if len(offsets) != len(string.value) + 1:
            return string.start, string.end  # should not happen: then the whole value
        return string.start + offsets[start], string.start + offsets[end]


def _verify(token: str, signing_end: int, known: KnownKeys) -> tuple[str | None, str]:
    """(kid, detail) of a JWS signed by a known key, else (None, what the header says)."""
    head, _, rest = token.partition(".")
    try:
        header = json.loads(_b64url(head))
        claims = json.loads(_b64url(rest.partition(".")[0]))
        signature = _b64url(token[signing_end + 1:])
    except (ValueError, binascii.Error):
        return None, "unparsable token"
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None, "unparsable token"
    kid, alg = header.get("kid"), header.get("alg")
    issuer, exp = claims.get("iss"), claims.get("exp")
    until = iso(float(exp)) if isinstance(exp, (int, float)) and not isinstance(exp, bool) else None
    described = f"alg {alg}, kid {kid}, iss {issuer}" + (f", exp {until}" if until else "")
    if alg not in ALGORITHMS:
        return None, described
    algorithm = str(alg)
    for key in known.keys:
        if kid is not None and key.kid != kid:
            continue
        if signature_ok(key.public_key, algorithm, token[:signing_end].encode(), signature):
            realm = issuer if isinstance(issuer, str) else "?"
            return key.kid, f"a live token of realm {realm} signed by {key.kid}" + \
                (f", valid until {until}" if until else "")
    return None, described


def _walk(document: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(document, dict):
        for name, value in document.items():
            yield from _walk(value, f"{path}.{name}" if path else str(name))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from _walk(value, f"{path}[{index}]")
    yield path, document


def _named_values(document: Any) -> Iterator[tuple[str, str]]:
    """(name, value) pairs of the HAR's name/value lists: headers, cookies, query, form params."""
    for _, node in _walk(document):
        if isinstance(node, dict) and isinstance(node.get("name"), str) and isinstance(node.get("value"), str):
            yield node["name"], node["value"]


def _body_credentials(text: str) -> Iterator[tuple[str, int, int]]:
    """Credentials by name inside a string holding a query, a form or a JSON body: (kind, start, end)."""
    for match in re.finditer(r'(?:^|[?&;\s,{"])("?)([A-Za-z_][A-Za-z0-9_.-]{0,40})\1\s*(?:=|:(?!//))\s*"?'
                             r'([^&;"\s,}]{4,})', text):
        name = match.group(2).lower()
        if name in CREDENTIAL_NAMES:
            yield f"credential:{name}", match.start(3), match.end(3)


def scan(path: Path, known: KnownKeys | None = None) -> list[Finding]:
    """Every secret of the HAR at `path` as a byte span of the file."""
    raw, document, strings = read(path)
    return scan_parsed(raw, document, strings, known or KnownKeys())


def scan_parsed(raw: bytes, document: Any, strings: list[JsonString], known: KnownKeys) -> list[Finding]:
    locate = _Locator(raw)
    findings: set[Finding] = set()

    def add(string: JsonString, start: int, end: int, kind: str, kid: str | None = None, detail: str = "") -> None:
        if _redacted(string.value[start:end]):
            return
        if kind != "jws-signature" and JWS.fullmatch(string.value[start:end]):
            return  # a token: its signature is the finding, its claims stay readable
        first, last = locate.span(string, start, end)
        findings.add(Finding(first, last - first, DETECTOR, kind, "har", kid=kid, verified=kid is not None,
                             detail=detail))

    secret_values = {value for name, value in _named_values(document)
                     if name.lower() in SECRET_HEADERS or name.lower() in CREDENTIAL_NAMES}
    for string in strings:
        value = string.value
        if len(value) < 4:
            continue
        for match in PATTERNS.finditer(value):  # one pass for tokens and every API key pattern
            if match.lastgroup == "jws":
                token = match.group(0)
                signing_end = token.rindex(".")
                kid, detail = _verify(token, signing_end, known)
                add(string, match.start() + signing_end + 1, match.end(), "jws-signature", kid, detail)
            else:
                add(string, match.start(), match.end(), (match.lastgroup or "").replace("_", "-"))
        if "=" in value or ":" in value:
            for kind, start, end in _body_credentials(value):
                add(string, start, end, kind)
        if value in secret_values and not JWS.fullmatch(value.split(" ", 1)[-1]):
            # a header / cookie / parameter value named as a secret: the credential part of it
            scheme = re.match(r"(?i)(Bearer|Basic|Digest|Negotiate|Token)\s+", value)
            cookie_pairs = list(re.finditer(r"(?:^|;\s*)([^=;\s]+)=([^;]*)", value))
            if scheme:
                add(string, scheme.end(), len(value), "authorization")
            elif cookie_pairs and "=" in value:
                for pair in cookie_pairs:
                    attribute = pair.group(1).lower()
                    if attribute in ("path", "domain", "expires", "max-age", "samesite", "priority"):
                        continue
                    if pair.end(2) > pair.start(2):
                        add(string, pair.start(2), pair.end(2), "cookie-value")
            else:
                add(string, 0, len(value), "secret-value")
    return sorted(findings)


def _hints(document: Any) -> dict[str, decoded_views.Hint]:
    """What the HAR says about body strings, by value: `content.encoding` base64 and the
    response's Content-Encoding (a value met twice decodes the same way both times)."""
    hints: dict[str, decoded_views.Hint] = {}
    log = document.get("log") if isinstance(document, dict) else None
    entries = log.get("entries") if isinstance(log, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        for side in ("request", "response"):
            message = entry.get(side)
            if not isinstance(message, dict):
                continue
            headers = message.get("headers")
            codings = [h["value"] for h in headers if isinstance(h, dict) and isinstance(h.get("name"), str)
                       and h["name"].lower() == "content-encoding" and isinstance(h.get("value"), str)] \
                if isinstance(headers, list) else []
            coding = ", ".join(codings)
            for body in (message.get("content"), message.get("postData")):
                if not isinstance(body, dict) or not isinstance(body.get("text"), str):
                    continue
                encoding = body.get("encoding")
                is_base64 = isinstance(encoding, str) and encoding.lower().replace("-", "") == "base64"
                if is_base64 or coding:
                    hints[body["text"]] = decoded_views.Hint(base64=is_base64, content_encoding=coding)
    return hints


BATCH = 16 << 20  # views are scanned by the byte detectors in batches of about this size
GAP = 64  # zero bytes between views in a batch (and each view starts 64-byte aligned)


TOKEN_STARTS = (b"eyJ", b"AKIA", b"ASIA", b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_", b"xox", b"AIza", b"k_live_")
MAX_TOKEN = 1 << 16  # a token or key in a decoded view is matched within this many bytes of its start


def _byte_matches(data: bytes) -> Iterator[re.Match[bytes]]:
    """`BYTE_PATTERNS` over `data`, tried only where one of its literal starts occurs (found with
    bytes.find: a regex alternation over megabytes of binary costs seconds)."""
    starts = sorted({at for prefix in TOKEN_STARTS for at in _find_all(data, prefix)})
    covered = -1
    for at in starts:
        if at < covered:
            continue
        begin = at - 1 if data[at:at + 7] == b"k_live_" else at  # sk_live_ / rk_live_
        match = BYTE_PATTERNS.match(data, max(0, begin), begin + MAX_TOKEN)
        if match is not None:
            covered = match.end()
            yield match


def _find_all(data: bytes, needle: bytes) -> Iterator[int]:
    at = data.find(needle)
    while at >= 0:
        yield at
        at = data.find(needle, at + 1)


def _token_checks(view: decoded_views.View, root: str, known: KnownKeys) -> Iterator[tuple[str, str | None, str]]:
    """(kind, kid, detail) of every token, API key or named credential in a decoded view that
    does not also stand verbatim in the string's own value (there it is found exactly)."""
    for match in _byte_matches(view.data):  # tokens and API keys are ASCII: binary views too
        found = match.group(0).decode("ascii")
        if found in root:
            continue
        if match.lastgroup == "jws":
            kid, detail = _verify(found, found.rindex("."), known)
            yield "jws-signature", kid, detail
        else:
            yield (match.lastgroup or "").replace("_", "-"), None, ""
    if len(view.data.translate(None, TEXT_BYTES)) * 10 > len(view.data):
        return  # named credentials (`name=value`) only in views that are text
    text = view.data.decode("utf-8", "replace")
    if "=" in text or ":" in text:
        for kind, start, end in _body_credentials(text):
            if text[start:end] not in root and not _redacted(text[start:end]):
                yield kind, None, ""


def scan_views(raw: bytes, document: Any, strings: list[JsonString], known: KnownKeys,
               detectors: "list[Detector]", tokens: bool = True,
               budget: decoded_views.Budget | None = None) -> tuple[list[Finding], list[str]]:
    """Findings in every decoded view of every string of the HAR (each the whole raw string that
    encodes it) and what could not be decoded within the budget. `detectors` are fresh byte
    detectors run over the views; `tokens` adds the HAR token checks on views past JSON."""
    from .chunks import Chunk, Learned
    from .formats import Layout, Region

    budget = budget if budget is not None else decoded_views.Budget.for_size(len(raw))
    hints = _hints(document)
    findings: set[Finding] = set()
    batch: list[bytes] = []
    placed: list[tuple[int, decoded_views.View]] = []  # (position in the batch, view)
    size = 0

    def flush() -> None:
        nonlocal size
        if not placed:
            return
        data = b"".join(batch)
        layout = Layout(format="raw", size=len(data), regions=[Region(0, len(data), None)])
        chunk = Chunk(data, 0, len(data), layout, known, Learned())
        positions = [position for position, _ in placed]
        for detector in detectors:
            for found in detector.scan(chunk):
                first = bisect.bisect_right(positions, found.offset) - 1
                last = bisect.bisect_left(positions, found.end) - 1
                for index in range(max(first, 0), max(last, first, 0) + 1):
                    view = placed[index][1]
                    findings.add(Finding(view.start, view.end - view.start, found.detector, found.kind,
                                         "+".join(view.layers + (found.encoding,)), kid=found.kid,
                                         verified=found.verified, advisory=found.advisory,
                                         detail=f"decoded view {'>'.join(view.layers)}"))
        batch.clear()
        placed.clear()
        size = 0

    for string in strings:
        if len(string.value) < 4 or _redacted(string.value):
            continue
        hint = hints.get(string.value)
        if b"\\" not in raw[string.start:string.end] and hint is None and len(string.value) < 16:
            continue
        for view in decoded_views.string_views(raw, string.start, string.end, budget, hint):
            if tokens and view.layers != ("json",):  # the JSON value itself: `scan_parsed` is exact there
                for kind, kid, detail in _token_checks(view, string.value, known):
                    findings.add(Finding(view.start, view.end - view.start, DETECTOR, kind,
                                         "+".join(view.layers), kid=kid, verified=kid is not None,
                                         detail=detail or f"decoded view {'>'.join(view.layers)}"))
            if not detectors:
                continue
            padding = -size % GAP + GAP
            batch.append(bytes(padding))
            size += padding
            placed.append((size, view))
            batch.append(view.data)
            size += len(view.data)
            if size >= BATCH:
                flush()
    flush()
    for detector in detectors:
        budget.incomplete.extend(f"{detector.name}: {item}" for item in detector.incomplete())
    return sorted(findings), sorted(set(budget.incomplete))


def scan_file(path: Path, known: KnownKeys, detectors: "list[Detector]",
              require_har: bool = True) -> tuple[list[Finding], list[str]]:
    """The HAR's own findings for the scanner: its secrets (when the `har` detector is chosen) and
    every chosen byte detector over every decoded view; and what could not be decoded.
    `require_har=False`: any JSON document (a file the raw scanner reads that starts like JSON);
    one that does not parse as JSON, or is over the HAR size limit, has no views (raw bytes only)."""
    from .detectors import select

    if require_har:
        raw, document, strings = read(path)
    else:
        if path.stat().st_size > MAX_HAR_BYTES:
            return [], []
        raw = path.read_bytes()
        try:
            document, strings = parse(raw, require_har=False)
        except DumpFormatError:
            return [], []
    names = [d.name for d in detectors]
    tokens = DETECTOR in names and (require_har or _is_har(document))  # the HAR's secrets only in a HAR
    findings = scan_parsed(raw, document, strings, known) if tokens else []
    byte_names = [name for name in names if name != DETECTOR]
    fresh = select(byte_names) if byte_names else []
    found, incomplete = scan_views(raw, document, strings, known, fresh, tokens=tokens)
    if not require_har:  # JSON lines: the records' messages joined as the program printed them
        from .log_records import scan_joined

        records, cut = scan_joined(raw, document, strings, known, byte_names)
        found, incomplete = found + records, sorted(set(incomplete) | set(cut))
    return sorted(set(findings) | set(found)), incomplete


def redact(raw: bytes, spans: list[tuple[int, int]], strings: list[JsonString]) -> bytes:
    """`raw` with every span overwritten by REDACTED_CHAR, widened to whole characters (escape
    sequences, UTF-8 sequences) and kept inside the JSON string it starts in, so the result is
    valid JSON of the same length; parts of a span outside strings are left (the re-scan sees them)."""
    data = bytearray(raw)
    interiors = sorted((s.start, s.end) for s in strings)
    starts = [start for start, _ in interiors]
    for first, last in spans:
        index = bisect.bisect_right(starts, first) - 1
        if index < 0 or first >= interiors[index][1]:
            continue  # not inside a string: structure is never touched
        lo, hi = interiors[index]
        boundaries = [lo + offset for offset in char_offsets(raw[lo:hi])]
        first = boundaries[bisect.bisect_right(boundaries, first) - 1]
        last = boundaries[min(len(boundaries) - 1, bisect.bisect_left(boundaries, min(last, hi)))]
        data[first:last] = REDACTED_CHAR.encode() * (last - first)
    return bytes(data)


def whole_strings(spans: list[tuple[int, int]], strings: list[JsonString]) -> list[tuple[int, int]]:
    """Each span widened to the whole raw text of every JSON string it touches (a key found in the
    bytes of a string takes its whole string, so no part of it, and nothing encoded beside it in
    that string, is left to help recover it); parts outside strings stay as they are."""
    interiors = sorted((s.start, s.end) for s in strings)
    starts = [start for start, _ in interiors]
    widened = []
    for first, last in spans:
        index = max(0, bisect.bisect_right(starts, first) - 1)
        low, high = first, last
        while index < len(interiors) and interiors[index][0] < last:
            start, end = interiors[index]
            if end > first:  # [start, end) overlaps [first, last)
                low, high = min(low, start), max(high, end)
            index += 1
        widened.append((low, high))
    return widened


def check_still_har(raw: bytes) -> None:
    """DumpFormatError unless `raw` still parses as a HAR."""
    parse(raw)


__all__ = ["DETECTOR", "JsonString", "MAX_HAR_BYTES", "REDACTED_CHAR", "char_offsets", "check_still_har",
           "looks_like_har", "looks_like_json", "parse", "read", "redact", "scan", "scan_file", "scan_parsed",
           "scan_views", "whole_strings"]
