"""The exact pass's one-pass search (`scanner.find_all`) finds every occurrence `bytes.find` finds:
at every alignment, overlapping, at both ends, short patterns, and where anchors flood a chunk."""

from __future__ import annotations

import os
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from signward.scan.scanner import BLOCK, MAX_ANCHOR_HITS, anchor_table, find_all


def by_find(data: bytes, patterns: list[bytes]) -> list[tuple[int, bytes]]:
    found = []
    for pattern in patterns:
        position = data.find(pattern)
        while position >= 0:
            found.append((position, pattern))
            position = data.find(pattern, position + 1)
    return sorted(found)


def test_every_alignment_both_ends_and_odd_lengths() -> None:
    rng = random.Random(7)
    patterns = [rng.randbytes(length) for length in (16, 17, 23, 32, 128, 256)]
    for length in range(len(patterns[-1]) + 40, len(patterns[-1]) + 56):  # the last block short or whole
        for pattern in patterns:
            for at in (0, 1, 7, 8, 9, 15, length - len(pattern) - 1, length - len(pattern)):
                data = bytearray(rng.randbytes(length))
                data[at:at + len(pattern)] = pattern
                assert sorted(find_all(bytes(data), patterns)) == by_find(bytes(data), patterns) != []


def test_overlapping_and_repeated_occurrences() -> None:
    unit = bytes(range(1, 13))  # 12 bytes: a pattern made of it overlaps itself at every 12 bytes
    pattern = unit * 3
    data = os.urandom(5) + unit * 40 + os.urandom(3) + pattern
    found = sorted(find_all(data, [pattern]))
    assert found == by_find(data, [pattern])
    assert len(found) == 38 + 1


def test_short_patterns_fall_back_to_find() -> None:
    short = bytes(range(100, 115))  # 15 bytes: too short to hold an aligned block at every shift
    assert not anchor_table([short])
    data = os.urandom(33) + short + os.urandom(9) + short
    assert sorted(find_all(data, [short])) == [(33, short), (33 + 15 + 9, short)]


def test_flooded_anchors_fall_back_to_find() -> None:
    pattern = bytes(range(1, 33))
    table = anchor_table([pattern])
    block = min(table)  # one of its anchors, repeated past the bound
    data = block.to_bytes(BLOCK, "little") * (MAX_ANCHOR_HITS + 1) + b"\0" * 3 + pattern
    assert sorted(find_all(data, [pattern])) == by_find(data, [pattern]) != []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(min_size=14, max_size=40), min_size=1, max_size=4), st.binary(max_size=200),
       st.lists(st.tuples(st.integers(0, 3), st.integers(0, 300)), max_size=6))
def test_same_as_find(patterns: list[bytes], noise: bytes, plants: list[tuple[int, int]]) -> None:
    data = bytearray(noise)
    for which, at in plants:
        pattern = patterns[which % len(patterns)]
        at = min(at, len(data))
        data[at:at] = pattern
    unique = list(dict.fromkeys(patterns))
    assert sorted(find_all(bytes(data), unique)) == by_find(bytes(data), unique)
