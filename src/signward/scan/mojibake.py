"""Key bytes printed as text with non-ASCII characters (issue #32, rt14 F3): this module owns finding
them in a chunk, decoding each as a view of its own and running every detector over it.

- Mojibake: bytes decoded as Latin-1 (Python `key.decode('latin-1')`, Java `new String(key,
  ISO_8859_1)`) and written as UTF-8, so every byte from 0x80 up is `C2`/`C3` and a continuation
  byte. A run of ASCII bytes and such pairs, at least `MIN_PAIRS` pairs none more than `GAP` ASCII
  bytes apart, with up to `REACH` ASCII bytes on either side, is decoded as UTF-8 and encoded as
  Latin-1 (the bytes the writer had), when it holds a control character (C0 or C1, as random
  bytes do) or its pairs are 40 % of it (text with accents has neither).
- Escaped literals with raw non-ASCII characters: Python's repr of such a str (`'\\x00\\x81é...'`:
  printable Latin-1 characters raw) and Go's `%q` of bytes (`"\\xd4...я..."`: a valid UTF-8
  sequence written as its rune). A quoted literal whose byte escapes and non-ASCII characters
  are `MIN_ESCAPES` or more and 40 % of its bytes (two escapes at least) is read both ways:
  each character as its UTF-8 bytes (Go) and, below U+0100, as one Latin-1 byte (Python);
  `\\u`/`\\U` escapes likewise.

Candidates: the `C2`/`C3` pairs (numpy over the chunk), and `\\xNN` escapes with a non-ASCII byte
within 32 printable characters after them; the literal around one starts at the nearest quote
before it (at most `MAX_LITERAL` bytes back). Every detector reads the views in one batch
(`decoded_runs.scan_batch`); a finding is reported at the view's whole raw span (encoding
`latin-1+...`, `escaped-utf8+...`, `escaped-latin-1+...`). Bounded: `MAX_VIEWS` views a chunk and
their bytes together (the chunk's size plus 1 MiB): past either the chunk's scan is incomplete.
Written apart from the independent reader (`recheck_mojibake.py`): nothing is imported from it.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from .chunks import Chunk
from .decoded_runs import scan_batch
from .findings import Finding

if TYPE_CHECKING:
    from .detectors.base import Detector

MIN_PAIRS = 6
GAP = 24
REACH = 64
MIN_ESCAPES = 8
MIN_BYTES = 16
MAX_LITERAL = 16 << 10
MAX_VIEWS = 4096
SHIFTED = 512  # runs up to this long are read at each of 8 alignments
_RUN = re.compile(rb"(?:[\xc2\xc3][\x80-\xbf][\x00-\x7f]{0,%d}){%d,}" % (GAP, MIN_PAIRS))
_ESCAPE = rb"\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{1,3}|[abfnrtv\\'\"])"
_CHAR = rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
_PLAIN = {b"'": rb"[\x20-\x26\x28-\x5b\x5d-\x7e]", b'"': rb"[\x20\x21\x23-\x5b\x5d-\x7e]"}  # no quote, no \\
_LITERAL = {quote: re.compile(rb"%s(?:%s|%s|%s){1,%d}%s" % (quote, _ESCAPE, plain, _CHAR, MAX_LITERAL, quote))
            for quote, plain in _PLAIN.items()}
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # in key bytes, never in text
# a byte escape with a raw non-ASCII character after it, or before it (a key whose only raw
# characters come first: Go's %q of bytes starting with a valid UTF-8 sequence)
_HINT = re.compile(rb"\\x[0-9a-fA-F]{2}[\x20-\x7e]{0,32}?[\x80-\xff]|[\x80-\xff][\x20-\x7e]{0,32}?\\x[0-9a-fA-F]{2}")
_WIDE = re.compile(rb"\\\\|\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})")
_BYTE_ESCAPES = re.compile(rb"\\(?:x[0-9a-fA-F]{2}|[0-7]{1,3})")
_LEADS = bytes(range(0xC2, 0xF5))
View = tuple[int, int, bytes, str, str]


def _ascii_before(data: bytes, at: int) -> int:
    """Where the ASCII bytes just before `at` begin (at most `REACH` of them)."""
    start = at
    while start > max(0, at - REACH) and data[start - 1] < 0x80:
        start -= 1
    return start


def _ascii_after(data: bytes, at: int) -> int:
    end = at
    while end < min(len(data), at + REACH) and data[end] < 0x80:
        end += 1
    return end


def mojibake_runs(data: bytes, own_end: int) -> Iterator[View]:
    """Every Latin-1-as-UTF-8 run starting before `own_end`, as (start, end, its Latin-1 bytes)."""
    array = np.frombuffer(data, dtype=np.uint8)
    if len(array) < 2:
        return
    pairs = np.flatnonzero(((array[:-1] & 0xFE) == 0xC2) & ((array[1:] & 0xC0) == 0x80))
    if len(pairs) < MIN_PAIRS:
        return
    breaks = np.flatnonzero(np.diff(pairs) > GAP + 2) + 1
    last = 0
    for group in np.split(pairs, breaks):
        if len(group) < MIN_PAIRS or group[0] >= own_end:
            continue
        low, high = int(group[0]), min(len(data), int(group[-1]) + 2 + GAP)
        for match in _RUN.finditer(data, max(low, last), high):
            core = match.group(0).decode("utf-8").encode("latin-1")
            if not _CONTROL.search(core) and 5 * sum(byte >= 0x80 for byte in core) < 2 * len(core):
                continue  # text with accents (no control character, few of them): not bytes
            start, end = _ascii_before(data, match.start()), _ascii_after(data, match.end())
            last = end
            latin = data[start:end].decode("utf-8").encode("latin-1")
            # a short run is read at every alignment (the known-key search of a 32-byte scalar or
            # seed reads 8-byte-aligned windows): 7 more copies, each shifted by a byte
            for shift in range(8 if len(latin) <= SHIFTED else 1):
                yield start, end, bytes(shift) + latin, "latin-1", "mojibake run"


def read_literal(body: bytes) -> tuple[bytes, bytes, int]:
    """A literal's body read with each character as its UTF-8 bytes and as a Latin-1 byte (below
    U+0100), and how many byte escapes and non-ASCII characters it holds (the evidence that
    it is bytes: two escapes at least, and together `MIN_ESCAPES` and 40 % of its bytes). The
    escapes are undone by CPython's own bytes-literal decoder, `\\u`/`\\U` first spelled as `\\x`."""
    escapes = len(_BYTE_ESCAPES.findall(body))
    chars = len(body) - len(body.translate(None, _LEADS))
    utf8 = codecs.escape_decode(_WIDE.sub(_spelled(False), body))[0]
    latin_text = body.decode("utf-8", "surrogatepass").encode("latin-1", "backslashreplace")
    latin = codecs.escape_decode(_WIDE.sub(_spelled(True), latin_text))[0]
    return utf8, latin, escapes + chars if escapes >= 2 else 0


def _spelled(latin: bool) -> Callable[[re.Match[bytes]], bytes]:
    """A `_WIDE` match as `\\x` escapes: the code point's UTF-8 bytes (or one byte below U+0100
    with `latin`); an escaped backslash stays."""
    def spell(match: re.Match[bytes]) -> bytes:
        if match.group(1) is None and match.group(2) is None:
            return match.group(0)
        point = min(int(match.group(1) or match.group(2), 16), 0x10FFFF)
        raw = bytes([point]) if latin and point < 0x100 else chr(point).encode("utf-8", "surrogatepass")
        return b"".join(b"\\x%02x" % byte for byte in raw)
    return spell


def _opening(data: bytes, quote: bytes, at: int, opening: dict[int, tuple[int, int]]) -> int:
    """The nearest `quote` before `at` (hints come in order) that no backslash escapes (-1: none
    within `MAX_LITERAL`). `opening` remembers each escaped quote walked over and, under the key
    -quote-1, the last hint's search, so no byte is searched twice."""
    low = max(0, at - MAX_LITERAL)
    searched, found = opening.get(-quote[0] - 1, (0, -1))  # the hint before this one: up to where, what
    begin = data.rfind(quote, max(low, searched), at)
    if begin < 0:
        begin = found if found >= low else -1
    opening[-quote[0] - 1] = (at, begin)
    walked: list[int] = []
    while begin > 0 and data[begin - 1] == 0x5C:  # an escaped quote inside the literal
        if begin in opening:
            begin = opening[begin][1]
            break
        walked.append(begin)
        begin = data.rfind(quote, low, begin)
    for position in walked:
        opening[position] = (position, begin)
    return begin if begin >= low else -1


def escaped_literals(data: bytes, own_end: int) -> Iterator[View]:
    """Quoted literals with byte escapes and raw non-ASCII characters (module docstring)."""
    done = 0
    tried: set[int] = set()  # opening quotes read already (many hints share one)
    opening: dict[int, tuple[int, int]] = {}  # escaped quote -> the unescaped one before it (`_opening`)
    for hint in _HINT.finditer(data, 0, min(len(data), own_end + MAX_LITERAL)):
        if hint.start() < done:
            continue
        for quote, pattern in _LITERAL.items():
            begin = _opening(data, quote, hint.start(), opening)
            if begin in tried or not 0 <= begin < own_end:
                continue
            tried.add(begin)
            match = pattern.match(data, begin)
            if match is None or match.end() <= hint.start():
                continue
            done = max(done, match.end())  # later hints in it find this literal again
            body = match.group(0)[1:-1]
            if body.count(b"\\") + len(body) - len(body.translate(None, _LEADS)) < MIN_ESCAPES:
                continue  # too few escapes and characters, however they decode
            utf8, latin, escapes = read_literal(body)
            if escapes < max(MIN_ESCAPES, 2 * len(latin) // 5) or len(latin) < MIN_BYTES:
                continue
            yield match.start(), match.end(), utf8, "escaped-utf8", "escaped literal, characters as UTF-8"
            if latin != utf8:
                yield match.start(), match.end(), latin, "escaped-latin-1", "escaped literal, characters as Latin-1"


def scan_mojibake(chunk: Chunk, detectors: Sequence[Detector], incomplete: set[str]) -> list[Finding]:
    """Every detector's findings in the non-ASCII printed forms of `chunk` (module docstring)."""
    limit = len(chunk.data) + (1 << 20)
    views: list[View] = []
    used = 0
    for view in (*mojibake_runs(chunk.data, chunk.own_end), *escaped_literals(chunk.data, chunk.own_end)):
        used += len(view[2])
        if len(views) >= MAX_VIEWS or used > limit:
            incomplete.add(f"mojibake: more than {MAX_VIEWS} views or {limit} bytes of them in one chunk")
            break
        views.append(view)
    return scan_batch(chunk, detectors, views)


__all__ = ["escaped_literals", "mojibake_runs", "read_literal", "scan_mojibake"]
