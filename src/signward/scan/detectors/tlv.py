"""The scanner's one reading of a BER/DER tag-and-length head: the tag, where the content starts and
its length (None: indefinite). Every scanner detector reads heads here (the independent reader,
`recheck*.py`, keeps its own, so that one misreading cannot blind both)."""

from __future__ import annotations

from typing import NamedTuple

MAX_LENGTH_OCTETS = 4  # a long-form length of more octets is past any key (4 GiB)


class Head(NamedTuple):
    """A value's head: its tag, the offset of its content, the content's length (None: indefinite)."""

    tag: int
    start: int
    length: int | None


def read_head(data: bytes, at: int, limit: int | None = None, *, octets: int = MAX_LENGTH_OCTETS,
              indefinite: bool = False) -> Head | None:
    """The head at `at`, all of it before `limit` (default: the end of `data`), or None: a short
    form, a long form of 1 to `octets` octets (leading zero octets allowed, as BER allows), or, when
    `indefinite`, the indefinite form of a constructed value. The content may run past `limit`."""
    limit = len(data) if limit is None else limit
    if at + 2 > limit:
        return None
    tag, first = data[at], data[at + 1]
    if first < 0x80:
        return Head(tag, at + 2, first)
    count = first & 0x7F
    if count == 0:
        return Head(tag, at + 2, None) if indefinite and tag & 0x20 else None
    if count > octets or at + 2 + count > limit:
        return None
    return Head(tag, at + 2 + count, int.from_bytes(data[at + 2:at + 2 + count], "big"))
