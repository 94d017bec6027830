"""A minimal Windows minidump writer for tests: header, directory, one Memory64ListStream, and
extra streams (to plant hostile list counts)."""

from __future__ import annotations

import struct

MEMORY64_LIST = 9


def minidump(ranges: list[tuple[int, bytes]], extra: list[tuple[int, bytes]] | None = None) -> bytes:
    """A minidump whose memory is `ranges` of (virtual address, bytes), with `extra` streams of
    (stream type, contents) after it."""
    extra = extra or []
    streams = 1 + len(extra)
    header_size, directory_size = 32, 12 * streams
    list_offset = header_size + directory_size
    list_size = 16 + 16 * len(ranges)
    base_rva = list_offset + list_size
    header = struct.pack("<4sIIIIIQ", b"MDMP", 0xA793, streams, header_size, 0, 0, 0)
    memory_list = struct.pack("<QQ", len(ranges), base_rva) + b"".join(
        struct.pack("<QQ", address, len(data)) for address, data in ranges)
    body = memory_list + b"".join(data for _, data in ranges)
    directory = struct.pack("<III", MEMORY64_LIST, list_size, list_offset)
    offset = list_offset + len(body)
    for kind, contents in extra:
        directory += struct.pack("<III", kind, len(contents), offset)
        body += contents
        offset += len(contents)
    return header + directory + body
