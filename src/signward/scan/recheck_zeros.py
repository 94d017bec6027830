"""Where the independent reader's patterns run in a large view: the view minus its runs of zero
pages.

A process core is mostly zeros (the lab's consumer core: 80 % of its pages), and Python's
regular expressions cost the same per byte on zeros as on text: each of the reader's twenty-odd
patterns walked every zero byte. No pattern of the reader matches a zero byte inside what it
looks for except at the edges (text, base64, hex, decimal, UTF-16/32 characters, PEM armour and
stream headers are all non-zero; a UTF-16 or UTF-32 character ends in zeros), so a run of whole
zero pages is skipped, keeping MARGIN bytes of it on either side: every match in a kept span is
at the same offset as in the whole view (findings map to the same bytes), and decoders that read
on from a match (a compressed stream, a DER structure) still read the whole view.

Inside the kept spans, a pattern every match of which is text (`text_only`: each byte it can
consume is printable ASCII or a blank, \t\n\v\f\r, it has a minimum length of at least
MIN_TEXT bytes, its lookaheads are bounded and it has no end-of-string anchor) runs only over the
view's text runs (`text_spans`, found once per view): no such match can hold a byte outside the
text alphabet, so every match lies inside one maximal text run at least as long as the pattern's
shortest match. Runs closer than GAP bytes are read as one span (fewer calls); each span ends
TAIL non-text bytes past its last run (what a lookahead or `$` sees there is what it sees in the
whole view) and starts at a run's first byte (a lookbehind, `^` and `\b` read the bytes before
the search position, so they see the whole view). The pattern is analysed from its parse tree;
anything the analysis does not know leaves the pattern on the kept spans (never fewer bytes).

This is the reader's own code, written apart from the scanner's `regions.py` (numpy, chunk
joins) so that the two do not share a blind spot; standard library only.
"""

from __future__ import annotations

import functools
import importlib
import mmap
import re
import threading
from collections.abc import Iterator
from typing import Any

PAGE = 4096
LARGE = 4 << 20  # views this large are split at zero pages; smaller ones are read whole
MARGIN = 64  # bytes of a zero run kept on either side of a kept span
_ZERO_PAGE = bytes(PAGE)
MIN_TEXT = 4  # text runs shorter than this are not found; a pattern's shortest match must be as long
GAP = 512  # text runs closer than this are searched as one span
TAIL = 16  # non-text bytes kept after a span's last run, for lookaheads (bounded below TAIL)
MIN_WIDE = 32  # the same for wide text (UTF-16/32: text bytes and zeros), its runs this long
TEXT = frozenset((0x09, 0x0A, 0x0B, 0x0C, 0x0D, *range(0x20, 0x7F)))
WIDE = TEXT | {0}
_RUNS = {TEXT: re.compile(rb"[\t\n\x0b\x0c\r -~]{%d,}" % MIN_TEXT),
         WIDE: re.compile(rb"[\x00\t\n\x0b\x0c\r -~]{%d,}" % MIN_WIDE)}

_last: tuple[object, int, list[tuple[int, int]]] | None = None
_last_text: tuple[object, int, dict[frozenset[int], list[tuple[int, int, int]]]] | None = None
_lock = threading.Lock()


def spans(data: bytes | mmap.mmap) -> list[tuple[int, int]]:
    """[start, end) spans of `data` that hold every non-zero byte, each zero-page run of the view
    (page-aligned, at least one page) left out but for MARGIN bytes at its edges."""
    global _last
    size = len(data)
    if size < LARGE:
        return [(0, size)]
    with _lock:
        if _last is not None and _last[0] is data and _last[1] == size:
            return _last[2]
    kept: list[tuple[int, int]] = []
    start: int | None = None
    for page in range(0, size, PAGE):
        zero = data[page:page + PAGE] == _ZERO_PAGE
        if not zero and start is None:
            start = max(0, page - MARGIN)
        elif zero and start is not None:
            kept.append((start, min(size, page + MARGIN)))
            start = None
    if start is not None:
        kept.append((start, size))
    with _lock:
        _last = (data, size, kept)
    return kept


def forget() -> None:
    """Drop the cached spans and the reference to the view they belong to (a read is over: a
    large decoded view must not stay in memory until the next large read)."""
    global _last, _last_text
    with _lock:
        _last = None
        _last_text = None


def text_spans(data: bytes | mmap.mmap, shortest: int,
               alphabet: frozenset[int] = TEXT) -> list[tuple[int, int]] | None:
    """[start, end) spans of a large view that hold every maximal run of `alphabet` bytes (TEXT,
    or WIDE) at least `shortest` (>= MIN_TEXT, or MIN_WIDE) bytes long: runs closer than GAP
    joined, each span starting at a run's first byte and ending TAIL bytes (or the view's end)
    past its last run's end. None when the view has more spans than it has pages (a view built
    to defeat the filter: it is read on its kept spans; no list grows past one entry a page)."""
    global _last_text
    size = len(data)
    with _lock:
        if _last_text is None or _last_text[0] is not data or _last_text[1] != size:
            _last_text = (data, size, {})
        cache = _last_text[2]
        joined = cache.get(alphabet)
    if joined is None:
        joined = _join_runs(data, _RUNS[alphabet])
        with _lock:
            cache[alphabet] = joined
    if joined and joined[0][0] < 0:
        return None
    return [(start, end) for start, end, longest in joined if longest >= shortest]


def _join_runs(data: bytes | mmap.mmap, runs: re.Pattern[bytes]) -> list[tuple[int, int, int]]:
    """(start, end, longest run) of the joined `runs` of `data`; [(-1, -1, 0)] past the cap."""
    size = len(data)
    cap = size // PAGE + 1024
    joined: list[tuple[int, int, int]] = []
    last_end = -GAP
    for start, end in spans(data):
        for match in runs.finditer(data, start, end):
            here, there = match.span()
            if joined and here - last_end < GAP:
                first, _, longest = joined[-1]
                joined[-1] = (first, min(size, there + TAIL), max(longest, there - here))
            else:
                if len(joined) >= cap:
                    return [(-1, -1, 0)]
                joined.append((here, min(size, there + TAIL), there - here))
            last_end = there
    return joined


_parser: Any
try:
    _parser = importlib.import_module("re._parser")
except ImportError:  # another Python: every pattern runs on the kept spans
    _parser = None


@functools.lru_cache(maxsize=512)
def text_only(pattern: re.Pattern[bytes]) -> tuple[int, frozenset[int]] | None:
    """(shortest match, alphabet) when every byte each match of `pattern` can consume is in the
    alphabet (TEXT, else WIDE), its shortest match is at least that alphabet's minimum run, its
    lookaheads are bounded below TAIL and it has no end-of-string anchor; else None."""
    if _parser is None or not isinstance(pattern.pattern, bytes):
        return None
    try:
        tree = _parser.parse(pattern.pattern, pattern.flags)
        shortest = int(tree.getwidth()[0])
        fold = bool(pattern.flags & re.IGNORECASE)
        for alphabet, least in ((TEXT, MIN_TEXT), (WIDE, MIN_WIDE)):
            if _in_tree(tree, fold, alphabet):
                return (shortest, alphabet) if shortest >= least else None
    except Exception:  # noqa: BLE001 - a tree this analysis does not know: no text prefilter
        return None
    return None


_CATEGORIES = {"CATEGORY_DIGIT": frozenset(range(0x30, 0x3A)),
               "CATEGORY_SPACE": frozenset(b" \t\n\r\x0b\x0c"),
               "CATEGORY_WORD": frozenset(b"_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")}
_ANCHORS = {"AT_BEGINNING", "AT_BEGINNING_LINE", "AT_BEGINNING_STRING", "AT_BOUNDARY",
            "AT_NON_BOUNDARY", "AT_END_LINE"}


def _in_byte(value: int, fold: bool, alphabet: frozenset[int]) -> bool:
    """`value` (and, under IGNORECASE, its other ASCII case) is in `alphabet`."""
    swapped = value ^ 0x20 if fold and (0x41 <= value <= 0x5A or 0x61 <= value <= 0x7A) else value
    return value in alphabet and swapped in alphabet


def _in_set(items: Any, fold: bool, alphabet: frozenset[int]) -> bool:
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            if not _in_byte(arg, fold, alphabet):
                return False
        elif name == "RANGE":
            if not all(_in_byte(value, fold, alphabet) for value in range(arg[0], arg[1] + 1)):
                return False
        elif name != "CATEGORY" or str(arg) not in _CATEGORIES or not _CATEGORIES[str(arg)] <= alphabet:
            return False  # NEGATE, a negated category: bytes outside the alphabet
    return True


def _in_tree(tree: Any, fold: bool, alphabet: frozenset[int]) -> bool:
    """Every byte a match of `tree` consumes is in `alphabet`; lookaheads bounded, no end anchor."""
    for op, arg in tree:
        name = str(op)
        if name == "LITERAL":
            ok = _in_byte(arg, fold, alphabet)
        elif name == "IN":
            ok = _in_set(arg, fold, alphabet)
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            ok = _in_tree(arg[2], fold, alphabet)
        elif name == "SUBPATTERN":
            add, remove = int(arg[1]), int(arg[2])
            inner = (fold or bool(add & re.IGNORECASE)) and not remove & re.IGNORECASE
            ok = _in_tree(arg[3], inner, alphabet)
        elif name == "ATOMIC_GROUP":
            ok = _in_tree(arg, fold, alphabet)
        elif name == "BRANCH":
            ok = all(_in_tree(branch, fold, alphabet) for branch in arg[1])
        elif name == "GROUPREF":
            ok = True  # the bytes of a group already checked
        elif name == "AT":
            ok = str(arg) in _ANCHORS
        elif name in ("ASSERT", "ASSERT_NOT"):  # lookbehinds read the whole view; lookaheads TAIL
            ok = arg[0] < 0 or int(arg[1].getwidth()[1]) < TAIL
        else:
            ok = False  # ANY, NOT_LITERAL, conditionals, anything else
        if not ok:
            return False
    return True


def finditer(pattern: re.Pattern[bytes], data: bytes | mmap.mmap, pos: int = 0) -> Iterator[re.Match[bytes]]:
    """`pattern.finditer(data, pos)` over the kept spans of a large view (all of a small one);
    over its text spans only when every match of the pattern is text (`text_only`). A small view
    gets the pattern's own iterator (rt18: a file of 60,000 short base64 ids is 240,000 small views,
    each searched by some fifty patterns: a generator around each search cost a third of the time)."""
    if len(data) < LARGE:
        return pattern.finditer(data, pos)
    return _large_finditer(pattern, data, pos)


def _large_finditer(pattern: re.Pattern[bytes], data: bytes | mmap.mmap, pos: int) -> Iterator[re.Match[bytes]]:
    """`finditer` over a view of LARGE bytes or more."""
    if len(data) >= LARGE:
        form = text_only(pattern)
        texts = None if form is None else text_spans(data, *form)
        if texts is not None:
            for start, end in texts:
                if end > pos:
                    yield from pattern.finditer(data, max(start, pos), end)
            return
    for start, end in spans(data):
        if end > pos:
            yield from pattern.finditer(data, max(start, pos), end)


__all__ = ["GAP", "LARGE", "MARGIN", "MIN_TEXT", "PAGE", "TAIL", "TEXT", "finditer", "forget", "spans",
           "text_only", "text_spans"]
