"""A minimal Windows minidump writer for tests: header, directory, one Memory64ListStream."""

from __future__ import annotations

import struct

MEMORY64_LIST = 9


def minidump(ranges: list[tuple[int, bytes]]) -> bytes:
    """A minidump whose memory is `ranges` of (virtual address, bytes)."""
    header_size, directory_size = 32, 12
    list_offset = header_size + directory_size
    list_size = 16 + 16 * len(ranges)
    base_rva = list_offset + list_size
    header = struct.pack("<4sIIIIIQ", b"MDMP", 0xA793, 1, header_size, 0, 0, 0)
    directory = struct.pack("<III", MEMORY64_LIST, list_size, list_offset)
    memory_list = struct.pack("<QQ", len(ranges), base_rva) + b"".join(
        struct.pack("<QQ", address, len(data)) for address, data in ranges)
    return header + directory + memory_list + b"".join(data for _, data in ranges)
