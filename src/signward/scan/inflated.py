"""Compressed streams inside decoded base64 runs, and zlib streams at any offset (issue #32,
session 22): this module owns finding them and decoding each into a view.

A key gzipped, zlib'd or zipped and then base64'd into a log line (`payload=H4sI...`,
`blob=eJx...`, `attachment=UEsDB...`), and a PEM in a zlib stream inside binary data (a PDF's
FlateDecode stream, a git object, a PNG's IDAT) were read only by the independent reader: the
decoded-run pass decoded the base64 and never decompressed it, and the embedded pass knew the
gzip, zstd, xz, bzip2 and LZ4 magics but not zlib's two-byte head. Here:

- `children(view)`: in the bytes one base64 run decodes to, every gzip member (`1f 8b 08`),
  every zlib stream (`78 01/5e/9c/da`: the four heads whose check `(CMF*256+FLG) % 31 == 0` holds
  without a preset dictionary), every zip local file header (`PK 03 04`: its member stored or
  deflated) and a raw deflate stream from the view's first byte, each decoded to where it ends
  or breaks (what it decoded before it broke is a view: a stream cut short still holds its head).
  Heads are found with one regex; a zlib head whose first deflate block could not start there (the
  reserved block type, a stored block's length without its complement) and a head with fewer than
  `MIN_COMPRESSED` bytes after it are skipped. At most `MAX_HEADS` heads per view; a stream
  decodes to at most `EXPANSION` times the view plus `SLACK` bytes (a zip bomb in base64): past it
  the chunk's scan is incomplete.
- `zlib_starts(data, start, end)`: the zlib heads in a chunk (numpy), at most `PER_MIB` in any MiB
  of it (`78 9c` noise, 1 MiB of nothing else, would otherwise be half a million decoders); past it
  the chunk's scan is incomplete. The embedded pass decodes each as it decodes a gzip member.

Written apart from the independent reader (`recheck*.py`): nothing is imported from it.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator

import numpy as np

ZLIB_FLAGS = (0x01, 0x5E, 0x9C, 0xDA)  # FLG after CMF 0x78 (32 KiB window, deflate) for the 4 levels
_IS_FLAG = np.zeros(256, dtype=bool)
_IS_FLAG[list(ZLIB_FLAGS)] = True
PER_MIB = 256  # zlib heads decoded per MiB of a chunk (random bytes hold 64)
MAX_HEADS = 64  # stream heads tried in one decoded view
EXPANSION = 64  # one stream in a view decodes to at most this many times the view's length ...
SLACK = 1 << 20  # ... plus this many bytes
MIN_RAW_DEFLATE = 32  # bytes a headless deflate stream must decode to before it counts as one
STEP = 256  # compressed bytes fed at a time: a stream that breaks keeps what the pieces before gave
ZIP_HEAD = 30  # a local file header's fixed part
MIN_COMPRESSED = 32  # bytes after a head: a key's 32 random bytes do not compress into fewer
_HEAD = re.compile(rb"\x1f\x8b\x08|PK\x03\x04|\x78[\x01\x5e\x9c\xda]")  # gzip, a zip member, zlib


def zlib_starts(data: bytes, start: int, end: int) -> tuple[list[int], bool]:
    """(positions of the zlib heads in data[start:end], whether some were left out: more than
    `PER_MIB` in one MiB of it)."""
    stop = min(len(data) - 1, end)
    if stop <= start:
        return [], False
    view = np.frombuffer(data, dtype=np.uint8, count=stop - start + 1, offset=start)
    heads = np.flatnonzero(view[:-1] == 0x78)
    heads = heads[_IS_FLAG[view[heads + 1]]]
    if not len(heads):
        return [], False
    mib = heads >> 20
    first = np.searchsorted(mib, mib)  # index of the first head of each head's MiB
    keep = np.arange(len(heads)) - first < PER_MIB
    return (heads[keep] + start).tolist(), not bool(keep.all())


def inflate_prefix(data: bytes, wbits: int, limit: int) -> tuple[bytes, bool, bool]:
    """(bytes decoded, ended properly, decoded past `limit`) of the deflate-family stream at the
    start of `data` (`wbits` as zlib's: 15 zlib, 31 gzip, -15 raw), fed `STEP` bytes at a time so
    a stream that breaks keeps the output of the pieces before the break."""
    decoder = zlib.decompressobj(wbits)
    parts: list[bytes] = []
    size = 0
    for at in range(0, len(data), STEP):
        try:
            out = decoder.decompress(data[at:at + STEP], limit - size + 1)
        except zlib.error:
            break
        parts.append(out)
        size += len(out)
        if size > limit:
            return b"".join(parts)[:limit], False, True
        if decoder.eof:
            return b"".join(parts), True, False
    return b"".join(parts), False, False


def _zip_member(data: bytes, at: int) -> tuple[int, int, int] | None:
    """(method, payload start, payload length or -1 when unknown) of the local file header at `at`."""
    if at + ZIP_HEAD > len(data):
        return None
    method = int.from_bytes(data[at + 8:at + 10], "little")
    size = int.from_bytes(data[at + 18:at + 22], "little")
    names = int.from_bytes(data[at + 26:at + 28], "little") + int.from_bytes(data[at + 28:at + 30], "little")
    payload = at + ZIP_HEAD + names
    if method not in (0, 8) or payload >= len(data):
        return None
    return method, payload, size if size and payload + size <= len(data) else -1


def _may_open(data: bytes, at: int) -> bool:
    """Can a deflate stream start at `at`: its first block's type is not the reserved one, and a
    stored block's length is followed by its complement (noise rarely passes both)."""
    kind = (data[at] >> 1) & 3 if at < len(data) else 3
    if kind == 0:
        return at + 5 <= len(data) and int.from_bytes(data[at + 1:at + 3], "little") ^ 0xFFFF == int.from_bytes(
            data[at + 3:at + 5], "little")
    return kind != 3


def _heads(data: bytes) -> Iterator[tuple[str, int, int, int]]:
    """(layer, wbits or 0 for a stored member, payload start, payload length or -1) of a raw deflate
    stream at 0 and of every stream head in `data` (at most `MAX_HEADS`), in order of position."""
    if _may_open(data, 0):
        yield "deflate", -15, 0, -1
    count = 0
    for match in _HEAD.finditer(data, 0, len(data) - MIN_COMPRESSED):
        at, magic = match.start(), data[match.start()]
        if magic == 0x78 and not _may_open(data, at + 2):
            continue
        member = _zip_member(data, at) if magic == 0x50 else (8, at, -1)
        if member is None:
            continue
        count += 1
        if count > MAX_HEADS:
            return
        method, payload, size = member
        layer = "gzip" if magic == 0x1F else "zip" if magic == 0x50 else "zlib"
        yield layer, {"gzip": 31, "zip": -15, "zlib": 15}[layer] if method == 8 else 0, payload, size


def children(data: bytes, room: int, incomplete: set[str]) -> Iterator[tuple[str, bytes]]:
    """(layer, decoded bytes) of every compressed stream in the decoded view `data` (module
    docstring), each within `room` bytes and the expansion bound; past either, `incomplete` is noted."""
    if len(data) < MIN_COMPRESSED:
        return
    bound = EXPANSION * len(data) + SLACK
    for layer, wbits, payload, size in _heads(data):
        limit = min(room, bound)
        if wbits == 0:
            plain = data[payload:payload + size] if size > 0 else b""
        else:
            plain, _, over = inflate_prefix(data[payload:payload + size] if size > 0 else data[payload:], wbits, limit)
            if over:
                incomplete.add(f"inflated: a {layer} stream in a decoded run decodes to more than {limit} bytes")
        if len(plain) >= (MIN_RAW_DEFLATE if layer == "deflate" else 1):
            room -= len(plain)
            yield layer, plain


__all__ = ["PER_MIB", "children", "inflate_prefix", "zlib_starts"]
