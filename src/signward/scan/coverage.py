"""Why a dump or a bundle cannot be accounted for byte by byte: the rule that refused it.

A scan certifies only what it read. Every way an input can hold bytes the scanner would not
read (a member listed but not read, a compressed stream cut short, bytes after the last
frame, a name an extractor would write elsewhere or onto another member) is a refusal with
one of these rules, carried by `CoverageError` (a `DumpFormatError`: exit 2, one line, and
for the pipeline `unreadable`). Tests assert the rule, never the message text.
"""

from __future__ import annotations

from enum import StrEnum

from ..errors import DumpFormatError


class Uncovered(StrEnum):
    """The rule that refused an input whose bytes could not all be read."""

    TRUNCATED = "truncated"  # a compressed stream ends inside a frame
    TRAILING_DATA = "trailing_data"  # bytes after the last frame that are not another frame (zeros excepted)
    SKIPPABLE_FRAME = "skippable_frame"  # a zstd/lz4 frame every decoder skips: bytes nobody reads
    HIDDEN_HEADER = "hidden_header"  # a gzip comment or extra field: bytes the decoder skips
    OUTSIDE_FOLDER = "outside_folder"  # a member name that is absolute or climbs out with '..'
    UNSAFE_NAME = "unsafe_name"  # a name some extractor reads otherwise: separators, drives, devices, look-alikes
    NAME_COLLISION = "name_collision"  # two members one extractor writes to the same file
    NOT_READ = "not_read"  # a member listed but not read
    OVERLAP = "overlap"  # two zip members share their bytes
    SPECIAL_MEMBER = "special_member"  # a link, device, FIFO or sparse member
    ENCRYPTED = "encrypted"  # an encrypted zip member cannot be proven clean
    TOO_MANY = "too_many"  # more members than MAX_MEMBERS, over the whole nesting
    TOO_DEEP = "too_deep"  # bundles nested deeper than MAX_DEPTH
    EXPANSION = "expansion"  # a zip bomb, or members and views past the expansion budget
    UNREAD_FORMAT = "unread_format"  # an archive or compressor no reader opens (7z, RAR, brotli...)


class CoverageError(DumpFormatError):
    """An input refused because some of its bytes would go unread; `rule` says which."""

    def __init__(self, rule: Uncovered, message: str) -> None:
        super().__init__(f"{message} [{rule.value}]")
        self.rule = rule


__all__ = ["CoverageError", "Uncovered"]
