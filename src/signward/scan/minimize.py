"""`--minimize`: keep thread stacks, registers, notes and mapped-file metadata of an x86-64
ELF core; overwrite every other writable anonymous mapping. What is not kept cannot leak.

Thread stacks are the PT_LOAD segments holding some thread's stack pointer (rsp, from each
NT_PRSTATUS note); file-backed mappings are those the NT_FILE note lists.
"""

from __future__ import annotations

import struct
from pathlib import Path

from ..errors import DumpFormatError
from .formats import Layout

RSP_OFFSET = 112 + 19 * 8  # elf_prstatus.pr_reg starts at 112; rsp is user_regs_struct word 19


def _note_bytes(path: Path, offset: int, size: int) -> bytes:
    with open(path, "rb") as handle:
        handle.seek(offset)
        return handle.read(size)


def stack_pointers(layout: Layout, path: Path) -> list[int]:
    values = []
    for kind, offset, size, _ in layout.notes:
        if kind == "NT_PRSTATUS" and size >= RSP_OFFSET + 8:
            values.append(struct.unpack_from("<Q", _note_bytes(path, offset, size), RSP_OFFSET)[0])
    return values


def file_backed(layout: Layout, path: Path) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for kind, offset, size, _ in layout.notes:
        if kind != "NT_FILE" or size < 16:
            continue
        data = _note_bytes(path, offset, size)
        count, _page = struct.unpack_from("<QQ", data, 0)
        if 16 + count * 24 > len(data):
            raise DumpFormatError(f"{path}: corrupt NT_FILE note")
        for index in range(count):
            start, end, _file_page = struct.unpack_from("<QQQ", data, 16 + 24 * index)
            ranges.append((start, end))
    return ranges


def minimize_ranges(layout: Layout, path: Path) -> list[tuple[int, int]]:
    """File ranges to overwrite: writable, anonymous, not a stack."""
    if layout.format != "elf-core" or layout.machine != "EM_X86_64":
        raise DumpFormatError(f"--minimize needs an x86-64 ELF core, not {layout.format} {layout.machine}".strip())
    pointers = stack_pointers(layout, path)
    if not pointers:
        raise DumpFormatError(f"{path}: no NT_PRSTATUS note, so no thread stack to keep")
    mapped = file_backed(layout, path)
    ranges = []
    for region in layout.regions:
        if region.kind != "load" or not region.writable or region.vaddr is None:
            continue
        low, high = region.vaddr, region.vaddr + region.size
        if any(low <= rsp < high for rsp in pointers):
            continue  # a thread stack
        if any(start < high and low < end for start, end in mapped):
            continue  # file-backed (.data of a library, a mapped file): kept, and scanned like the rest
        ranges.append((region.offset, region.end))
    return ranges


__all__ = ["file_backed", "minimize_ranges", "stack_pointers"]
