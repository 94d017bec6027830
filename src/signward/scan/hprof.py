"""Java heap dumps (HPROF, from `jcmd PID GC.heap_dump` or `jmap`): the record structure as a
`Layout` whose regions are the contents of primitive arrays and UTF-8 strings.

HPROF is big-endian, so a `BigInteger`'s magnitude (`int[]`, most significant word first) lies
in the file as the plain big-endian bytes of the number, and a `byte[]` holding an encoded key
(`PKCS8Key.encodedKey`) as its DER: the byte detectors find both (known-key in the `be` layout,
unknown-rsa, der, text). Every other byte (record headers, class dumps, instance fields,
object arrays) is structure: `protected`, never overwritten, and a finding there is refused
as `finding_in_metadata`. Sanitizing overwrites array contents in place, so the file stays a
valid HPROF that heap analysers open (the tests parse it again).

Written from the HPROF format OpenJDK documents (`hprof_b_spec.h` / the heap dump writer); an
unknown record or sub-record tag, a truncated record or a count that runs past its record is a
`DumpFormatError`: a dump that cannot be parsed whole is not scanned as if it were.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import DumpFormatError

MAGICS = (b"JAVA PROFILE 1.0.1\x00", b"JAVA PROFILE 1.0.2\x00")
UTF8, HEAP_DUMP, HEAP_DUMP_SEGMENT = 0x01, 0x0C, 0x1C
BASIC_SIZES = {4: 1, 5: 2, 6: 4, 7: 8, 8: 1, 9: 2, 10: 4, 11: 8}  # boolean char float double byte short int long
OBJECT = 2
# root sub-records: how many ids and how many u4 follow the tag
ROOTS = {0xFF: (1, 0), 0x01: (2, 0), 0x02: (1, 2), 0x03: (1, 2), 0x04: (1, 1), 0x05: (1, 0), 0x06: (1, 1),
         0x07: (1, 0), 0x08: (1, 2)}
CLASS_DUMP, INSTANCE_DUMP, OBJECT_ARRAY, PRIMITIVE_ARRAY = 0x20, 0x21, 0x22, 0x23


@dataclass(frozen=True)
class Content:
    """Bytes of values at `offset` for `size`: a primitive array's elements or a UTF-8 string."""

    offset: int
    size: int
    kind: str  # "byte[]", "int[]", ..., "utf8"


def is_hprof(head: bytes) -> bool:
    return head.startswith(MAGICS)


class _Reader:
    def __init__(self, data: mmap.mmap | bytes, id_size: int) -> None:
        self.data = data
        self.id_size = id_size

    def need(self, position: int, count: int, limit: int) -> None:
        if count < 0 or position + count > limit:
            raise DumpFormatError(f"HPROF record runs past its end at offset {position}")

    def u1(self, position: int) -> int:
        return self.data[position]

    def u2(self, position: int) -> int:
        return int(struct.unpack_from(">H", self.data, position)[0])

    def u4(self, position: int) -> int:
        return int(struct.unpack_from(">I", self.data, position)[0])


def contents(data: mmap.mmap | bytes) -> Iterator[Content]:
    """Every primitive array's contents and every UTF-8 string of an HPROF file, in file order."""
    magic = next((m for m in MAGICS if data[:len(m)] == m), None)
    if magic is None:
        raise DumpFormatError("not an HPROF file")
    size = len(data)
    if size < len(magic) + 12:
        raise DumpFormatError("HPROF header truncated")
    id_size = struct.unpack_from(">I", data, len(magic))[0]
    if id_size not in (4, 8):
        raise DumpFormatError(f"HPROF identifier size {id_size} (only 4 and 8 exist)")
    read = _Reader(data, id_size)
    position = len(magic) + 12
    while position < size:
        read.need(position, 9, size)
        tag, length = data[position], read.u4(position + 5)
        body, end = position + 9, position + 9 + length
        read.need(body, length, size)
        if tag == UTF8:
            read.need(body, id_size, end)
            if length > id_size:
                yield Content(body + id_size, length - id_size, "utf8")
        elif tag in (HEAP_DUMP, HEAP_DUMP_SEGMENT):
            yield from _heap(read, body, end)
        position = end


def _heap(read: _Reader, position: int, end: int) -> Iterator[Content]:
    ids = read.id_size
    while position < end:
        tag = read.u1(position)
        position += 1
        if tag in ROOTS:
            count_ids, count_u4 = ROOTS[tag]
            position += count_ids * ids + 4 * count_u4
        elif tag == CLASS_DUMP:
            position = _class_dump(read, position, end)
            continue
        elif tag == INSTANCE_DUMP:
            read.need(position, 2 * ids + 8, end)
            length = read.u4(position + 2 * ids + 4)
            position += 2 * ids + 8 + length
        elif tag == OBJECT_ARRAY:
            read.need(position, 2 * ids + 8, end)
            count = read.u4(position + ids + 4)
            position += 2 * ids + 8 + count * ids
        elif tag == PRIMITIVE_ARRAY:
            read.need(position, ids + 9, end)
            count, kind = read.u4(position + ids + 4), read.u1(position + ids + 8)
            if kind not in BASIC_SIZES:
                raise DumpFormatError(f"HPROF primitive array of unknown type {kind} at offset {position}")
            start, length = position + ids + 9, count * BASIC_SIZES[kind]
            read.need(start, length, end)
            if length:
                yield Content(start, length, _TYPE_NAMES[kind] + "[]")
            position = start + length
            continue
        else:
            raise DumpFormatError(f"HPROF heap sub-record of unknown type 0x{tag:02x} at offset {position - 1}")
        read.need(position, 0, end)


def _value_size(kind: int, ids: int, at: int) -> int:
    if kind == OBJECT:
        return ids
    if kind not in BASIC_SIZES:
        raise DumpFormatError(f"HPROF field of unknown type {kind} at offset {at}")
    return BASIC_SIZES[kind]


def _class_dump(read: _Reader, position: int, end: int) -> int:
    ids = read.id_size
    position += 7 * ids + 8  # class, serial, super, loader, signers, domain, 2 reserved, instance size
    read.need(position, 2, end)
    constants = read.u2(position)
    position += 2
    for _ in range(constants):  # u2 index, u1 type, value
        read.need(position, 3, end)
        kind = read.u1(position + 2)
        position += 3 + _value_size(kind, ids, position)
    read.need(position, 2, end)
    statics = read.u2(position)
    position += 2
    for _ in range(statics):
        read.need(position, ids + 1, end)
        kind = read.u1(position + ids)
        position += ids + 1 + _value_size(kind, ids, position)
    read.need(position, 2, end)
    fields = read.u2(position)
    position += 2 + fields * (ids + 1)
    read.need(position, 0, end)
    return position


_TYPE_NAMES = {4: "boolean", 5: "char", 6: "float", 7: "double", 8: "byte", 9: "short", 10: "int", 11: "long"}


def hprof_contents(path: Path) -> list[Content]:
    """Every content range of the HPROF file at `path` (DumpFormatError if it does not parse whole)."""
    with open(path, "rb") as handle:
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return list(contents(data))


__all__ = ["Content", "contents", "hprof_contents", "is_hprof"]
