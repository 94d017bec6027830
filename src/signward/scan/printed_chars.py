"""The scanner's reading of two printed byte forms no other reader of it took (brief forms, issue
#32): `od -b` rows (octal bytes behind an offset, octal by default, `-A x`/`-A d` too) and lists of
character literals (`'0', '\\x82', '\\001', '\\u0081'`: C/C++/Java/C# arrays of char).

od rows     consecutive lines of an offset and 1 to 16 three-digit octal bytes, joined into one
            block (a short last row too); `MIN_BYTES` or more bytes a view (layer `byte-list`).
char lists  `MIN_BYTES` or more quoted characters split by commas (and whitespace, newlines), each a
            printable character or an escape (`\\xHH`, octal `\\NNN`, `\\uHHHH` up to 0xff, `\\n`,
            `\\0`, `\\\\`, `\\'`, ...); a literal that is no byte ends the list (layer `escaped`).
Both patterns are matched possessively from their first item (linear), bounded (`MAX_ITEMS` items a
match: a longer run is read in pieces that overlap by `OVERLAP`). Written apart from the
independent reader: nothing is imported from `recheck*`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

MIN_BYTES = 16
MAX_ITEMS = 1 << 16
OVERLAP = 1 << 13

View = tuple[int, int, bytes, str, str]

_OD_ROW = rb"[0-9a-fA-F]{6,8}(?:[ ]+[0-7]{3}){1,16}[ ]*\r?\n"
OD_ROWS = re.compile(rb"(?m)^(?:%s){1,%d}+" % (_OD_ROW, MAX_ITEMS // 16))
_OD_BYTE = re.compile(rb"(?<=[ ])[0-7]{3}(?![0-9])")
_OD_OFFSET = re.compile(rb"(?m)^[0-9a-fA-F]{6,8}")

_CHAR = rb"'(?:[^'\\\n]|\\(?:x[0-9a-fA-F]{1,2}|[0-7]{1,3}|u00[0-9a-fA-F]{2}|[abfnrtv\\'\"?]))'"
CHAR_LIST = re.compile(rb"(?<![\w'])%s(?:[ \t]*+,[ \t\r\n]*+%s){%d,%d}+" % (_CHAR, _CHAR, MIN_BYTES - 1, MAX_ITEMS - 1))
_CHAR_ONE = re.compile(rb"'(?:([^'\\\n])|\\(?:x([0-9a-fA-F]{1,2})|([0-7]{1,3})|u00([0-9a-fA-F]{2})|(.)))'")
_SIMPLE = {b"a": 7, b"b": 8, b"f": 12, b"n": 10, b"r": 13, b"t": 9, b"v": 11, b"\\": 92, b"'": 39, b'"': 34, b"?": 63}


def od_rows(data: bytes, low: int, high: int) -> Iterator[View]:
    """Blocks of `od -b` rows, each read as the bytes its rows print (offsets dropped)."""
    for match in OD_ROWS.finditer(data, low, high):
        values = bytes(int(octal, 8) & 0xFF for octal in _OD_BYTE.findall(
            _OD_OFFSET.sub(lambda offset: b" " * len(offset.group(0)), match.group(0))))
        if len(values) >= MIN_BYTES:
            yield match.start(), match.end(), values, "byte-list", "decoded od -b rows"


def char_lists(data: bytes, low: int, high: int) -> Iterator[View]:
    """Lists of character literals, each read as the bytes its literals spell."""
    if data.find(b"', '", low, high) < 0 and data.find(b"','", low, high) < 0 and data.find(b"',\n", low, high) < 0:
        return
    position = low
    while (match := CHAR_LIST.search(data, position, high)) is not None:
        items = list(_CHAR_ONE.finditer(match.group(0)))
        values = bytes(_char(item) for item in items)
        yield match.start(), match.end(), values, "escaped", "decoded character literals"
        if len(items) < MAX_ITEMS:
            position = match.end()
        else:  # cut at the bound: the next piece starts OVERLAP literals back
            position = match.start() + items[len(items) - OVERLAP].start()


def _char(item: re.Match[bytes]) -> int:
    plain, hexa, octal, unicode, simple = item.groups()
    if plain is not None:
        return plain[0]
    if hexa is not None or unicode is not None:
        return int(hexa or unicode, 16)
    if octal is not None:
        return int(octal, 8) & 0xFF
    return _SIMPLE.get(simple, simple[0])


__all__ = ["char_lists", "od_rows"]
