"""Decoded views: every layer a reader decodes, as bytes with the raw span that encodes them.

A reader of a text artifact does not see its bytes: it unescapes JSON strings, decodes base64
bodies and `data:` URLs, percent-decoding in URLs, cookies and forms, hex, gzip/deflate
streams and UTF-16 text. A key written in any of these layers is invisible to a detector that
reads only the raw bytes (a PEM in a base64 response body, a PEM whose every `/` is `\\/`).
This module turns one raw span into every view a reader could decode from it, recursively,
each a `View` whose `start`/`end` is the raw span that encodes the WHOLE view: a finding in a
view is redacted by overwriting that whole span (never a prefix, since no map back inside an
encoded layer is trusted).

The work is bounded by a `Budget`: total decoded bytes, bytes of one view, nesting depth.
Anything over the budget, and any compressed stream that does not end properly, is recorded
in `Budget.incomplete`: the caller treats the artifact as not proven clean (a refusal, never a
pass). Pure functions over bytes; format knowledge (which string is a base64 body, which body
says `Content-Encoding: br`) comes from the caller as `Hint`s.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import urllib.parse
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

MAX_DEPTH = 4  # layers below the raw span: json > base64 > gzip > base64 is 4
MAX_VIEW_BYTES = 64 << 20  # one decoded view (a decompressed body) at most
DEFAULT_BUDGET_BYTES = 256 << 20  # every view of one artifact together at most (see `Budget.for_size`)
MIN_BASE64_RUN = 40  # a 32-byte scalar is 43 characters of base64
MIN_HEX_RUN = 64  # a 32-byte scalar is 64 hex digits

BASE64_RUN = re.compile(rb"[A-Za-z0-9+/_-](?:[A-Za-z0-9+/_=-]|\s|\\[rn]){%d,}" % (MIN_BASE64_RUN - 1))
HEX_RUN = re.compile(rb"[0-9A-Fa-f]{%d,}" % MIN_HEX_RUN)
PERCENT = re.compile(rb"%[0-9A-Fa-f]{2}")
DATA_URL = re.compile(rb"data:[^,;\s\"]*(?:;[^,;\s\"]*)*;base64,([A-Za-z0-9+/=_\s-]+)", re.IGNORECASE)
WHITESPACE = re.compile(rb"\s|\\[rn]")
B64_TRANSLATE = bytes.maketrans(b"-_", b"+/")
FILTER_FROM = 1 << 16  # views this large are searched for runs only where a byte-class filter finds them


def _byte_class(members: bytes) -> np.ndarray:
    table = np.zeros(256, dtype=bool)
    table[list(members)] = True
    return table


BASE64_CLASS = _byte_class(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-= \t\r\n\f\v\\")
HEX_CLASS = _byte_class(b"0123456789ABCDEFabcdef")


def _spans(data: bytes, table: np.ndarray, shortest: int) -> list[tuple[int, int]]:
    """Where in `data` a run of at least `shortest` bytes of the class `table` lies (the whole of
    a small `data`): the regexes then search only there (one numpy pass instead of seconds of
    regex over megabytes of binary)."""
    if len(data) < FILTER_FROM:
        return [(0, len(data))]
    flags = table[np.frombuffer(data, dtype=np.uint8)].view(np.int8)
    edges = np.diff(np.concatenate((np.zeros(1, np.int8), flags, np.zeros(1, np.int8))))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    keep = ends - starts >= shortest
    return [(int(a), int(b)) for a, b in zip(starts[keep], ends[keep], strict=True)]


@dataclass
class Budget:
    """What decoding may cost for one artifact; what it had to leave undone."""

    max_bytes: int = DEFAULT_BUDGET_BYTES
    max_depth: int = MAX_DEPTH
    max_view_bytes: int = MAX_VIEW_BYTES
    used: int = 0
    incomplete: list[str] = field(default_factory=list)

    @classmethod
    def for_size(cls, raw_size: int) -> "Budget":
        """A budget for an artifact of `raw_size` bytes: 4 times its size plus 16 MiB, at most 1 GiB."""
        return cls(max_bytes=min(1 << 30, 4 * raw_size + (16 << 20)))

    def take(self, size: int, what: str) -> bool:
        """Count `size` decoded bytes; False (and `incomplete` noted) when over the budget."""
        if size > self.max_view_bytes:
            self.note(f"views: {what} decodes to more than {self.max_view_bytes} bytes")
            return False
        if self.used + size > self.max_bytes:
            self.note(f"views: decoded layers exceed the expansion budget of {self.max_bytes} bytes")
            return False
        self.used += size
        return True

    def note(self, reason: str) -> None:
        if reason not in self.incomplete:
            self.incomplete.append(reason)


@dataclass(frozen=True)
class View:
    """Decoded bytes; `start`/`end` the raw span (in the artifact) that encodes all of them;
    `layers` the decodings applied, outermost first (``json``, ``base64``, ``gzip``...)."""

    data: bytes
    start: int
    end: int
    layers: tuple[str, ...]


@dataclass(frozen=True)
class Hint:
    """What the format says about a span: a base64 body, and its Content-Encoding."""

    base64: bool = False
    content_encoding: str = ""


def json_unescape(segment: bytes) -> bytes:
    """The value of the raw text of a JSON string (between its quotes), as UTF-8 (lone
    surrogates kept as bytes, as a lenient reader would): every escape decoded."""
    value = json.loads(b'"' + segment + b'"')
    return str(value).encode("utf-8", "surrogatepass")


def inflate(data: bytes, wbits: int, limit: int) -> tuple[bytes, bool]:
    """(decompressed bytes, ended properly) of a zlib/gzip/raw-deflate stream; at most `limit`
    bytes (ValueError past it)."""
    decoder = zlib.decompressobj(wbits)
    out = decoder.decompress(data, limit + 1)
    if len(out) > limit:
        raise ValueError("over the view limit")
    return out, decoder.eof


def _b64(text: bytes) -> bytes:
    """Lenient base64 / base64url decoding, as browsers and most libraries read: whitespace and
    padding ignored, a lone trailing character dropped."""
    compact = WHITESPACE.sub(b"", text).replace(b"=", b"").translate(B64_TRANSLATE)
    if len(compact) % 4 == 1:  # a lone last character carries no whole byte
        compact = compact[:-1]
    return base64.b64decode(compact + b"=" * (-len(compact) % 4))


def _looks_encoded(compact: bytes) -> bool:
    """A run worth decoding as base64: long, with digits and both letter cases (prose is not)."""
    return (len(compact) >= MIN_BASE64_RUN and re.search(rb"[0-9]", compact) is not None
            and re.search(rb"[A-Z]", compact) is not None and re.search(rb"[a-z]", compact) is not None)


def _utf16(data: bytes) -> tuple[str, bytes] | None:
    """("utf-16le"|"utf-16be", text as UTF-8) when `data` reads as UTF-16 text."""
    if len(data) < 16:
        return None
    head = data[:4096]
    if head.startswith(b"\xff\xfe") or head.startswith(b"\xfe\xff"):
        codec = "utf-16le" if head.startswith(b"\xff\xfe") else "utf-16be"
        data = data[2:]
    elif head[1::2].count(0) * 4 >= len(head) * 3 // 2 and head[0::2].count(0) * 8 < len(head):
        codec = "utf-16le"
    elif head[0::2].count(0) * 4 >= len(head) * 3 // 2 and head[1::2].count(0) * 8 < len(head):
        codec = "utf-16be"
    else:
        return None
    return codec, data[:len(data) - len(data) % 2].decode(codec, "replace").encode("utf-8", "replace")


def derived(view: View, budget: Budget, hint: Hint | None = None) -> Iterator[View]:
    """Every view decoded from `view` (not `view` itself), recursively to the budget's depth."""
    if len(view.layers) >= budget.max_depth:
        if _decodable(view.data):
            budget.note(f"views: layers nested deeper than {budget.max_depth} at raw offset {view.start}")
        return
    for child, child_hint in _children(view, budget, hint):
        yield child
        yield from derived(child, budget, child_hint)


def _decodable(data: bytes) -> bool:
    """Could `data` hold one more layer (checked only where the depth bound stops us)?"""
    return bool(PERCENT.search(data) or data[:2] == b"\x1f\x8b" or any(
        _looks_encoded(WHITESPACE.sub(b"", m.group(0))) for m in BASE64_RUN.finditer(data))
        or HEX_RUN.search(data))


def _child(view: View, data: bytes, layer: str, budget: Budget) -> View | None:
    if not data or not budget.take(len(data), f"{layer} at raw offset {view.start}"):
        return None
    return View(data, view.start, view.end, view.layers + (layer,))


def _children(view: View, budget: Budget, hint: Hint | None) -> Iterator[tuple[View, Hint | None]]:
    data = view.data
    at = f"at raw offset {view.start}"
    if hint is not None and hint.base64:  # the format says so: the whole value is base64
        try:
            body = _b64(data)
        except (binascii.Error, ValueError):
            budget.note(f"views: a base64 body {at} does not decode")
            return
        child = _child(view, body, "base64", budget)
        if child is not None:
            yield child, Hint(content_encoding=hint.content_encoding)
        return
    encodings = [part.strip().lower() for part in (hint.content_encoding if hint else "").split(",")
                 if part.strip() and part.strip().lower() != "identity"]
    if not encodings and data[:3] == b"\x1f\x8b\x08":
        encodings = ["gzip"]
    if encodings:  # applied last first; a body stored decoded is read as it is
        decoded = _decompress(data, encodings[-1], budget, at)
        if decoded is not None:
            child = _child(view, decoded, encodings[-1], budget)
            if child is not None:
                yield child, Hint(content_encoding=", ".join(encodings[:-1])) if len(encodings) > 1 else None
            return
    if len(data) < 16:
        return
    if b"%" in data and PERCENT.search(data):
        child = _child(view, urllib.parse.unquote_to_bytes(data), "percent", budget)
        if child is not None:
            yield child, None
        if b"+" in data:  # a form body (application/x-www-form-urlencoded): `+` is a space
            child = _child(view, urllib.parse.unquote_to_bytes(data.replace(b"+", b" ")), "form", budget)
            if child is not None:
                yield child, None
    for match in DATA_URL.finditer(data):
        try:
            child = _child(view, _b64(match.group(1)), "data-url", budget)
        except (binascii.Error, ValueError):
            continue
        if child is not None:
            yield child, None
    if len(data) >= MIN_BASE64_RUN:
        runs = (m for a, b in _spans(data, BASE64_CLASS, MIN_BASE64_RUN) for m in BASE64_RUN.finditer(data, a, b))
        for match in runs:
            compact = WHITESPACE.sub(b"", match.group(0)).replace(b"=", b"")
            if not _looks_encoded(compact):
                continue
            for shift in range(4):  # the run may start mid-quantum (a prefix glued to it)
                try:
                    decoded = _b64(compact[shift:])
                except (binascii.Error, ValueError):
                    continue
                child = _child(view, decoded, "base64", budget)
                if child is None:
                    return
                yield child, None
        for match in (m for a, b in _spans(data, HEX_CLASS, MIN_HEX_RUN) for m in HEX_RUN.finditer(data, a, b)):
            run = match.group(0)
            for shift in range(2):
                piece = run[shift:len(run) - (len(run) - shift) % 2]
                child = _child(view, binascii.unhexlify(piece), "hex", budget)
                if child is None:
                    return
                yield child, None
    utf16 = _utf16(data) if not view.layers or view.layers[-1] != "utf-16" else None
    if utf16 is not None:
        child = _child(view, utf16[1], "utf-16", budget)
        if child is not None:
            yield child, None


def _decompress(data: bytes, name: str, budget: Budget, at: str) -> bytes | None:
    """`data` decoded by the Content-Encoding `name` (body_codec.decode_body: decoded first; a body
    is stored decoded, None, only when it is text that does not start as a stream of `name`), or
    None when it cannot be decoded: a stream that does not end, bytes after it that are neither text
    nor a further stream, a body that is neither: noted incomplete."""
    from .body_codec import BodyError, decode_body

    limit = min(budget.max_view_bytes, max(0, budget.max_bytes - budget.used))
    try:
        return decode_body(data, [name], limit)
    except BodyError as exc:
        budget.note(f"views: a {name} body {at} is corrupt ({str(exc)[:90]})")
    except ValueError as exc:
        what = "decodes past the view limit" if "view limit" in str(exc) else f"is corrupt ({str(exc)[:60]})"
        budget.note(f"views: a {name} body {at} {what}")
    return None


def string_views(raw: bytes, start: int, end: int, budget: Budget, hint: Hint | None = None) -> Iterator[View]:
    """Every view of the JSON string whose raw text (between its quotes) is raw[start:end]: its
    unescaped value when it has escapes, and everything decoded from that. The raw bytes
    themselves are not a view (the byte detectors read them as they are)."""
    segment = raw[start:end]
    if b"\\" in segment:
        try:
            value = json_unescape(segment)
        except ValueError:
            budget.note(f"views: the JSON string at raw offset {start} does not decode")
            return
        root = View(value, start, end, ("json",))
        if not budget.take(len(value), f"the JSON string at raw offset {start}"):
            return
        yield root
    else:
        root = View(segment, start, end, ())
    yield from derived(root, budget, hint)


__all__ = ["Budget", "DEFAULT_BUDGET_BYTES", "Hint", "MAX_DEPTH", "MAX_VIEW_BYTES", "View", "derived", "inflate",
           "json_unescape", "string_views"]
