"""Key bytes printed in encodings the other views miss (issue #32, brief `encodings`): this module
owns finding cp1252 mojibake, big decimal integers (grouped or not), base58, Z85 and yEnc in a chunk
and decoding each as a view every detector reads.

- cp1252 mojibake: bytes decoded as Windows-1252 (.NET, Excel, Python `decode('cp1252', ...)`)
  and written as UTF-8. Anchored on the UTF-8 of a character only cp1252 gives a byte (U+20AC for
  0x80, U+2122 for 0x99 ...: numpy over the chunk); around it a run of at least `MIN_CHARS`
  non-ASCII characters cp1252 maps (with `GAP` ASCII bytes at most between two), each read back as
  its byte. The undefined bytes 0x81, 0x8D, 0x8F, 0x90, 0x9D are read as .NET writes them (U+0081
  ...) and as Python's `surrogateescape` leaves them (the raw byte); `errors='replace'` loses them
  (U+FFFD): with `MAX_LOST` or fewer every filling is a view, with more the run is a finding of its
  own (`lossy-cp1252-bytes`: a key there is recoverable by trying the fillings). Only a run with a
  C0/C1 control character or 40 % high bytes (text from a Windows log has neither), and
  `MIN_DISTINCT` different non-ASCII bytes (ASCII indentation read as UTF-16LE is a run of U+2020).
  rt18: a run whose line a console wrapped at a fixed column (PowerShell: 120, CRLF) is also read
  with those breaks taken out (`unwrapped`); UTF-16LE and UTF-16BE text is read by `utf16_cp1252.py`.
- decimal integers of `MIN_DIGITS` digits or more, bare or grouped by threes with one separator
  (`_`, `,`, `.`, `'`, space, no-break, thin or narrow space: Python `f"{x:_}"`/`f"{x:,}"`, Java/C#
  `%,d`/`N0`), and hex grouped by fours with `_` (`f"{x:_x}"`): big-endian bytes, padded to 8;
  other groupings and wrappings (lakh, groups of any size 3-10, hex by 8, wrapped inside a group,
  rt16-rt18) are `grouped_forms.py`'s.
- base58 (Bitcoin/Solana alphabet): runs of `MIN_BASE58` characters or more with no letter or digit
  either side; a view when they decode to 32 or 64 bytes (a seed or scalar, a Solana keypair), to
  DER (`0x30` first), or are base58check (the checksum holds: the payload and, past a version byte,
  its key); wrapped at a fixed width of `B58_ROW` (12) columns or more, rows joined (`wrapped_runs.py`).
  rt19: rows of `B58_PAIR_ROW` (8) to 11 columns are joined too, a view only when the run decodes
  to a self-checking 64-byte Ed25519 pair; a wrapped run is also read without a shorter last row
  (the next line's tail) when two rows remain; rows behind line numbers touching them (`nl -s ''`,
  `wrapped_runs.numbered_runs`) and groups of 4 joined by `-` are read too. A 64-byte view that is
  a self-checking pair is a finding here with no known key (`_pairs`: the chunk-wide search of
  `ed25519_pairs.py` reads hex, base64, byte lists and raw bytes, not these views).
- Z85 (ZeroMQ): runs of `MIN_Z85` characters or more of its alphabet with at least max(2, 4 %)
  of the characters base64 lacks and max(3, 8 %) capitals (random Z85: 22 % and 31 %; URLs and
  paths: few capitals), at most 60 % lowercase and no character `max(7, length / 12)` times or
  more (Java identifiers and descriptors in a heap; random Z85: 31 % lowercase); a random
  32-byte key's 40 characters fail these about once in 800 (measured); read at each of the 5
  alignments (a prefix such as `key=` is in the alphabet too).
- yEnc: a `=ybegin` line (with `size=` or not: rt16), then the encoded lines to `=yend` (with
  `size=` or not; at most `MAX_YENC` bytes).
A finding is reported at the whole raw span (encoding `cp1252+...`, `decimal+...`, `base58+...`,
`z85+...`, `yenc+...`). Bounded: `MAX_VIEWS` views a chunk and their bytes together (the chunk's
size plus 1 MiB); past either the chunk's scan is incomplete. Written apart from the independent
reader (`recheck_encodings.py`): nothing is imported from it.
"""

from __future__ import annotations

import collections
import hashlib
import itertools
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from .chunks import Chunk
from .decoded_runs import scan_batch
from .ed25519_pairs import KIND as PAIR_KIND
from .ed25519_pairs import NAME as PAIR_NAME
from .ed25519_pairs import self_verifying
from .findings import Finding
from .grouped_forms import grouped_integers, regrouped_integers
from .utf16_cp1252 import utf16_cp1252_views
from .wrapped_runs import MIN_WIDTH, blank_tail_pattern, numbered_runs, tail_pattern, wrapped_runs
from .yenc_parts import MAX_PARTS, joined_files

if TYPE_CHECKING:
    from .detectors.base import Detector

MIN_CHARS = 6
GAP = 24
REACH = 64
MAX_LOST = 2
MIN_WRAP = 40  # a cp1252 run's line broken at this column or wider may be a console's wrap (rt18: 120)
MAX_WRAPS = 4  # columns tried a run (the widths of its first lines)
LINE_BACK = 4096  # bytes searched back for the start of a run's line (a log prefix before the run)
MIN_DISTINCT = 4  # fewer non-ASCII byte values in a run: no key (ASCII indentation read as UTF-16LE is U+2020s)
MIN_DIGITS = 60
MAX_DIGITS = 2_500
MIN_BASE58 = 40
B58_ROW = 12  # rt18: base58 wrapped at 15 columns; narrower rows of a log's tails are joined by chance
B58_PAIR_ROW = 8  # rt19: narrower rows joined only when they decode to a self-checking Ed25519 pair
MAX_BASE58 = 4_096
MIN_Z85 = 40
MAX_Z85 = 8_192
MAX_YENC = 1 << 20
MAX_VIEWS = 4096
WINDOW = 1024  # bytes searched for a cp1252 run either side of its anchors
STRIDE = 8  # text samples: a form of 40 characters or more holds 4 neighbouring ones
SHIFTED = 512  # views up to this long are also read at each of 8 alignments (the known-key windows)
LOSSY = "lossy-cp1252"  # a view's layer: no bytes, the run is a finding by itself
INCOMPLETE = "incomplete"  # a view's layer: no bytes, the chunk's scan is incomplete (its detail says why)
UNDEFINED = b"\x81\x8d\x8f\x90\x9d"  # no character in cp1252

# cp1252: each character -> its byte; the five undefined bytes as .NET writes them (C1 controls)
_TO_BYTE: dict[str, int] = {}
for _byte in range(256):
    try:
        _TO_BYTE[bytes([_byte]).decode("cp1252")] = _byte
    except UnicodeDecodeError:
        _TO_BYTE[chr(_byte)] = _byte
_TO_BYTE.update({chr(0xDC00 + byte): byte for byte in range(0x80, 0x100)})  # surrogateescape
_SPECIALS = sorted(ch.encode("utf-8") for ch, byte in _TO_BYTE.items() if 0x100 <= ord(ch) < 0xD800)
# the anchors: the first two bytes of a cp1252-only character's UTF-8, and U+FFFD's
_ANCHOR_PAIRS = sorted({(s[0] << 8) | s[1] for s in [*_SPECIALS, "\ufffd".encode()]})
_ANCHOR = np.zeros(1 << 16, dtype=bool)
_ANCHOR[_ANCHOR_PAIRS] = True
_ANCHOR_LEADS = np.zeros(256, dtype=bool)
_ANCHOR_LEADS[[pair >> 8 for pair in _ANCHOR_PAIRS]] = True
_ELEMENT = b"|".join([rb"[\xc2\xc3][\x80-\xbf]", b"\xef\xbf\xbd", rb"[\x81\x8d\x8f\x90\x9d]",
                      *(re.escape(s) for s in _SPECIALS)])
_CP_RUN = re.compile(rb"(?:(?:%s)[\x00-\x7f]{0,%d}+){%d,}" % (_ELEMENT, GAP, MIN_CHARS))
# C0 controls, DEL and the undefined bytes: never in text (0x80-0x9F are cp1252's typography)
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x81\x8d\x8f\x90\x9d]")
KEY_BITS = (256, 384, 521, 1024, 1536, 2048, 3072, 4096)  # an EC scalar, an RSA prime, d or n

_SEPARATOR = rb"[_,.' ]|\xc2\xa0|\xe2\x80[\x88\x89\xaf]"
_INTEGER = re.compile(rb"(?<![0-9A-Za-z_.,])(?:[0-9]{%d,%d}+(?![0-9])"
                      rb"|[1-9][0-9]{0,2}(%s)[0-9]{3}(?:\1[0-9]{3}){%d,%d}+(?![0-9]))"
                      % (MIN_DIGITS, MAX_DIGITS, _SEPARATOR, MIN_DIGITS // 3 - 2, MAX_DIGITS // 3))
_HEX_GROUPED = re.compile(rb"(?:(?<=0x)|(?<![0-9A-Za-z_]))[0-9a-fA-F]{1,4}(?:_[0-9a-fA-F]{4}){15,520}+(?![0-9A-Za-z_])")
_NOT_DIGIT = re.compile(rb"[^0-9a-fA-F]+")

_B58_ALPHABET = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_LINE = tail_pattern(rb"1-9A-HJ-NP-Za-km-z")  # rt17: behind a `> ` or a log prefix too
_B58_VALUE = {char: index for index, char in enumerate(_B58_ALPHABET)}
_BASE58 = re.compile(rb"(?<![0-9A-Za-z])[1-9A-HJ-NP-Za-km-z]{%d,%d}+(?![0-9A-Za-z])" % (MIN_BASE58, MAX_BASE58))
_B58_FOUR = rb"[1-9A-HJ-NP-Za-km-z]{4}"  # rt19: groups of 4 joined by `-` (a licence key's look), the last shorter
_B58_DASHED = re.compile(rb"(?<![0-9A-Za-z-])%s(?:-%s){%d,%d}+(?:-[1-9A-HJ-NP-Za-km-z]{1,3})?(?![0-9A-Za-z-])"
                         % (_B58_FOUR, _B58_FOUR, MIN_BASE58 // 4 - 1, MAX_BASE58 // 4))

_Z85_ALPHABET = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
_Z85_VALUE = np.full(256, 255, dtype=np.uint64)
_Z85_VALUE[np.frombuffer(_Z85_ALPHABET, dtype=np.uint8)] = np.arange(85, dtype=np.uint64)
_Z85 = re.compile(rb"[0-9a-zA-Z.\-:+=^!/*?&<>()\[\]{}@%%$#]{%d,%d}+" % (MIN_Z85, MAX_Z85))
_Z85_LINE = blank_tail_pattern(rb"0-9a-zA-Z.\-:+=^!/*?&<>()\[\]{}@%$#")  # behind `> ` or a log prefix too
_Z85_ONLY = b".:^!*?&<>()[]{}@%$#"  # characters base64 and base64url lack
_LOWER = bytes(range(0x61, 0x7B))  # 26 of 85: about 31 % of a random run, over 60 % in identifiers
_UPPER = bytes(range(0x41, 0x5B))  # 26 of Z85's 85 characters: in URLs and paths, few
_Z85_POWERS = np.array([85 ** 4, 85 ** 3, 85 ** 2, 85, 1], dtype=np.uint64)

# (rt16: `size=` or not: a writer may leave it out, and a body is read to `=yend` or the bound anyway)
_YBEGIN = re.compile(rb"=ybegin(?:[ \t][^\r\n]{0,1024})?\r?\n(?:=ypart [^\r\n]{0,256}\r?\n)?")
_YEND = re.compile(rb"\r?\n=yend")
_YENC_PLAIN = bytes((c - 42) & 0xFF for c in range(256))
_YENC_ESCAPED = bytes((c - 106) & 0xFF for c in range(256))
View = tuple[int, int, bytes, str, str]


_TEXTUAL = np.zeros(256, dtype=bool)  # the bytes the printable forms are written with
_TEXTUAL[[*range(0x20, 0x7F), 9, 10, 13, 0xC2, 0xA0, 0xE2, 0x80, 0x88, 0x89, 0xAF]] = True
_TEXT_RUN = re.compile(rb"[\x20-\x7e\t\r\n\xc2\xa0\xe2\x80\x88\x89\xaf]*+")


def text_spans(data: bytes, own_end: int) -> list[tuple[int, int]]:
    """Spans around 4 neighbouring text samples (one byte in `STRIDE`) that start before `own_end`,
    each run on to where its text ends (small data is one span)."""
    if len(data) < 1 << 16:
        return [(0, len(data))]
    samples = _TEXTUAL[np.frombuffer(data, dtype=np.uint8)[::STRIDE]]
    hits = np.flatnonzero(samples[:-3] & samples[1:-2] & samples[2:-1] & samples[3:])
    if not len(hits):
        return []
    breaks = np.flatnonzero(np.diff(hits) > 1)
    firsts = hits[np.concatenate(([0], breaks + 1))].tolist()
    lasts = hits[np.concatenate((breaks, [len(hits) - 1]))].tolist()
    spans: list[tuple[int, int]] = []
    for first, last in zip(firsts, lasts, strict=True):
        low = STRIDE * max(0, first - 1)
        if low >= own_end:
            break
        run = _TEXT_RUN.match(data, min(len(data), STRIDE * (last + 3)))
        high = run.end() if run else len(data)
        if spans and low <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(high, spans[-1][1]))
        else:
            spans.append((low, high))
    return spans


def _shifted(start: int, end: int, data: bytes, layer: str, detail: str,
             shifts: Sequence[int] = range(8)) -> Iterator[View]:
    """The view, and when short, more copies each shifted by `shifts` bytes (the known-key search
    of a 32-byte scalar or seed reads 8-byte-aligned windows; a key where the view starts needs none)."""
    for shift in (shifts if len(data) <= SHIFTED else (0,)):
        yield start, end, bytes(shift) + data, layer, detail


# ---- cp1252 mojibake
def _anchors(data: bytes) -> np.ndarray:
    """Where a cp1252-only character (or U+FFFD) begins (one pass of numpy over the chunk) with
    `MIN_CHARS - 2` or more such characters or `C2`/`C3` bytes within 64 bytes (random binary holds
    one such pair every 4.6 KiB, alone; key bytes printed so hold a dozen in 64 bytes)."""
    array = np.frombuffer(data, dtype=np.uint8)
    if len(array) < 2:
        return np.zeros(0, dtype=np.int64)
    leads = np.flatnonzero(_ANCHOR_LEADS[array[:-1]])
    pairs = (array[leads].astype(np.int64) << 8) | array[leads + 1]
    anchors = leads[_ANCHOR[pairs]]
    near = np.searchsorted(anchors, anchors + 64) - np.searchsorted(anchors, anchors - 64)
    kept = [at for at, count in zip(anchors.tolist(), near.tolist(), strict=True)
            if count + data.count(b"\xc2", max(0, at - 64), at + 64) + data.count(b"\xc3", max(0, at - 64), at + 64)
            >= MIN_CHARS - 2]
    return np.array(kept, dtype=np.int64)


def _bytes_like(core: bytes) -> bool:
    return bool(_CONTROL.search(core)) or 5 * sum(byte >= 0x80 for byte in core) >= 2 * len(core)


def _cp1252_bytes(text: str) -> list[int | None] | None:
    """Each character's byte (None: U+FFFD, a lost byte); None when a character is not cp1252."""
    out: list[int | None] = []
    for char in text:
        if char == "\ufffd":
            out.append(None)
            continue
        byte = _TO_BYTE.get(char)
        if byte is None:
            return None
        out.append(byte)
    return out


def cp1252_runs(data: bytes, own_end: int) -> Iterator[View]:
    """Every cp1252-as-UTF-8 run starting before `own_end` (module docstring), with its fillings."""
    anchors = _anchors(data)
    if not len(anchors):
        return
    breaks = np.flatnonzero(np.diff(anchors) > 2 * WINDOW) + 1  # the groups' windows never overlap
    last = 0
    for group in np.split(anchors, breaks):
        if int(group[0]) >= own_end + REACH:
            break
        low, high = max(last, int(group[0]) - WINDOW), min(len(data), int(group[-1]) + WINDOW)
        for match in _CP_RUN.finditer(data, low, high):
            if match.start() >= own_end or match.end() <= last:
                continue
            text = match.group(0).decode("utf-8", "surrogateescape")
            if all(ord(char) < 0x100 for char in text):
                continue  # Latin-1 alone: the Latin-1 mojibake view reads it (`mojibake.py`)
            core = _cp1252_bytes(text)
            if core is None or len({b for b in core if b is None or b >= 0x80}) < MIN_DISTINCT or not _bytes_like(
                    bytes(0x80 if b is None else b for b in core)):
                continue
            start = match.start()
            while start > max(0, match.start() - REACH) and data[start - 1] < 0x80:
                start -= 1
            end = match.end()
            while end < min(len(data), match.end() + REACH) and data[end] < 0x80:
                end += 1
            last = end
            spelled = _cp1252_bytes(data[start:end].decode("utf-8", "surrogateescape")) or []
            lost = [index for index, byte in enumerate(spelled) if byte is None]
            if len(lost) > MAX_LOST:
                yield start, end, b"", LOSSY, f"{len(lost)} bytes lost to U+FFFD in key-like bytes"
                continue
            origin = _line_origin(data, start, match.start())
            for filling in itertools.product(UNDEFINED, repeat=len(lost)):
                for index, byte in zip(lost, filling, strict=True):
                    spelled[index] = byte
                plain = bytes(b or 0 for b in spelled)
                yield from _shifted(start, end, plain, "cp1252", "cp1252 mojibake run")
                for width, joined in unwrapped(plain, origin):  # rt18: a console wrapped the line
                    yield from _shifted(start, end, joined, "cp1252", f"cp1252 mojibake run wrapped at {width}")


_BREAK = re.compile(rb"\r?\n")


def _line_origin(data: bytes, start: int, first: int) -> int:
    """Where the line of a run's first character `first` starts, in characters from `start` (the
    view's start; negative: before it); 0 when no line start is within `LINE_BACK` bytes."""
    newline = data.rfind(b"\n", max(0, start - LINE_BACK), first)
    if newline >= start:
        return newline + 1 - start
    if newline < 0 and start > LINE_BACK:
        return 0
    return -len(data[newline + 1:start].decode("utf-8", "surrogateescape"))


def unwrapped(plain: bytes, origin: int) -> Iterator[tuple[int, bytes]]:
    """(width, `plain` with its line breaks at a fixed column removed): rt18, a PowerShell
    transcript wraps a long line at the console's width (120) with CRLF. Each width is the length
    of one of the first lines from `origin` (a line's start; negative: before `plain`), `MIN_WRAP`
    or more (`MAX_WRAPS` widths at most: the key's own bytes hold `\n`s); from `origin`, the break
    (of that line's kind) that follows each `width` bytes is removed, as long as one is there, when
    key-like bytes (0x80 or more) follow."""
    widths: list[tuple[int, bytes]] = []
    for count, found in enumerate(_BREAK.finditer(plain, max(0, origin))):
        if count >= 4 * MAX_WRAPS or len(widths) >= MAX_WRAPS:
            break
        width = found.start() - origin
        if width >= MIN_WRAP and (width, found.group(0)) not in widths:
            widths.append((width, found.group(0)))
    for width, mark in widths:
        rows: list[bytes] = []
        at = origin
        while plain.startswith(mark, at + width):
            rows.append(plain[max(0, at):at + width])
            at += width + len(mark)
        if max(plain[at:], default=0) >= 0x80:  # the run goes on past the rows (else nothing was cut in it)
            yield width, plain[:max(0, origin)] + b"".join(rows) + plain[at:]


# ---- big integers
def integer_views(data: bytes, own_end: int, spans: Sequence[tuple[int, int]] | None = None) -> Iterator[View]:
    """Decimal integers of `MIN_DIGITS` or more digits, bare or grouped, and `_`-grouped hex."""
    spans = text_spans(data, own_end) if spans is None else spans
    seen: set[tuple[int, int, int]] = set()  # a number two readings read alike is one view
    for match in (found for low, high in spans for found in _INTEGER.finditer(data, low, high)):
        if match.start() >= own_end:
            break
        digits = match.group(0) if match.group(1) is None else bytes(c for c in match.group(0) if 0x30 <= c <= 0x39)
        value = int(digits)
        if key_sized(value):
            yield (match.start(), match.end(), _big_endian(value), "decimal",
                   "decimal integer" + (" (grouped)" if match.group(1) is not None else ""))
            seen.add((match.start(), match.end(), value))
    for start, end, value in grouped_integers(data, own_end, spans):  # lakh, U+2019, by fours, wrapped
        if key_sized(value):
            seen.add((start, end, value))
            yield start, end, _big_endian(value), "decimal", "decimal integer (grouped)"
    for start, end, value, detail in regrouped_integers(data, own_end, spans):  # rt18: any size, wrapped, hex by 8
        if key_sized(value) and (start, end, value) not in seen:
            seen.add((start, end, value))
            yield start, end, _big_endian(value), "hex-grouped" if detail.startswith("hex") else "decimal", detail
    for match in (found for low, high in spans for found in _HEX_GROUPED.finditer(data, low, high)):
        if match.start() >= own_end:
            break
        value = int(_NOT_DIGIT.sub(b"", match.group(0)), 16)
        if key_sized(value):
            yield match.start(), match.end(), _big_endian(value), "hex-grouped", "hex integer grouped by 4"


def key_sized(value: int) -> bool:
    """A value as long as a key's private number (up to 40 bits shorter than its size): a CSV row
    of three-digit fields reads as one grouped number, of a key's length only by chance."""
    return any(size - 40 <= value.bit_length() <= size for size in KEY_BITS)


def _big_endian(value: int) -> bytes:
    """Big-endian, at least 32 bytes, padded with leading zeros to a multiple of 8."""
    width = max(32, -(-((value.bit_length() + 7) // 8) // 8) * 8)
    return value.to_bytes(width, "big")


# ---- base58, Z85, yEnc
def base58_decode(run: bytes) -> bytes:
    """Bitcoin's base58: big-endian base 58, each leading '1' a zero byte."""
    value = 0
    for char in run:
        value = value * 58 + _B58_VALUE[char]
    zeros = len(run) - len(run.lstrip(b"1"))
    return bytes(zeros) + (value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b"")


def _runs(data: bytes, own_end: int, spans: Sequence[tuple[int, int]], pattern: re.Pattern[bytes],
          lines: re.Pattern[bytes], longest: int, narrowest: int = MIN_WIDTH) -> Iterator[tuple[int, int, bytes]]:
    """The runs of `pattern` in `spans`, then the runs wrapped over lines at a fixed width, joined."""
    for match in (found for low, high in spans for found in pattern.finditer(data, low, high)):
        if match.start() >= own_end:
            break
        yield match.start(), match.end(), match.group(0)
    for start, end, run in (found for low, high in spans
                            for found in wrapped_runs(data, low, high, lines, longest, narrowest)):
        if start >= own_end:
            break
        yield start, end, run


def _base58_runs(data: bytes, own_end: int, spans: Sequence[tuple[int, int]]) -> Iterator[tuple[int, int, bytes, int]]:
    """(start, end, run, the width of its first row) of each base58 run: on one line, wrapped (rows
    from `B58_PAIR_ROW` columns), behind line numbers, in `-`-joined groups of 4."""
    for start, end, run in _runs(data, own_end, spans, _BASE58, _B58_LINE, MAX_BASE58, B58_PAIR_ROW):
        eol = data.find(b"\n", start, end)
        width = len(data[start:eol].rstrip(b" \t\r")) if eol >= 0 else len(run)
        yield start, end, run, width
        last = len(data[start:end]) - len(data[start:end].rstrip(_B58_ALPHABET))  # the last row
        cut = data.rfind(b"\n", start, end - last)
        if eol >= 0 and last < width and len(run) < MAX_BASE58 and cut > eol:  # rt19: a shorter last row may
            # be the next line's tail (`end of region`): the run is read without it too (two rows or more)
            yield start, cut, run[:-last], width
    for low, high in spans:
        for start, end, run, width in numbered_runs(data, low, high, MAX_BASE58, B58_PAIR_ROW):
            if start < own_end:
                yield start, end, run, width
        for match in _B58_DASHED.finditer(data, low, high):
            if match.start() < own_end:
                yield match.start(), match.end(), match.group(0).replace(b"-", b""), MIN_BASE58


def base58_views(data: bytes, own_end: int, spans: Sequence[tuple[int, int]] | None = None) -> Iterator[View]:
    spans = text_spans(data, own_end) if spans is None else spans
    for start, end, run, width in _base58_runs(data, own_end, spans):
        decoded = base58_decode(run)
        if width < B58_ROW:  # rt19: narrow rows joined by chance are many; a pair proves itself
            if len(decoded) == 64 and self_verifying([decoded])[0]:
                yield start, end, decoded, "base58", "decoded base58 run (a self-checking Ed25519 pair in narrow rows)"
            continue
        readings: list[tuple[bytes, str]] = []
        if len(decoded) in (32, 64) or (decoded[:1] == b"\x30" and len(decoded) >= 48):
            readings.append((decoded, "base58"))
        payload, check = decoded[:-4], decoded[-4:]
        if len(payload) >= 32 and hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] == check:
            readings += [(payload, "base58check"), (payload[1:], "base58check")]
        for plain, layer in readings:  # the key where the view starts: no shifted copies
            yield start, end, plain, layer, f"decoded {layer} run"


def z85_decode(run: bytes) -> bytes:
    """Z85 of whole 5-character groups (a group past 2**32 or with another character: zeros)."""
    values = _Z85_VALUE[np.frombuffer(run[: len(run) // 5 * 5], dtype=np.uint8)].reshape(-1, 5)
    words = (values * _Z85_POWERS).sum(axis=1)
    words[(values == 255).any(axis=1) | (words > 0xFFFFFFFF)] = 0
    return bytes(words.astype(">u4").tobytes())


def z85_views(data: bytes, own_end: int, spans: Sequence[tuple[int, int]] | None = None) -> Iterator[View]:
    spans = text_spans(data, own_end) if spans is None else spans
    for start, end, run in _runs(data, own_end, spans, _Z85, _Z85_LINE, MAX_Z85):
        if len(run) - len(run.translate(None, _Z85_ONLY)) < max(2, len(run) / 25) or len(set(run)) < 20 \
                or len(run) - len(run.translate(None, _UPPER)) < max(3, len(run) / 12) \
                or 5 * (len(run) - len(run.translate(None, _LOWER))) > 3 * len(run) \
                or max(collections.Counter(run).values()) >= max(7, len(run) / 12):
            continue  # a path, a URL, base64: too few of the characters only Z85 uses, or of capitals;
            # an identifier (`com.sun...JCTree$JCBlock!`, JVM descriptors `([BII)[B`): mostly
            # lowercase, or one character far more often than in random text
        for align in range(5):
            # a prefix in the alphabet (`key=`) puts the key 4 bytes off 8 at one alignment in two
            yield from _shifted(start, end, z85_decode(run[align:]), "z85", "decoded Z85 run", (0, 4))


def yenc_views(data: bytes, own_end: int) -> Iterator[View]:
    parts: list[tuple[int, int, bytes, bytes]] = []
    position = data.find(b"=ybegin", 0, own_end)
    while position >= 0:
        head = _YBEGIN.match(data, position)
        following = data.find(b"=ybegin", position + 7)  # a body ends before the next header: linear
        if head is not None:
            bound = min(len(data) if following < 0 else following, head.end() + MAX_YENC)
            tail = _YEND.search(data, head.end(), bound)
            end = tail.start() if tail else bound
            body = re.sub(rb"\r?\n", b"", data[head.end():end])
            pieces = body.split(b"=")
            plain = pieces[0].translate(_YENC_PLAIN) + b"".join(
                piece[:1].translate(_YENC_ESCAPED) + piece[1:].translate(_YENC_PLAIN) for piece in pieces[1:])
            yield from _shifted(position, tail.end() if tail else end, plain, "yenc", "decoded yEnc body")
            parts.append((position, tail.end() if tail else end, head.group(0), plain))
        position = following if following < own_end else -1
    if len(parts) > MAX_PARTS:  # rt17: never left out silently
        yield 0, len(data), b"", INCOMPLETE, f"more than {MAX_PARTS} yEnc parts in one chunk"
        return
    for start, end, plain in joined_files(parts):  # multipart: the parts placed at their offsets
        yield from _shifted(start, end, plain, "yenc", "decoded yEnc multipart file")


def encoding_views(data: bytes, own_end: int) -> Iterator[View]:
    """Every view of this module's forms in `data` (module docstring)."""
    yield from cp1252_runs(data, own_end)
    yield from utf16_cp1252_views(data, own_end, cp1252_runs)  # rt16: PowerShell 5 Out-File
    spans = text_spans(data, own_end)
    yield from integer_views(data, own_end, spans)
    yield from base58_views(data, own_end, spans)
    yield from z85_views(data, own_end, spans)
    yield from yenc_views(data, own_end)


def scan_encodings(chunk: Chunk, detectors: Sequence[Detector], incomplete: set[str]) -> list[Finding]:
    """Every detector's findings in this module's views of `chunk`; a lossy cp1252 run of key-like
    bytes is a finding by itself (fail closed: the lost bytes can be tried)."""
    limit = len(chunk.data) + (1 << 20)
    views: list[View] = []
    lossy: list[Finding] = []
    used = 0
    for view in encoding_views(chunk.data, chunk.own_end):
        if view[3] == LOSSY:
            lossy.append(chunk.finding(view[0], view[1] - view[0], "text", "lossy-cp1252-bytes", "cp1252",
                                       detail=view[4]))
            continue
        if view[3] == INCOMPLETE:
            incomplete.add(f"printed encodings: {view[4]}")
            continue
        if not view[2]:
            continue
        used += len(view[2])
        if len(views) >= MAX_VIEWS or used > limit:
            incomplete.add(f"printed encodings: more than {MAX_VIEWS} views or {limit} bytes of them in one chunk")
            break
        views.append(view)
    return lossy + _pairs(chunk, views) + scan_batch(chunk, detectors, views)


def _pairs(chunk: Chunk, views: Sequence[View]) -> list[Finding]:
    """rt19: a view of 64 bytes that is an Ed25519 seed and then its own public key (Solana's
    keypair in base58) is a finding with no known key (the chunk-wide search reads hex, base64 and
    raw bytes, not these views)."""
    sized = [view for view in views if len(view[2]) == 64]
    found: list[Finding] = []
    for (start, end, plain, layer, _), proven in zip(sized, self_verifying([view[2] for view in sized]), strict=True):
        if proven:
            chunk.learned.add_bytes(plain[:32], "ed25519-seed", "raw", None, PAIR_NAME)
            found.append(chunk.finding(start, end - start, PAIR_NAME, PAIR_KIND, layer, verified=True,
                                       detail="seed whose own public key follows it"))
    return found


__all__ = ["base58_decode", "cp1252_runs", "encoding_views", "integer_views", "key_sized", "scan_encodings",
           "z85_decode"]
