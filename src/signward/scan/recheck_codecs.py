"""The independent reader's second set of views: streams without a magic number and text encodings.

`recheck.py` owns the views every writer names (gzip, zstd, xz, bz2, lz4, archives, JSON, base64,
hex, percent, UTF-16). This module owns what the red team (issue #32, F4 and F6) got certified
through them: zlib streams (git loose objects, PDF FlateDecode, PNG IDAT are zlib), raw deflate at
the start of a view, LZMA-alone (.lzma), base32, ascii85 / base85, uuencode, quoted-printable,
UTF-32 and EBCDIC (cp500 / cp037) PEM armour.

It only recognises and decodes: `decoded_views` yields each decoded run with its raw span, and the
reader reads it like any other view (detectors, known-key windows, and every layer below it).
Every recogniser first checks that a run looks like its encoding (header bytes, length, alphabet)
and bounds what it decodes; a stream that decodes a meaningful amount and then breaks or stops
short is reported `broken` (the caller refuses, a stream cut short cannot be proven harmless),
a candidate that fails early is noise (a 0x78 byte in a core) and is skipped.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import lzma
import mmap
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from . import recheck_zeros as zeros

MAX_CANDIDATES = 20_000  # stream headers tried per view, plus one per KiB of the view (`candidates`)
MAX_TEXT_RUN = 1 << 20  # the longest encoded text run decoded
MEANINGFUL = 64  # decoded bytes after which a stream that breaks is a stream cut short, not noise
PROBE = 4096  # compressed bytes a candidate is first tried on
MIN_BASE32 = 26  # a 16-byte AES key in base32 (unpadded)
MIN_BASE85 = 20  # a 16-byte AES key in ascii85 / base85
GLUED_PREFIX = 64  # a name glued before a base85 run (`key=`, `blob:`) ends within this many characters
MIN_WIDE = 16
SMALL_VIEW = 1 << 20  # the reader's WINDOW_VIEW_BYTES: views read with every recogniser

_ZLIB_HEAD = re.compile(rb"\x78[\x01\x5e\x9c\xda]")
_LZMA_ALONE = re.compile(rb"\x5d\x00[\x00-\xff]{2}[\x00-\x40][\xff\x00-\x7f][\x00-\xff]{7}", re.DOTALL)
_BASE32_RUN = re.compile(rb"(?:[A-Z2-7]{%d,}|[a-z2-7]{%d,})=*" % (MIN_BASE32, MIN_BASE32))
_PRINTABLE = re.compile(rb"[!-~]{%d,}" % MIN_BASE85)
_ASCII85_ADOBE = re.compile(rb"<~[!-uz\s]{%d,}~>" % MIN_BASE85)
_ASCII85_RUN = re.compile(rb"[!-uz]{%d,}" % MIN_BASE85)
_BASE85_RUN = re.compile(rb"[0-9A-Za-z!#$%%&()*+\-;<=>?@^_`{|}~]{%d,}" % MIN_BASE85)
_UU_BEGIN = re.compile(rb"^begin(?:-base64)? [0-7]{3,4} [^\r\n]{0,255}\r?\n", re.MULTILINE)
_QP_SOFT = re.compile(rb"=\r?\n")
_QP_BREAK = re.compile(rb"(?:[!-<>-~ \t]|=[0-9A-Fa-f]{2}){0,998}=\r?\n")  # a line ending in a soft break
_QP_LINE = re.compile(rb"[!-~ \t]{1,998}")  # the last line
_UTF32LE = re.compile(rb"(?:[\x09\x0a\x0d\x20-\x7e]\x00\x00\x00){%d,}" % MIN_WIDE)
_UTF32BE = re.compile(rb"(?:\x00\x00\x00[\x09\x0a\x0d\x20-\x7e]){%d,}" % MIN_WIDE)
MIN_WIDE_LARGE = 40  # characters of a UTF-32 run read in a large view (a P-256 JWK's "d" is 43)
_UTF32LE_LARGE = re.compile(rb"(?:[\x09\x0a\x0d\x20-\x7e]\x00\x00\x00){%d,%d}" % (MIN_WIDE_LARGE, MAX_TEXT_RUN // 4))
_EBCDIC_ARMOUR = {codec: "-----BEGIN ".encode(codec) for codec in ("cp500", "cp037")}
_EBCDIC_END = {codec: "-----END ".encode(codec) for codec in ("cp500", "cp037")}


@dataclass(frozen=True)
class Decoded:
    """One decoded run: [start, end) in the view, its label, the plain bytes (what decoded, even of
    a stream that broke) and `broken` (why a stream stopped short), or None."""

    start: int
    end: int
    codec: str
    plain: bytes
    broken: str | None = None


class Oversized(Exception):
    """A run expands past the caller's decode budget, or a view holds more candidates than a
    reader may try (the caller's read is incomplete: refused, never passed)."""


def candidates(data: bytes | mmap.mmap, scale: int = 1) -> int:
    """How many candidates of one recogniser a view may hold before the read is incomplete:
    20,000 plus one per KiB (random bytes hold a zlib header pair every 16 KiB), times `scale`.
    Reaching it is not noise to skip but text made to hide what comes after: refused."""
    return (MAX_CANDIDATES + len(data) // 1024) * scale


def too_many(what: str, data: bytes | mmap.mmap, scale: int = 1) -> Oversized:
    return Oversized(f"more than {candidates(data, scale)} {what} in a view of {len(data)} bytes")


def decoded_views(data: bytes | mmap.mmap, limit: int, top: bool = True) -> Iterator[Decoded]:
    """Every run in `data` this module can decode, each decoded at most to `limit` bytes (more
    raises Oversized). `top`: raw deflate is tried at the view's start (a .deflate file, a body)."""
    yield from _zlib_streams(data, limit)
    if top:
        raw = _raw_deflate(data, limit)
        if raw is not None:
            yield raw
    yield from _lzma_alone(data, limit)
    yield from _printable_runs(data)
    yield from _uuencoded(data)
    yield from _quoted_printable(data)
    yield from _utf32_runs(data)
    yield from _ebcdic_armour(data)
    yield from _sse_data(data)
    yield from _terminal_lines(data)


# ---- F4: streams without a container magic number

def _inflate_from(data: bytes | mmap.mmap, start: int, wbits: int, limit: int) -> tuple[bytes, int, str | None] | None:
    """Inflate from `start`: (plain, end, broken) or None when it is not a stream (fails before it
    decoded MEANINGFUL bytes). The first PROBE bytes decide cheaply."""
    engine = zlib.decompressobj(wbits)
    out = bytearray()
    position = start
    size = len(data)
    chunk = PROBE
    while position < size:
        block = bytes(data[position:position + chunk])
        try:
            out += engine.decompress(block, limit + 1 - len(out))
            while engine.unconsumed_tail and not engine.eof:
                if len(out) > limit:
                    break
                out += engine.decompress(engine.unconsumed_tail, limit + 1 - len(out))
        except zlib.error as exc:
            # the failing call's own output is lost: decode again in small steps up to the break
            out = _inflate_before_error(data, start, wbits, position + len(block), limit)
            if len(out) < MEANINGFUL:
                return None
            return bytes(out), position + len(block), f"does not inflate to its end ({exc})"
        if len(out) > limit:
            raise Oversized(f"a stream at {start} expands past the decode budget")
        if engine.eof:
            return bytes(out), position + len(block) - len(engine.unused_data), None
        position += len(block)
        chunk = 1 << 20
    if len(out) < MEANINGFUL:
        return None
    return bytes(out), size, "ends before the end of its stream"


def _inflate_before_error(data: bytes | mmap.mmap, start: int, wbits: int, stop: int, limit: int) -> bytearray:
    """What a stream that breaks before `stop` decodes to, up to the break (64 input bytes a step)."""
    engine = zlib.decompressobj(wbits)
    out = bytearray()
    for position in range(start, stop, 64):
        try:
            out += engine.decompress(bytes(data[position:min(stop, position + 64)]), limit + 1 - len(out))
            while engine.unconsumed_tail and len(out) <= limit:
                out += engine.decompress(engine.unconsumed_tail, limit + 1 - len(out))
        except zlib.error:
            break
        if len(out) > limit:
            raise Oversized(f"a stream at {start} expands past the decode budget")
    return out


def _zlib_streams(data: bytes | mmap.mmap, limit: int) -> Iterator[Decoded]:
    done = 0
    cap = candidates(data)
    for count, match in enumerate(zeros.finditer(_ZLIB_HEAD, data)):
        if count >= cap:
            raise too_many("zlib headers", data)
        start = match.start()
        if start < done:
            continue
        result = _inflate_from(data, start, 15, limit)
        if result is None:
            continue
        plain, end, broken = result
        done = end
        yield Decoded(start, end, "zlib", plain, broken and f"zlib stream at {start} {broken}")


def _raw_deflate(data: bytes | mmap.mmap, limit: int) -> Decoded | None:
    """A view that IS a raw deflate stream (no header to find it elsewhere): it must inflate to a
    proper end and decode MEANINGFUL bytes; anything else is not taken for deflate."""
    if len(data) < 8 or _ZLIB_HEAD.match(data):
        return None
    result = _inflate_from(data, 0, -15, limit)
    if result is None or result[2] is not None or len(result[0]) < MEANINGFUL:
        return None
    return Decoded(0, result[1], "deflate", result[0])


def _lzma_alone(data: bytes | mmap.mmap, limit: int) -> Iterator[Decoded]:
    """.lzma (LZMA-alone): props 0x5d, a dictionary size, then the 8-byte size (or all ff)."""
    done = 0
    cap = candidates(data)
    for count, match in enumerate(zeros.finditer(_LZMA_ALONE, data)):
        if count >= cap:
            raise too_many("LZMA-alone headers", data)
        start = match.start()
        if start < done:
            continue
        header = match.group(0)
        dictionary = int.from_bytes(header[1:5], "little")
        declared = int.from_bytes(header[5:13], "little")
        if dictionary < 4096 or (declared != (1 << 64) - 1 and declared > 1 << 40):
            continue
        engine = lzma.LZMADecompressor(format=lzma.FORMAT_ALONE)
        out = bytearray()
        position = start
        broken: str | None = None
        try:
            while position < len(data) and not engine.eof:
                block = bytes(data[position:position + (PROBE if position == start else 1 << 20)])
                out += engine.decompress(block, limit + 1 - len(out))
                while not engine.eof and not engine.needs_input and len(out) <= limit:
                    out += engine.decompress(b"", limit + 1 - len(out))
                if len(out) > limit:
                    raise Oversized(f"an LZMA stream at {start} expands past the decode budget")
                position += len(block)
        except lzma.LZMAError as exc:
            broken = f"LZMA stream at {start} does not decode to its end ({exc})"
        if engine.eof:
            position -= len(engine.unused_data)
        elif broken is None:
            broken = f"LZMA stream at {start} ends before the end of its stream"
        if len(out) < MEANINGFUL and broken is not None:
            continue  # noise that looked like a header
        done = position
        yield Decoded(start, position, "lzma", bytes(out), broken)


# ---- F6: text encodings

def _printable_runs(data: bytes | mmap.mmap) -> Iterator[Decoded]:
    """One pass over the view for runs of printable characters; base32 and base85 are looked for
    inside them only (one regex pass per encoding would triple the cost on a large core)."""
    for match in zeros.finditer(_PRINTABLE, data):
        for offset in range(match.start(), match.end(), MAX_TEXT_RUN):
            run = bytes(data[offset:min(match.end(), offset + MAX_TEXT_RUN)])
            yield from _base32_runs(run, offset)
            yield from _base85_runs(run, offset)
    position = data.find(b"<~")
    count, cap = 0, candidates(data)
    while position >= 0:
        count += 1
        if count > cap:
            raise too_many("ascii85 openings", data)
        adobe = _ASCII85_ADOBE.match(data, position, min(len(data), position + MAX_TEXT_RUN + 4))
        if adobe is not None:
            try:
                plain = base64.a85decode(adobe.group(0), adobe=True, ignorechars=b" \t\n\r\v")
                yield Decoded(adobe.start(), adobe.end(), "ascii85", plain)
            except (binascii.Error, ValueError):
                pass
        position = data.find(b"<~", position + 2)


def _base32_runs(text: bytes, offset: int) -> Iterator[Decoded]:
    for match in _BASE32_RUN.finditer(text):
        run = match.group(0)
        body = run.rstrip(b"=")  # every run: a digit count (words have none) missed 1 seed in 60 (CI)
        body = body[: len(body) // 8 * 8 + (len(body) % 8 if len(body) % 8 in (2, 4, 5, 7) else 0)]
        try:
            plain = base64.b32decode(body + b"=" * (-len(body) % 8), casefold=True)
        except (binascii.Error, ValueError):
            continue
        yield Decoded(offset + match.start(), offset + match.end(), "base32", plain)


def _punctuated(run: bytes) -> bool:
    """Random base85 / ascii85: letters of both cases, digits and varied punctuation all present."""
    upper = sum(1 for c in run if 65 <= c <= 90)
    lower = sum(1 for c in run if 97 <= c <= 122)
    digits = sum(1 for c in run if 48 <= c <= 57)
    other = len(run) - upper - lower - digits
    punctuation = len({c for c in run if not (48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122)})
    # identifiers (`id-smime-alg-CMS3DESwrap`, `AES_128_GCM`) use one to three separators; random
    # base85 of 20 characters has about 6 different punctuation characters
    return upper * 8 >= len(run) and lower * 10 >= len(run) and digits >= 1 and other * 8 >= len(run) and \
        punctuation >= max(4, len(run) // 16)


def _starts_85(run: bytes) -> list[int]:
    """Where a base85 run's groups may start: its first character, where its length says, and after
    the first `=` or `:` near its start (both are base85 characters, so a name glued before the
    run, `k=...`, is inside it and shifts every group)."""
    starts = {0, len(run) % 5}
    for separator in b"=:":
        glued = run.find(separator, 0, GLUED_PREFIX)
        if glued >= 0:
            starts.add(glued + 1)
    return sorted(starts)


def _base85_runs(text: bytes, offset: int) -> Iterator[Decoded]:
    for pattern, codec in ((_ASCII85_RUN, "ascii85"), (_BASE85_RUN, "base85")):
        for match in pattern.finditer(text):
            run = match.group(0)
            if not _punctuated(run):
                continue
            for shift in _starts_85(run):
                part = run[shift:]
                if len(part) % 5 == 1:
                    part = part[:-1]
                try:
                    plain = base64.a85decode(part) if codec == "ascii85" else base64.b85decode(part)
                except (binascii.Error, ValueError):
                    continue
                yield Decoded(offset + match.start(), offset + match.end(), codec, plain)


def _uuencoded(data: bytes | mmap.mmap) -> Iterator[Decoded]:
    """`begin 644 name` blocks: each line decoded until `end` or a line that is not uuencode."""
    for match in zeros.finditer(_UU_BEGIN, data):
        position = match.end()
        out = bytearray()
        base64_body = match.group(0).startswith(b"begin-base64")
        lines: list[bytes] = []
        while position < len(data) and position - match.end() < MAX_TEXT_RUN:
            newline = data.find(b"\n", position, position + 1024)
            line = bytes(data[position:newline if newline >= 0 else min(len(data), position + 1024)]).rstrip(b"\r")
            position = newline + 1 if newline >= 0 else len(data)
            if line in (b"end", b"===="):
                break
            lines.append(line)
        if base64_body:
            try:
                out += base64.b64decode(b"".join(lines))
            except (binascii.Error, ValueError):
                pass
        else:
            for line in lines:
                try:
                    out += binascii.a2b_uu(line)
                except binascii.Error:
                    try:  # writers that drop trailing spaces: the length byte says how many
                        out += binascii.a2b_uu(line + b" " * 64)[: max(0, (line[:1] or b" ")[0] - 32)]
                    except (binascii.Error, IndexError):
                        break
        if out:
            yield Decoded(match.start(), position, "uuencode", bytes(out))


def _quoted_printable(data: bytes | mmap.mmap) -> Iterator[Decoded]:
    """Lines joined by `=` soft breaks (a base64 body in a mail, a MIME part), `=XX` decoded: grown
    from each soft break over the lines around it (never backtracked)."""
    done = 0
    cap = candidates(data, 50)
    for count, match in enumerate(zeros.finditer(_QP_SOFT, data)):
        if count >= cap:
            raise too_many("quoted-printable soft breaks", data, 50)
        if match.start() < done:
            continue
        floor = max(done, match.start() - 1000)
        newline = data.rfind(b"\n", floor, match.start())
        start = newline + 1 if newline >= 0 else floor
        end = match.end()
        while end - start < MAX_TEXT_RUN:
            following = _QP_BREAK.match(data, end) or _QP_LINE.match(data, end)
            if following is None or following.end() == end:
                break
            end = following.end()
            if not following.group(0).endswith(b"\n"):
                break
        done = end
        run = bytes(data[start:end])
        if run.count(b"=\n") + run.count(b"=\r\n") < 2:
            continue
        plain = binascii.a2b_qp(run)
        if plain != run:
            yield Decoded(start, end, "quoted-printable", plain)


def _utf32_runs(data: bytes | mmap.mmap) -> Iterator[Decoded]:
    """UTF-32 text runs (printable characters); in views larger than SMALL_VIEW (a core: wchar_t,
    std::wstring, Python's 4-byte str) little-endian ones of at least MIN_WIDE_LARGE characters
    (issue #32 round 5, F6: a JWK or base64 DER there) and big-endian ones from PEM armour."""
    if len(data) > SMALL_VIEW:
        yield from _armour(data, {codec: "-----BEGIN ".encode(codec) for codec in ("utf-32-le", "utf-32-be")},
                           {codec: "-----END ".encode(codec) for codec in ("utf-32-le", "utf-32-be")}, 4)
        for count, match in enumerate(zeros.finditer(_UTF32LE_LARGE, data)):
            if count >= candidates(data):
                raise too_many("UTF-32 text runs", data)
            yield Decoded(match.start(), match.end(), "utf-32-le", match.group(0).decode("utf-32-le").encode("ascii"))
        return
    for pattern, codec in ((_UTF32LE, "utf-32-le"), (_UTF32BE, "utf-32-be")):
        for match in zeros.finditer(pattern, data):
            yield Decoded(match.start(), match.end(), codec, match.group(0).decode(codec).encode("ascii"))


def _ebcdic_armour(data: bytes | mmap.mmap) -> Iterator[Decoded]:
    yield from _armour(data, _EBCDIC_ARMOUR, _EBCDIC_END, 1)


def _armour(data: bytes | mmap.mmap, begins: dict[str, bytes], ends: dict[str, bytes], width: int) -> Iterator[Decoded]:
    """PEM armour written in another character set: from `-----BEGIN ` to just after the matching
    `-----END ` line, decoded (the reader's PEM detector then loads it)."""
    for codec, begin in begins.items():
        position = data.find(begin)
        count, cap = 0, candidates(data)
        while position >= 0:
            count += 1
            if count > cap:
                raise too_many(f"{codec} armour openings", data)
            end = data.find(ends[codec], position, position + MAX_TEXT_RUN)
            stop = min(len(data), (end + 64 * width) if end >= 0 else position + MAX_TEXT_RUN)
            stop -= (stop - position) % width
            text = bytes(data[position:stop]).decode(codec, "replace")
            yield Decoded(position, stop, codec, text.encode("latin-1", "replace"))
            position = data.find(begin, stop)


# ---- F5: a key split into short pieces

MAX_PIECE = 256  # a JSON string this short and all base64 characters may be a piece of a longer run
MAX_JOINED = 4 << 10  # joined text read (a 4096-bit RSA key in PKCS#8 base64 is about 3,200)
_SCALAR_LENGTHS = frozenset({22, 24, 32, 43, 44, 64, 86, 88})  # base64 of 16, 24, 32, 48, 64/66 bytes
MAX_VALUES = 1_000_000  # values of one JSON document walked
MAX_PAIRS = 10_000  # adjacent member pairs joined like a split key (more: the read is incomplete)
_PIECE = re.compile(r"[A-Za-z0-9+/_-]{2," + str(MAX_PIECE) + r"}={0,2}")
_SSE_DATA = re.compile(rb"^data: ?([A-Za-z0-9+/_=-]{1,%d})\r?$" % MAX_PIECE, re.MULTILINE)


def joined_pieces(document: object) -> Iterator[bytes]:
    """Short base64-looking JSON strings joined: the strings at one path (array indexes ignored:
    one websocket frame's `data` after another, one HAR entry's body after another, the elements
    of an array) in document order when they are equal-length pieces, and adjacent pairs of
    members of one object whose joined length is that of a scalar in base64 (a JWK `d` split in
    two). Each joined text is then read as a view (its
    base64 runs decode). A key cut into pieces of varying length is not joined (documented)."""
    by_path: dict[tuple[str, ...], list[str]] = {}
    pairs: list[str] = []
    stack: list[tuple[object, tuple[str, ...]]] = [(document, ())]
    visited = 0
    while stack:
        visited += 1
        if visited > MAX_VALUES:
            raise Oversized(f"a JSON document of more than {MAX_VALUES:,} values: its pieces are not all joined")
        item, path = stack.pop()
        if isinstance(item, dict):
            members = list(item.items())
            for key, value in reversed(members):
                stack.append((value, (*path, str(key)[:64])))
            pieces = [v if isinstance(v, str) and _PIECE.fullmatch(v) else None for _, v in members]
            for first, second in itertools.pairwise(pieces):
                if first is not None and second is not None and len(first) >= 8 and len(second) >= 8 and \
                        len((first + second).rstrip("=")) in _SCALAR_LENGTHS and _mixed(first + second):
                    pairs.append(first + second)
        elif isinstance(item, list):
            # (numbers, booleans and nulls hold no piece: counted, not stacked one by one)
            kept = [value for value in item if isinstance(value, (dict, list, str))]
            visited += len(item) - len(kept)
            if visited > MAX_VALUES:
                raise Oversized(f"a JSON document of more than {MAX_VALUES:,} values: its pieces are not all joined")
            inner = (*path, "[]")
            stack.extend((value, inner) for value in reversed(kept))
        elif isinstance(item, str) and _PIECE.fullmatch(item):
            by_path.setdefault(path, []).append(item)
    for run in by_path.values():
        # the pieces of one split run: all as long as the first (the last may be shorter), and
        # together like base64 of binary; a path of header names or methods is not joined
        if len(run) >= 2 and len(run[0]) >= 4 and all(len(piece) == len(run[0]) for piece in run[:-1]) and \
                len(run[-1]) <= len(run[0]) and len(set(run)) == len(run) and _mixed("".join(run[:64])):
            yield "".join(run)[:MAX_JOINED].encode("ascii")
    if len(pairs) > MAX_PAIRS:
        raise Oversized(f"more than {MAX_PAIRS} member pairs that join like a split key")
    for pair in pairs:
        yield pair.encode("ascii")


def _mixed(text: str) -> bool:
    """Base64 of random bytes: both cases and a digit (about one in eight characters each)."""
    upper = sum(1 for c in text if "A" <= c <= "Z")
    lower = sum(1 for c in text if "a" <= c <= "z")
    return upper * 8 >= len(text) and lower * 8 >= len(text) and any(c.isdigit() for c in text)


def _sse_data(data: bytes | mmap.mmap) -> Iterator[Decoded]:
    """Server-sent events: the `data:` lines of an event stream joined (a key sent in pieces)."""
    if len(data) > SMALL_VIEW or data.find(b"data:") < 0:
        return
    lines = list(zeros.finditer(_SSE_DATA, data))
    if len(lines) >= 2:
        yield Decoded(lines[0].start(), lines[-1].end(), "sse-data", b"".join(m.group(1) for m in lines)[:MAX_JOINED])


# ---- session 22: terminal colours

_SGR = re.compile(rb"\x1b\[[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]")
LINE_GAP = 1024  # bytes between two coloured lines of one run, at most


def _terminal_lines(data: bytes | mmap.mmap) -> Iterator[Decoded]:
    """Runs of lines holding terminal escapes (`ESC [ ... m`), without them: a printout or a PEM
    coloured line by line as a CI log or a `script` capture keeps it. Each run is the lines from the
    first escape's line to the last's (lines apart by LINE_GAP bytes at most are one run)."""
    first = data.find(b"\x1b[")
    if first < 0:
        return
    runs: list[list[int]] = []
    seen, at = 0, first
    while at >= 0:
        seen += 1
        if seen > candidates(data, 16):
            raise too_many("terminal escapes", data, 16)
        line_start = data.rfind(b"\n", max(0, at - MAX_TEXT_RUN), at) + 1
        line_end = data.find(b"\n", at, at + MAX_TEXT_RUN)
        line_end = len(data) if line_end < 0 else line_end
        if runs and line_start - runs[-1][1] <= LINE_GAP:
            runs[-1][1] = max(runs[-1][1], line_end)
        else:
            runs.append([line_start, line_end])
        at = data.find(b"\x1b[", max(at + 2, line_end))
    for start, end in runs:
        plain = _SGR.sub(b"", bytes(data[start:end]))
        if len(plain) < end - start:
            yield Decoded(start, end, "terminal-colours", plain)
