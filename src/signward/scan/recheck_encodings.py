"""The independent reader's views of key bytes printed in cp1252 mojibake, grouped integers, base58,
Z85 and yEnc (issue #32, brief `encodings`).

cp1252 mojibake  bytes decoded as Windows-1252 and written as UTF-8: a cluster of `PAIRS` or more
                 non-ASCII characters cp1252 maps, at most `SPREAD` ASCII bytes between two, with at
                 least one character only cp1252 gives (U+20AC, U+2122, ...) or a lost byte, and
                 the ASCII bytes around it (`EDGE` each side), read back byte by byte from this
                 module's own table. Undefined bytes as .NET writes them (U+0081 ...) or as
                 Python's surrogateescape leaves them (raw); U+FFFD (`errors='replace'`) lost: up to
                 `LOST` of them every filling is a view, more is a finding (`lossy-cp1252-bytes`).
                 Only a cluster with a control character or 40 % high bytes. rt18: a cluster
                 whose line a console wrapped at a fixed column (CRLF, PowerShell's 120) is also
                 read with those breaks taken out (`_rejoined`).
grouped integers decimal numbers of 60 digits or more grouped by threes with one separator (`_`,
                 `,`, `.`, `'`, spaces incl. U+00A0/U+2009/U+202F); hex grouped by fours with `_`;
                 other groupings (any size 3-10, hex by 8, wrapped) are `recheck_grouping.py`'s.
                 Each a child view (`> decimal (grouped)`, `> hex (grouped)`) and tested as an RSA
                 d/dp/dq (`recheck_numbers.rsa_part`).
base58           runs of 40 or more characters of its alphabet with no letter or digit either side
                 (or wrapped at 12 columns or more, `recheck_wrapped`),
                 read when they decode to 32 or 64 bytes, to DER, or check as base58check.
                 rt19: rows of 8-11 columns only as a 64-byte Ed25519 seed then its own public key;
                 rows behind line numbers (`nl -s ''`), groups of 4 joined by `-`; a wrapped run
                 also without a shorter last row (two rows or more left).
Z85              runs of 40 or more characters of its alphabet, max(2, 4 %) of them outside
                 base64's, max(3, 8 %) capitals (URLs and paths have few), at most 60 % lowercase
                 and no character max(7, length / 12) times (Java identifiers and descriptors),
                 read at each of the 5 alignments.
yEnc             `=ybegin` ... `=yend` (1 MiB at most; `size=` in either or not: rt16), escapes undone.

Its own code, written apart from the scanner's `printed_encodings.py` (no numpy, its own tables).
Anchors per view are capped (`recheck_codecs.candidates`; more is incomplete, refused).
"""

from __future__ import annotations

import hashlib
import itertools
import mmap
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from . import recheck_zeros as zeros
from .recheck_codecs import candidates
from .recheck_grouping import grouped_runs, regrouped_runs
from .recheck_numbers import rsa_part
from .recheck_wrapped import NARROWEST_B58, Z85_BLOCK, b58_rows, numbered_b58, wrapped
from .recheck_yparts import Parts

if TYPE_CHECKING:
    from .recheck import _Reader

PAIRS = 6
SPREAD = 24
EDGE = 64
LOST = 2
WRAP_FROM = 40  # rt18: a cluster's line cut at this column or wider may be a console's wrap (PowerShell: 120)
WRAP_TRIES = 4  # columns tried a cluster
LINE_FROM = 4096  # bytes looked back for the start of a cluster's line
# the 27 characters cp1252 puts at 0x80-0x9F (Microsoft's table, bestfit1252.txt)
_HIGH = {0x20AC: 0x80, 0x201A: 0x82, 0x0192: 0x83, 0x201E: 0x84, 0x2026: 0x85, 0x2020: 0x86, 0x2021: 0x87,
         0x02C6: 0x88, 0x2030: 0x89, 0x0160: 0x8A, 0x2039: 0x8B, 0x0152: 0x8C, 0x017D: 0x8E, 0x2018: 0x91,
         0x2019: 0x92, 0x201C: 0x93, 0x201D: 0x94, 0x2022: 0x95, 0x2013: 0x96, 0x2014: 0x97, 0x02DC: 0x98,
         0x2122: 0x99, 0x0161: 0x9A, 0x203A: 0x9B, 0x0153: 0x9C, 0x017E: 0x9E, 0x0178: 0x9F}
_HOLES = (0x81, 0x8D, 0x8F, 0x90, 0x9D)
_ONLY_CP1252 = b"|".join(re.escape(chr(point).encode("utf-8")) for point in sorted(_HIGH))
_MARK = re.compile(_ONLY_CP1252 + rb"|\xef\xbf\xbd")
_CHARACTER = rb"(?:[\xc2\xc3][\x80-\xbf]|" + _ONLY_CP1252 + rb"|\xef\xbf\xbd|[\x81\x8d\x8f\x90\x9d])"
_CLUSTER = re.compile(rb"(?:%s[\x00-\x7f]{0,%d}+){%d,}" % (_CHARACTER, SPREAD, PAIRS))

_GROUPED_BODY = rb"[0-9]{3}(?:\1[0-9]{3}){18,840}+(?![0-9])"
# ASCII separators: a text-only pattern, searched in the view's text spans (`recheck_zeros`)
_GROUPED = re.compile(rb"(?<![0-9A-Za-z_.,])[1-9][0-9]{0,2}(_|,|\.|'| )" + _GROUPED_BODY)
# no-break, thin and narrow spaces: searched only near one (16 KiB either side)
_GROUPED_WIDE = re.compile(rb"(?<![0-9A-Za-z_.,])[1-9][0-9]{0,2}(\xc2\xa0|\xe2\x80\x89|\xe2\x80\xaf|\xe2\x80\x88)"
                           + _GROUPED_BODY)
_WIDE_SPACE = re.compile(rb"[0-9](?:\xc2\xa0|\xe2\x80[\x88\x89\xaf])[0-9]")
_GROUPED_HEX = re.compile(rb"(?:(?<=0x)|(?<![0-9A-Za-z_]))[0-9a-fA-F]{1,4}(?:_[0-9a-fA-F]{4}){15,520}+(?![0-9A-Za-z_])")

_BITCOIN = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_RUN = re.compile(rb"(?<![0-9A-Za-z])[1-9A-HJ-NP-Za-km-z]{40,4096}+(?![0-9A-Za-z])")
_B58_DASHED = re.compile(rb"(?<![0-9A-Za-z-])(?:[1-9A-HJ-NP-Za-km-z]{4}-){9,1023}+[1-9A-HJ-NP-Za-km-z]{1,4}"
                         rb"(?![0-9A-Za-z-])")  # rt19: groups of 4 joined by `-`, the last shorter or not
_ZEROMQ = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
_Z85_RUN = re.compile(rb"[-0-9a-zA-Z.:+=^!/*?&<>()\[\]{}@%$#]{40,8192}+")
_NOT_BASE64 = frozenset(b".:^!*?&<>()[]{}@%$#")
_YEND = re.compile(rb"\r?\n=yend")


def read_encodings(reader: _Reader, data: bytes | mmap.mmap, name: str, depth: int) -> None:
    """Every form in the module docstring, each decoded run a child view at its span."""
    cap = candidates(data)
    _cp1252(reader, data, name, depth, cap)
    _integers(reader, data, name, depth, cap)
    count = 0
    for span, text, width in _base58_runs(data):  # linear: each run's digits read once
        if width < NARROWEST_B58:  # rt19: narrow rows only as a self-checking Ed25519 pair
            plain = _base58_number(text.decode("ascii"))
            if len(plain) == 64 and _self_checking(plain):
                count += 1
                _cap(count, cap, name, "base58 runs of a key's length")
                _child(reader, plain, f"{name} > base58 (narrow rows, Ed25519 pair)@{span[0]}", depth, span)
            continue
        for label, plain in _base58(text.decode("ascii")):
            count += 1
            _cap(count, cap, name, "base58 runs of a key's length")
            _child(reader, plain, f"{name} > {label}@{span[0]}", depth, span)
    count = 0
    for span, text in _runs(_Z85_RUN, Z85_BLOCK, data, 8192):
        run = text.decode("ascii")
        if sum(ord(c) in _NOT_BASE64 for c in run) < max(2, len(run) / 25) or len(set(run)) < 20 \
                or sum(c.isupper() for c in run) < max(3, len(run) / 12) \
                or sum(c.islower() for c in run) * 5 > 3 * len(run) \
                or max(map(run.count, set(run))) >= max(7, len(run) / 12):
            continue  # a URL, a path, base64: few of Z85's own punctuation or few capitals; a Java
            # identifier or descriptor: mostly lowercase, or one character repeated past chance
        count += 1
        _cap(count, cap, name, "Z85-looking runs")
        for align in range(5):
            _child(reader, _z85(run[align:]), f"{name} > z85+{align}@{span[0]}", depth, span)
    parts = Parts()
    position = data.find(b"=ybegin")
    for count in itertools.count():
        if position < 0:
            break
        _cap(count, cap, name, "yEnc headers")
        after = data.find(b"=ybegin", position + 7)  # the next header ends this body: each byte read once
        line_end = data.find(b"\n", position, position + 1040)
        # rt16: any `=ybegin` line, `size=` in it or not (a writer may leave it out)
        if line_end > 0 and data[position + 7:position + 8] in (b" ", b"\t", b"\r", b"\n"):
            body_start = part_start = line_end + 1
            if data[body_start:body_start + 7] == b"=ypart ":
                body_start = data.find(b"\n", body_start, body_start + 512) + 1 or body_start
            limit = min(len(data) if after < 0 else max(after, body_start), body_start + (1 << 20))
            tail = _YEND.search(data, body_start, limit)
            body_end = tail.start() if tail else limit
            body = _yenc(bytes(data[body_start:body_end]))
            _child(reader, body, f"{name} > yenc@{position}", depth, (position, tail.end() if tail else body_end))
            if body_start > part_start:
                parts.add(bytes(data[position:line_end]), bytes(data[part_start:body_start]), body,
                          (position, tail.end() if tail else body_end))
        position = after
    for plain, span in parts.files():  # multipart: each part at its begin= offset
        _child(reader, plain, f"{name} > yenc multipart@{span[0]}", depth, span)


def _integers(reader: _Reader, data: bytes | mmap.mmap, name: str, depth: int, cap: int) -> None:
    """Grouped decimal and hex integers of a key's length, each a child view and an RSA part tried."""
    count = 0
    read: set[tuple[tuple[int, int], int]] = set()  # a number two readings read alike: one child view
    for match in _grouped(data):
        value = int(re.sub(rb"[^0-9]", b"", match.group(0)))
        if not _key_length(value):
            continue
        count += 1
        read.add((match.span(), value))
        _cap(count, cap, name, "grouped integers")
        _child(reader, value.to_bytes(max(32, (value.bit_length() + 7) // 8), "big"),
               f"{name} > decimal (grouped)", depth, match.span())
        _rsa(reader, value, f"{name} > decimal (grouped)", match.span())
    for span, value in grouped_runs(data):  # lakh, U+2019, by fours, wrapped (recheck_grouping)
        if not _key_length(value):
            continue
        count += 1
        read.add((span, value))
        _cap(count, cap, name, "grouped integers")
        _child(reader, value.to_bytes(max(32, (value.bit_length() + 7) // 8), "big"),
               f"{name} > decimal (grouped)", depth, span)
        _rsa(reader, value, f"{name} > decimal (grouped)", span)
    for span, value, label in regrouped_runs(data):  # rt18: any group size, wrapped inside groups, hex by 8
        if not _key_length(value) or (span, value) in read:
            continue
        count += 1
        read.add((span, value))
        _cap(count, cap, name, "grouped integers")
        _child(reader, value.to_bytes(max(32, (value.bit_length() + 7) // 8), "big"), f"{name} > {label}", depth, span)
        _rsa(reader, value, f"{name} > {label}", span)
    for match in zeros.finditer(_GROUPED_HEX, data):
        value = int(match.group(0).replace(b"_", b""), 16)
        if not _key_length(value):
            continue
        count += 1
        _cap(count, cap, name, "grouped integers")
        _child(reader, value.to_bytes(max(32, (value.bit_length() + 7) // 8), "big"),
               f"{name} > hex (grouped)", depth, match.span())
        _rsa(reader, value, f"{name} > hex (grouped)", match.span())


def _runs(one_line: re.Pattern[bytes], block: re.Pattern[bytes], data: bytes | mmap.mmap,
          longest: int) -> Iterator[tuple[tuple[int, int], bytes]]:
    """Runs on one line, then runs wrapped over lines at a fixed width joined (`recheck_wrapped`)."""
    for match in zeros.finditer(one_line, data):
        yield match.span(), bytes(match.group(0))
    yield from wrapped(block, data, longest)


def _base58_runs(data: bytes | mmap.mmap) -> Iterator[tuple[tuple[int, int], bytes, int]]:
    """(span, run, row width) of each base58 run: on one line, wrapped (rows from 8 columns), behind
    line numbers, and rt19's groups of 4 joined by `-` (the last shorter)."""
    for match in zeros.finditer(_B58_RUN, data):
        yield match.span(), bytes(match.group(0)), 4096
    yield from b58_rows(data, 4096)
    yield from numbered_b58(data, 4096)
    for match in zeros.finditer(_B58_DASHED, data):
        yield match.span(), bytes(match.group(0)).replace(b"-", b""), 4096


def _self_checking(plain: bytes) -> bool:
    """The 64 bytes are an Ed25519 seed and then its own public key."""
    from .recheck import _ed25519_publics

    return _ed25519_publics([plain[:32]])[0] == plain[32:]


def printed_view(name: str) -> bool:
    """A view this module decoded from base58 or Z85 (rt16: an address whose bytes begin `1f 8b` by
    chance is not a place where a compressed stream must decode)."""
    last = name.rsplit(" > ", 1)[-1]
    return last.startswith(("base58", "z85+"))


def _grouped(data: bytes | mmap.mmap) -> Iterator[re.Match[bytes]]:
    """Numbers grouped with ASCII separators (in text spans), then with wide spaces (near one)."""
    yield from zeros.finditer(_GROUPED, data)
    areas: list[tuple[int, int]] = []
    for space in zeros.finditer(_WIDE_SPACE, data):
        low, high = max(0, space.start() - (16 << 10)), min(len(data), space.end() + (16 << 10))
        if areas and low <= areas[-1][1]:
            areas[-1] = (areas[-1][0], high)
        else:
            areas.append((low, high))
    for low, high in areas:
        yield from _GROUPED_WIDE.finditer(data, low, high)


def _key_length(value: int) -> bool:
    """Up to 40 bits shorter than an EC scalar's or an RSA prime's, d's or n's size."""
    return any(bits - 40 <= value.bit_length() <= bits for bits in (256, 384, 521, 1024, 1536, 2048, 3072, 4096))


def _cap(count: int, cap: int, name: str, what: str) -> None:
    if count >= cap:
        from .recheck import _Exhausted

        raise _Exhausted(f"{name}: more than {cap} {what}")


def _child(reader: _Reader, plain: bytes, name: str, depth: int, span: tuple[int, int]) -> None:
    outer = reader.decoding(depth, *span)
    reader.child(plain, name, depth + 1)
    reader.span = outer


def _rsa(reader: _Reader, value: int, name: str, span: tuple[int, int]) -> None:
    for kid, n, e in reader.rsa_publics:
        part = rsa_part(value, n, e, reader)
        if part is not None:
            reader.found("known-key", name, f"RSA {part} of known kid {kid}", span)
            return


def _cp1252(reader: _Reader, data: bytes | mmap.mmap, name: str, depth: int, cap: int) -> None:
    """cp1252 clusters: searched only within 4 KiB of a character only cp1252 gives (or U+FFFD);
    marks closer than that share one search, so each byte is searched once."""
    areas: list[tuple[int, int]] = []
    for mark in zeros.finditer(_MARK, data):
        if areas and mark.start() - 4096 <= areas[-1][1]:
            areas[-1] = (areas[-1][0], min(len(data), mark.end() + 4096))
        else:
            areas.append((max(0, mark.start() - 4096), min(len(data), mark.end() + 4096)))
    count = 0
    for low, high in areas:
        for cluster in _CLUSTER.finditer(data, low, high):
            spelled = _spell(bytes(cluster.group(0)))
            if spelled is None or not spelled[1]:
                continue  # Latin-1 only (the Latin-1 view reads it), or a character cp1252 lacks
            raw = bytes(0x80 if byte < 0 else byte for byte in spelled[0])
            # C0 controls, DEL, the undefined bytes (0x80-0x9F are cp1252's typography, in text)
            controls = sum(byte < 0x20 and byte not in (9, 10, 13) or byte in (0x7F, *_HOLES) for byte in raw)
            if not controls and 5 * sum(byte >= 0x80 for byte in raw) < 2 * len(raw):
                continue  # text from a Windows log
            start, end = cluster.start(), cluster.end()
            while start > 0 and cluster.start() - start < EDGE and data[start - 1] < 0x80:
                start -= 1
            while end < len(data) and end - cluster.end() < EDGE and data[end] < 0x80:
                end += 1
            whole = _spell(bytes(data[start:end]))
            if whole is None:
                continue
            count += 1
            _cap(count, cap, name, "cp1252 clusters of key-like bytes")
            values = whole[0]
            holes = [index for index, byte in enumerate(values) if byte < 0]
            outer = reader.decoding(depth, start, end)
            if len(holes) > LOST:
                reader.found("lossy-cp1252-bytes", f"{name} > cp1252 mojibake@{start}",
                             f"{len(holes)} bytes lost to U+FFFD in key-like bytes", (start, end))
            else:
                line = _column_zero(data, start, cluster.start())
                for filling in itertools.product(_HOLES, repeat=len(holes)):
                    for index, byte in zip(holes, filling, strict=True):
                        values[index] = byte
                    reader.child(bytes(values), f"{name} > cp1252 mojibake@{start}", depth + 1)
                    for columns, rejoined in _rejoined(bytes(values), line):
                        reader.child(rejoined, f"{name} > cp1252 mojibake@{start} wrapped at {columns}", depth + 1)
            reader.span = outer


def _column_zero(data: bytes | mmap.mmap, start: int, first: int) -> int:
    """The start of the line `first` is on, in characters from `start` (below 0: a prefix before
    the cluster's bytes); 0 when it is farther back than `LINE_FROM` bytes."""
    low = max(0, start - LINE_FROM)
    back = bytes(data[low:first]).rfind(b"\n")
    if back >= start - low:
        return back + 1 - (start - low)
    if back < 0 and low > 0:
        return 0
    return -len(bytes(data[low + back + 1:start]).decode("utf-8", "replace"))


def _rejoined(values: bytes, line: int) -> Iterator[tuple[int, bytes]]:
    """(columns, `values` with the line breaks a console put at a fixed column taken out): the
    columns are the lengths of the first lines from `line` (`WRAP_FROM` or more, `WRAP_TRIES` of
    them: a key's own bytes hold 0x0A; `line` below 0: the line began before `values`); rows of
    that length, each followed by the same break (CRLF or LF), are joined from `line` on, when a
    byte 0x80 or more follows them."""
    tried: list[tuple[int, bytes]] = []
    newline = values.find(b"\n", max(line, 0))
    looked = 0
    while newline >= 0 and looked < 4 * WRAP_TRIES and len(tried) < WRAP_TRIES:
        looked += 1
        brk = b"\r\n" if newline > max(line, 0) and values[newline - 1] == 0x0D else b"\n"
        columns = newline + 1 - len(brk) - line
        if columns >= WRAP_FROM and (columns, brk) not in tried:
            tried.append((columns, brk))
        newline = values.find(b"\n", newline + 1)
    for columns, brk in tried:
        rows = []
        at = line
        while values[at + columns:at + columns + len(brk)] == brk:
            rows.append(values[max(at, 0):at + columns])
            at += columns + len(brk)
        if any(byte >= 0x80 for byte in values[at:]):  # else the breaks cut were after the cluster
            yield columns, values[:max(line, 0)] + b"".join(rows) + values[at:]


def _spell(chunk: bytes) -> tuple[list[int], bool] | None:
    """The bytes a cp1252 decoder read (-1: lost to U+FFFD) and whether a character outside
    Latin-1 was there; None when a character is not one cp1252 gives."""
    out: list[int] = []
    beyond = False
    for char in chunk.decode("utf-8", "surrogateescape"):
        point = ord(char)
        if point < 0x100:
            out.append(point)
        elif point in _HIGH:
            out.append(_HIGH[point])
            beyond = True
        elif point == 0xFFFD:
            out.append(-1)
            beyond = True
        elif 0xDC80 <= point <= 0xDCFF:  # a raw byte left by surrogateescape
            out.append(point - 0xDC00)
            beyond = True
        else:
            return None
    return out, beyond


def _base58_number(run: str) -> bytes:
    number = 0
    for char in run:
        number = number * 58 + _BITCOIN.index(char)
    return b"\0" * (len(run) - len(run.lstrip("1"))) + number.to_bytes((number.bit_length() + 7) // 8, "big")


def _base58(run: str) -> list[tuple[str, bytes]]:
    plain = _base58_number(run)
    readings = []
    if len(plain) in (32, 64) or (len(plain) >= 48 and plain[0] == 0x30):
        readings.append(("base58", plain))
    body, check = plain[:-4], plain[-4:]
    if len(body) >= 32 and hashlib.sha256(hashlib.sha256(body).digest()).digest()[:4] == check:
        readings += [("base58check", body), ("base58check payload", body[1:])]
    return readings


def _z85(run: str) -> bytes:
    out = bytearray()
    for at in range(0, len(run) - 4, 5):
        value = 0
        for char in run[at:at + 5]:
            value = value * 85 + _ZEROMQ.index(char)
        out += value.to_bytes(4, "big") if value < 1 << 32 else bytes(4)
    return bytes(out)


def _yenc(body: bytes) -> bytes:
    out = bytearray()
    escaped = False
    for byte in body:
        if byte in (10, 13):
            continue
        if byte == 0x3D and not escaped:
            escaped = True
            continue
        out.append((byte - (106 if escaped else 42)) & 0xFF)
        escaped = False
    return bytes(out)


__all__ = ["printed_view", "read_encodings"]
