"""Compressed streams at any offset and UTF-16 text runs inside binary data (issue #32, session 13):
this module owns finding them in a chunk, decoding each as a view of its own and running every
detector over it.

A key gzipped into a log buffer, a zstd frame in a heap or an xz stream appended to a file is not
at the start of a view, so the container sniffing that decompresses a whole dump never reads it;
a Java or JavaScript string in a heap is UTF-16, and `text` reads UTF-16LE only around its own
anchors (a PEM's armour, `MII`), never UTF-16BE nor base64 of anything else. `dumps scan` passed
both while the independent reader (`recheck*.py`) refused them. Here:

- Streams: every gzip member, zstd frame, xz stream, bzip2 stream and LZ4 frame whose magic starts
  in the chunk's own part is decoded from its magic (past the chunk's end from the file, at most
  `MAX_STREAM_INPUT` compressed bytes) until it ends, breaks or the data ends. A magic in other
  data is often noise: a stream that does not end or does not decode is not a refusal, but what
  it decoded before it stopped is a view all the same (a truncated stream still holds its head).
  The raw span of a finding is the stream from its magic to where its decoder stopped.
- UTF-16: every run of at least `MIN_UTF16` printable ASCII characters as UTF-16LE or UTF-16BE
  code units (pieces of at least `MIN_PIECE` joined across at most `JOIN` other non-NUL code units:
  a run split by a non-character is read as one, the odd units dropped), decoded to ASCII. Candidate
  regions come from one 32-bit word in four (numpy): a run of 24 characters or more covers two
  neighbouring sampled words that look like UTF-16. A finding that a detector already made
  in the raw bytes (`text`'s UTF-16LE anchors) is not reported twice.
- Each decoded view is searched again, to `MAX_LEVELS` layers in all, for streams, UTF-16 runs and
  base64 runs (`decoded_runs.runs`: base64 written as UTF-16, a key gzipped then base64'd).
  Every detector reads the views of a chunk in one batch (`decoded_runs.scan_batch`); a finding is
  reported at the whole raw span of its outermost layer, encoding `gzip+...` / `utf-16le+...`.

Bounded: stream headers tried per chunk (`MAX_STREAMS`), decoded bytes of one stream
(`MAX_VIEW`) and of one chunk's views together (4 times the chunk plus 16 MiB, and at most 16 times
the chunk plus 2 MiB: a small chunk's streams may not decode a large tail each): past any of them
the chunk's scan is incomplete (never clean). Written apart from the independent reader: nothing
is imported from `recheck*`.
"""

from __future__ import annotations

import bisect
import bz2
import lzma
import re
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .chunks import Chunk
from .decoded_runs import runs as base64_runs
from .decoded_runs import scan_batch
from .findings import Finding
from .inflated import PER_MIB, zlib_starts

if TYPE_CHECKING:
    from .detectors.base import Detector

# the magic of each codec (bzip2's: its first block's, after `BZh1`..`BZh9`, rarer than `BZh`)
MAGICS = ((b"\x1f\x8b\x08", "gzip"), (b"\x28\xb5\x2f\xfd", "zstd"), (b"\xfd7zXZ\x00", "xz"),
          (b"1AY&SY", "bzip2"), (b"\x04\x22\x4d\x18", "lz4"))
BZIP2_BACK = 4
# every magic holds, at an even offset from where the search starts, its first two bytes or its
# second and third: one lookup of each aligned 16-bit word finds every candidate (a pass of
# bytes.find per magic costs twice as much on a core)
_WORDS = np.zeros(1 << 16, dtype=bool)
_WORDS[[int.from_bytes(magic[at:at + 2], "little") for magic, _ in MAGICS for at in (0, 1)]] = True
MAX_STREAMS = 4096
MAX_STREAM_INPUT = 64 << 20
MAX_VIEW = 64 << 20
FEED = 16 << 10  # compressed bytes fed at a time (zstd: ZSTD_FEED, it has no output bound)
ZSTD_FEED = 1 << 10  # a zstd block expands at most 128 KiB per 4 bytes: 32 MiB per call at most
FINE = 64  # after a decoding error, the stream is decoded again this finely: its head is kept
READ_AHEAD = 1 << 20  # bytes read from the file at a time past the chunk
MAX_LEVELS = 3
MIN_UTF16 = 32  # characters of a run
MIN_PIECE = 4  # characters of a piece of a run
JOIN = 2  # code units between two pieces of one run
SAMPLED_FROM = 1 << 16
ROOM = 256  # bytes searched either side of a candidate region (joined pieces, a run's ends)
PIECE_LE = re.compile(rb"(?:[\t\n\r\x20-\x7e]\x00){%d,}" % MIN_PIECE)
PIECE_BE = re.compile(rb"(?:\x00[\t\n\r\x20-\x7e]){%d,}" % MIN_PIECE)

Reader = Callable[[int, int], bytes]


def _decoder(codec: str) -> Any:
    if codec in ("gzip", "zlib"):
        return zlib.decompressobj(31 if codec == "gzip" else 15)
    if codec == "xz":
        return lzma.LZMADecompressor(lzma.FORMAT_XZ)
    if codec == "bzip2":
        return bz2.BZ2Decompressor()
    if codec == "lz4":
        import lz4.frame

        return lz4.frame.LZ4FrameDecompressor()
    import zstandard

    return zstandard.ZstdDecompressor().decompressobj()


def decode_stream(codec: str, read: Reader, limit: int, fine_from: int | None = None) -> tuple[bytes, int, bool, bool]:
    """(decoded bytes, compressed bytes the decoder took, ended properly, decoded past `limit`) of
    the stream `read(offset, size)` gives from its magic on. A stream that breaks keeps what it
    decoded before: it is decoded again, `FINE` bytes at a time from the piece that broke, so at
    most that much input before the break is lost."""
    decoder = _decoder(codec)
    parts: list[bytes] = []
    size = used = 0
    while used < MAX_STREAM_INPUT:
        step = FINE if fine_from is not None and used >= fine_from else ZSTD_FEED if codec == "zstd" else FEED
        piece = read(used, min(step, MAX_STREAM_INPUT - used))
        if not piece:
            break
        try:
            out = decoder.decompress(piece) if codec == "zstd" else decoder.decompress(piece, limit - size + 1)
        except Exception:  # zlib.error, LZMAError, OSError, EOFError, ZstdError, RuntimeError: it broke here
            if step > FINE:
                return decode_stream(codec, read, limit, used)
            break
        parts.append(out)
        size += len(out)
        if size > limit:
            return b"".join(parts)[:limit], used + len(piece), False, True
        if decoder.eof:
            return b"".join(parts), used + len(piece) - len(decoder.unused_data), True, False
        used += len(piece)
    return b"".join(parts), used, False, used >= MAX_STREAM_INPUT


def stream_starts(data: bytes, start: int, end: int) -> Iterator[tuple[int, str]]:
    """(position, codec) of every stream magic starting in data[start:end], in order."""
    stop = min(len(data), end + 16)  # a magic starting before `end` (bzip2's is 4 bytes in)
    words = np.frombuffer(data, dtype="<u2", count=(stop - start) // 2, offset=start)
    found: set[tuple[int, str]] = set()
    for word in np.flatnonzero(_WORDS[words]).tolist():
        for position in (start + 2 * word, start + 2 * word - 1):
            for magic, codec in MAGICS:
                back = BZIP2_BACK if codec == "bzip2" else 0
                head = position - back
                if start <= head < end and data.startswith(magic, position) and (
                        not back or (data.startswith(b"BZh", head) and 0x31 <= data[head + 3] <= 0x39)):
                    found.add((head, codec))
    return iter(sorted(found))


def _utf16_regions(data: bytes, start: int, end: int) -> list[tuple[int, int]]:
    """Where in data[start:end] a UTF-16 run may lie: around two neighbouring sampled 32-bit words
    (one in four) whose odd or even bytes are zero and the others not (small data: all of it)."""
    if end - start < SAMPLED_FROM:
        return [(start, end)]
    words = np.frombuffer(data, dtype="<u4", count=(end - start) // 4, offset=start)[::4]
    low = (words & 0x00FF00FF) == 0
    high = (words & 0xFF00FF00) == 0
    looks = (low & ((words & 0xFF00) != 0) & ((words & 0xFF000000) != 0)) | (
        high & ((words & 0xFF) != 0) & ((words & 0xFF0000) != 0))
    spans: list[tuple[int, int]] = []
    for index in np.flatnonzero(looks[:-1] & looks[1:]).tolist():
        low_end, high_end = max(start, start + 16 * index - 16 - ROOM), min(end, start + 16 * index + 48 + ROOM)
        if spans and low_end <= spans[-1][1]:
            spans[-1] = (spans[-1][0], high_end)
        else:
            spans.append((low_end, high_end))
    return spans


def utf16_runs(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int, str, bytes]]:
    """(start, end, codec, text) of every UTF-16LE/BE run of printable ASCII that starts in
    data[start:end] (read to its end, past `end` too: a chunk's overlap), pieces joined across at
    most `JOIN` non-NUL code units, which are dropped."""
    stop = len(data) if end is None else end
    runs: list[tuple[int, int, str, bytes]] = []
    for low, high in _utf16_regions(data, start, len(data)):
        for pattern, codec, skip in ((PIECE_LE, "utf-16le", 0), (PIECE_BE, "utf-16be", 1)):
            joined: list[tuple[int, int]] = []
            for piece in (match.span() for match in pattern.finditer(data, low, high)):
                gap = data[joined[-1][-1]:piece[0]] if joined else b""
                if joined and len(gap) <= 2 * JOIN and len(gap) % 2 == 0 and all(
                        gap[i:i + 2] != b"\x00\x00" for i in range(0, len(gap), 2)):
                    joined.append(piece)
                    continue
                runs.extend(_run(data, joined, codec, skip))
                joined = [piece]
            runs.extend(_run(data, joined, codec, skip))
    chosen: list[tuple[int, int, str, bytes]] = []
    for run in sorted(runs):  # a LE run is a BE one a byte aside: keep the likelier reading of the two
        if chosen and run[0] < chosen[-1][1]:
            if _likelier(data, run, chosen[-1]):
                chosen[-1] = run
            continue
        chosen.append(run)
    return iter(run for run in chosen if run[0] < stop)


def _likelier(data: bytes, run: tuple[int, int, str, bytes], other: tuple[int, int, str, bytes]) -> bool:
    """Is `run` a likelier reading than `other` of the same bytes: more characters; then NUL code
    units around it (a string's end, padding); then UTF-16LE (what a little-endian heap holds)."""
    def score(item: tuple[int, int, str, bytes]) -> tuple[int, int, bool]:
        start, end, codec, text = item
        nuls = (start < 2 or data[start - 2:start] == b"\x00\x00") + (data[end:end + 2] in (b"\x00\x00", b""))
        return len(text), nuls, codec == "utf-16le"
    return score(run) > score(other)


def _run(data: bytes, pieces: list[tuple[int, int]], codec: str, skip: int) -> list[tuple[int, int, str, bytes]]:
    if not pieces:
        return []
    text = b"".join(data[low + skip:high:2] for low, high in pieces)
    return [(pieces[0][0], pieces[-1][1], codec, text)] if len(text) >= MIN_UTF16 else []


class _Views:
    """The decoded views of one chunk and what decoding them cost."""

    def __init__(self, limit: int, incomplete: set[str]) -> None:
        self.limit = limit
        self.used = 0
        self.incomplete = incomplete
        self.views: list[tuple[int, int, bytes, str, str]] = []

    def room(self) -> int:
        """Bytes one more stream may decode to."""
        return max(0, min(MAX_VIEW, self.limit - self.used))

    def decode(self, codec: str, read: Reader) -> tuple[bytes, int, bool, bool]:
        """`decode_stream` within the room left; past it the chunk's scan is incomplete."""
        room = self.room()
        if not room:  # the chunk's bound is spent (rt14 F7: streams sharing one tail): decode no more
            self.incomplete.add(f"embedded: decoded streams and UTF-16 runs exceed {self.limit} bytes in one chunk")
            return b"", 1, False, True
        decoded = decode_stream(codec, read, room)
        if decoded[3]:
            self.incomplete.add(f"embedded: a {codec} stream decodes to more than {room} bytes")
        return decoded

    def add(self, start: int, end: int, data: bytes, layers: tuple[str, ...], detail: str) -> None:
        """`data` as a view of the raw span [start, end), and every view inside it."""
        if not data:
            return
        if self.used + len(data) > self.limit:
            self.incomplete.add(f"embedded: decoded streams and UTF-16 runs exceed {self.limit} bytes in one chunk")
            self.used = self.limit
            return
        self.used += len(data)
        self.views.append((start, end, data, "+".join(layers), detail))
        if len(layers) >= MAX_LEVELS:
            return
        for position, codec in stream_starts(data, 0, len(data)):
            plain, _, _, _ = self.decode(codec, _memory(data, position))
            self.add(start, end, plain, layers + (codec,), detail)
        for _, _, codec, text in utf16_runs(data):
            self.add(start, end, text, layers + (codec,), detail)
        for _, _, decoded in base64_runs(data):
            self.add(start, end, decoded, layers + ("base64",), detail)


def _memory(data: bytes, start: int) -> Reader:
    return lambda offset, size: data[start + offset:start + offset + size]


def _chunk_reader(chunk: Chunk, start: int, more: Reader | None) -> Reader:
    """The bytes of `chunk` from position `start` on, then (when `more` reads the file) the file's
    bytes past the chunk's data, read `READ_AHEAD` at a time."""
    data = chunk.data
    tail = bytearray()
    file_end = chunk.file_offset(len(data) - 1) + 1 if data else chunk.start

    def read(offset: int, size: int) -> bytes:
        position = start + offset
        if position + size <= len(data) or more is None:
            return data[position:position + size]
        while len(data) + len(tail) < position + size and len(tail) < MAX_STREAM_INPUT:
            block = more(file_end + len(tail), READ_AHEAD)
            if not block:
                break
            tail.extend(block)
        head = data[position:position + size]
        inner = max(0, position - len(data))
        return head + bytes(tail[inner:inner + size - len(head)])
    return read


def scan_embedded(chunk: Chunk, detectors: Sequence[Detector], incomplete: set[str], more: Reader | None = None,
                  covered: Sequence[Finding] = ()) -> list[Finding]:
    """Every detector's findings in the compressed streams and UTF-16 runs that start in `chunk`'s
    own part (module docstring); `more(file_offset, size)` reads the file past the chunk for a
    stream that goes on. A run's finding of a kind a raw finding over it already has is left out."""
    views = _Views(min(4 * len(chunk.data) + (16 << 20), 16 * len(chunk.data) + (2 << 20)), incomplete)
    for count, (position, codec) in enumerate(stream_starts(chunk.data, 0, chunk.own_end)):
        if count >= MAX_STREAMS:
            incomplete.add(f"embedded: more than {MAX_STREAMS} compressed stream headers in one chunk")
            break
        _add_stream(chunk, views, position, codec, more)
    heads, crowded = zlib_starts(chunk.data, 0, chunk.own_end)  # zlib: a PDF's FlateDecode, a git object
    if crowded:
        incomplete.add(f"embedded: more than {PER_MIB} zlib stream heads in one MiB of a chunk")
    for position in heads:
        _add_stream(chunk, views, position, "zlib", more)
    for start, end, codec, text in utf16_runs(_blanked(chunk, covered), 0, chunk.own_end):
        views.add(start, end, text, (codec,), f"{codec} run")
    return scan_batch(chunk, detectors, views.views)


def _add_stream(chunk: Chunk, views: _Views, position: int, codec: str, more: Reader | None) -> None:
    """The stream at `position` of `chunk`, decoded to where it ends or breaks, as a view."""
    plain, used, ended, _ = views.decode(codec, _chunk_reader(chunk, position, more))
    detail = f"{codec} stream{'' if ended else ' (not ended)'}"
    views.add(position, position + max(used, 1), plain, (codec,), detail)


def _blanked(chunk: Chunk, covered: Sequence[Finding]) -> bytes:
    """The chunk's bytes with each UTF-16LE finding a detector already made (`text`'s anchors)
    written over by UTF-16 spaces: that key is redacted by its own finding and not reported again,
    while the rest of its run is still read."""
    spans = [(f.offset, f.end) for f in covered if f.encoding == "utf-16le"]
    if not spans:
        return chunk.data
    data = bytearray(chunk.data)
    for low, high in spans:
        position = bisect.bisect_left(range(len(data)), low, key=chunk.file_offset)
        length = min(high - low, len(data) - position) // 2
        data[position:position + 2 * length] = b" \x00" * length
    return bytes(data)


__all__ = ["MAGICS", "decode_stream", "scan_embedded", "stream_starts", "utf16_runs"]
