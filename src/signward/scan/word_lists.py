"""The scanner's reading of memory printed as LISTS of 2-, 4- or 8-byte words (issue #32, red team rt18).

Source code and program output print memory as integers wider than a byte, apart by commas: Python
`list`/`tuple` (`[808534834, -2, ...]`, `['0x30818702', ...]`), JSON arrays (one a line too), Java
`new int[]{...}` / `long[]` (`5L`), C `uint16_t`/`uint32_t`/`uint64_t` initializers (`0x..U`, `0x..ULL`),
Rust `{:x?}`, node's `Uint32Array(n) [ ... ]`, numpy's repr, gdb's `p/x` / `p/d` `{0x..., ...}`; or
apart by blanks only inside brackets: Go's `[a b c]`, numpy's str (2-D: `[[..]\\n [..]]`).

token   decimal (signed or not), `0x` hex or bare hex with a letter (Go `%x`, Rust `{:x?}`; each bare
        token holds a digit), a suffix `U`, `L`, `UL`, `ULL`, `u32`, `i64`..., quotes around it.
list    tokens apart by `,` (blanks and newlines after it, or a row join `], [`), matched possessively
        from its first token; or, after `[`, tokens apart by blanks/newlines (and `]\\n [`). A list of
        one kind only (all `0x`, all bare hex, or all decimal).
reading for each W in `WIDTHS` whose range holds every token (negative ones as two's complement),
        the stretches worth reading as memory: runs of full words (top byte not zero: a key's words,
        255 in 256 of random ones) of `MIN_FULL` bytes or more, gaps of one word joined, widened by
        `MARGIN` bytes (a DER header before a key); little-endian and big-endian, each a view (layer
        `byte-list` or `hex-words`) whose finding covers the whole list. A list of small integers
        (no run of full words) gives no view; a list of fewer than `MIN_TEXT` characters (a CSV row)
        is not read: it cannot print `MIN_FULL` bytes of full words.
Bounded: a list is read in windows of `MAX_TOKENS` tokens overlapping by `OVERLAP` tokens (a key across
a cut is whole in one); views and their decoded bytes are counted by `printed.scan_printed`'s bounds
(past them the chunk is incomplete, never clean). Written apart from the independent reader: nothing
of `recheck*`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

WIDTHS = (2, 4, 8)
MIN_FULL = 32  # bytes of full words: a 32-byte scalar, seed or AES-256 key
MIN_TOKENS = 4  # a 32-byte scalar as four 8-byte words
MARGIN = 64
MAX_TOKENS = 16_384
OVERLAP = 2_048  # more words than a 4096-bit RSA key's DER as 2-byte words
MAX_DIGITS = 20
GROUP_GAP = 256
GROUP_BYTES = 64 << 10
MIN_TEXT = 64  # characters: 4 words of 8 bytes (17+ digits each), 8 of 4 bytes or 16 of 2 print more

View = tuple[int, int, bytes, str, str]

_TOKEN = (rb"(?<![0-9A-Za-z_.$'\"])['\"]?+[-+]?+"
          rb"(?:0[xX][0-9a-fA-F]{1,16}+|(?=[a-fA-F]{0,19}+[0-9])[0-9a-fA-F]{1,%d}+)"
          rb"(?:[uU](?:LL|ll|L|l)?+|[lL]{1,2}+|_?+[uUiI](?:8|16|32|64|128|size)|)['\"]?+(?![0-9A-Za-z_.])" % MAX_DIGITS)
_COMMA_SEP = rb"[ \t]*+(?:,|\][ \t]*+,?+[ \t\r\n]*+\[)[ \t\r\n]*+"
COMMA_LIST = re.compile(rb"%s(?:%s%s)*+" % (_TOKEN, _COMMA_SEP, _TOKEN))
_BLANK_SEP = rb"(?:[ \t\r\n]*+\][ \t\r\n]*+\[[ \t\r\n]*+|[ \t\r\n]++)"
BLANK_LIST = re.compile(rb"\[(?:[ \t\r\n]*+\[)?+[ \t\r\n]*+(%s(?:%s%s)*+)" % (_TOKEN, _BLANK_SEP, _TOKEN))
_PARTS = re.compile(rb"(?<![0-9A-Za-z_.$'\"])['\"]?+([-+]?+)(0[xX])?+([0-9a-fA-F]++)")
_LETTER = re.compile(rb"[a-fA-F]")


def _values(text: bytes) -> tuple[list[int], str] | None:
    """The list's tokens as integers and their kind (`hex` or `decimal`), or None for a mixed list
    (`_PARTS` takes a token's sign, prefix and digits; its suffix, never a hex digit, is left)."""
    parts = _PARTS.findall(text)
    if not parts:
        return None
    kinds = {bool(prefix) for _, prefix, _ in parts}
    if len(kinds) > 1:
        return None
    signs = [-1 if sign == b"-" else 1 for sign, _, _ in parts]
    if kinds == {True} or any(_LETTER.search(digits) for _, _, digits in parts):
        return [sign * int(digits, 16) for sign, (_, _, digits) in zip(signs, parts, strict=True)], "hex"
    return [sign * int(digits) for sign, (_, _, digits) in zip(signs, parts, strict=True)], "decimal"


def _stretches(words: list[int], width: int) -> list[tuple[int, int]]:
    """[first, last) of each run of full words (module docstring), widened and merged."""
    floor = 1 << 8 * (width - 1)
    margin = MARGIN // width
    out: list[tuple[int, int]] = []
    first = last = -1
    for index, word in enumerate(words + [0, 0]):  # (two non-full words close the last run)
        if word >= floor:
            if first < 0 or index - last > 2:
                if first >= 0 and (last + 1 - first) * width >= MIN_FULL:
                    out.append((first, last + 1))
                first = index
            last = index
    if first >= 0 and (last + 1 - first) * width >= MIN_FULL:
        out.append((first, last + 1))
    merged: list[tuple[int, int]] = []
    for low, high in out:
        low, high = max(0, low - margin), min(len(words), high + margin)
        if merged and low <= merged[-1][1]:
            merged[-1] = (merged[-1][0], high)
        else:
            merged.append((low, high))
    return merged


def _readings(values: list[int], kind: str) -> Iterator[tuple[bytes, str, str]]:
    """Each width's and byte order's bytes of the full-word stretches (module docstring)."""
    low, high = min(values), max(values)
    for width in WIDTHS:
        if low < -(1 << 8 * width - 1) or high >= 1 << 8 * width:
            continue
        mask = (1 << 8 * width) - 1
        words = [value & mask for value in values]
        for first, last in _stretches(words, width):
            for order in ("little", "big"):
                decoded = b"".join(word.to_bytes(width, order) for word in words[first:last])
                layer = "hex-words" if kind == "hex" else "byte-list"
                yield decoded, layer, f"decoded {kind} word list ({width}-byte, {order}-endian)"


def _windows(text: bytes, start: int) -> Iterator[tuple[int, int, bytes]]:
    """The list's text in windows of `MAX_TOKENS` tokens (module docstring), with their raw spans."""
    spans = [match.span() for match in _PARTS.finditer(text)]
    if len(spans) <= MAX_TOKENS:
        yield start, start + len(text), text
        return
    at = 0
    while at < len(spans):
        last = min(len(spans), at + MAX_TOKENS)
        low, high = spans[at][0], spans[last - 1][1]
        yield start + low, start + high, text[low:high]
        if last == len(spans):
            return
        at = last - OVERLAP


def _list_views(data: bytes, low: int, high: int) -> Iterator[View]:
    """Each list's (or window's) readings, in the order the lists start."""
    found: list[tuple[int, int, bytes]] = []
    for match in COMMA_LIST.finditer(data, low, high):
        if match.end() - match.start() >= MIN_TEXT and data.count(b",", match.start(), match.end()) >= MIN_TOKENS - 1:
            found.append((match.start(), match.end(), match.group(0)))
    if data.find(b"[", low, high) >= 0:
        for match in BLANK_LIST.finditer(data, low, high):
            text = match.group(1)
            if b"," not in text and len(text) >= MIN_TEXT:
                found.append((match.start(), match.end(), text))
    for start, end, text in sorted(found, key=lambda item: item[0]):
        for first, last, window in _windows(text, end - len(text)):
            parsed = _values(window)
            if parsed is None or len(parsed[0]) < MIN_TOKENS:
                continue
            span = (start, end) if (first, last) == (end - len(text), end) else (first, last)
            for decoded, layer, detail in _readings(*parsed):
                yield span[0], span[1], decoded, layer, detail


def word_lists(data: bytes, low: int, high: int) -> Iterator[View]:
    """Lists of words in data[low:high] (module docstring), each read in every width and order it
    allows. Lists apart by at most `GROUP_GAP` characters (a log's line of lists after line) are
    read together: each reading's bytes joined, one view over them all (up to `GROUP_BYTES`), so a
    log of many lists makes few views; a finding there covers the group."""
    group: dict[tuple[str, str], bytearray] = {}
    start = end = -1
    current = (-1, -1)  # the span of the list whose readings come now
    for view in _list_views(data, low, high):
        fresh, current = (view[0], view[1]) != current, (view[0], view[1])
        if group and fresh and (view[0] < end or view[0] - end > GROUP_GAP
                                or sum(map(len, group.values())) + len(view[2]) > GROUP_BYTES):
            for (layer, detail), decoded in group.items():
                yield start, end, bytes(decoded), layer, detail
            group = {}
        if not group:
            start = view[0]
        end = max(end, view[1]) if group else view[1]
        group.setdefault((view[3], view[4]), bytearray()).extend(view[2])
    for (layer, detail), decoded in group.items():
        yield start, end, bytes(decoded), layer, detail


__all__ = ["word_lists"]
