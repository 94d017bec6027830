"""The reader's hex dump lines are tried only where one can start (recheck_numbers.hex_lines):
the same matches, at the same offsets, as the line pattern over the whole view, on what dump
tools and hostile writers put around them."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from signward.scan import recheck_numbers


def _every(found: object) -> list[tuple[tuple[int, int], bytes]]:
    assert not isinstance(found, (bytes, str))
    return [(match.span(), match.group(0)) for match in found]  # type: ignore[attr-defined]


def _dump_line(offset: int, raw: bytes, style: int) -> bytes:
    if style == 0:  # hexdump -C
        return b"%08x  %s  |%s|\n" % (offset, b" ".join(b"%02x" % b for b in raw),
                                      bytes(b if 32 <= b < 127 else 46 for b in raw))
    if style == 1:  # xxd
        return b"%08x: %s  ....\n" % (offset, b" ".join(raw[i:i + 2].hex().encode() for i in range(0, len(raw), 2)))
    if style == 2:  # od -x
        return b"%07o %s\n" % (offset, b" ".join(b"%04x" % int.from_bytes(raw[i:i + 2], "little")
                                                 for i in range(0, len(raw) - 1, 2)))
    if style == 3:  # 0x-prefixed, after a `:\n` or `,\n`
        return b"  " + b", ".join(b"0x%02x" % b for b in raw) + b",\n"
    return b"\t" + raw.hex(":").encode() + b"\n"  # openssl's colon hex


_LINES = st.builds(_dump_line, st.integers(0, 1 << 20), st.binary(min_size=1, max_size=16), st.integers(0, 4))
_NOISE = st.one_of(st.binary(max_size=12), st.sampled_from([b"\n", b":\n", b",\n", b"\r\n", b"\x00" * 40, b"\n\t ",
                                                            b"modulus:\n", b"0", b"a\n", b"\n\n"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_LINES, _NOISE), min_size=1, max_size=30))
def test_hex_lines_are_the_line_pattern_over_the_whole_view(parts: list[bytes]) -> None:
    data = b"".join(parts)
    assert _every(recheck_numbers.hex_lines(data)) == _every(recheck_numbers._HEX_LINE.finditer(data))


def test_a_dump_at_the_views_first_byte_is_read() -> None:
    data = b"00000000  30 82 04 a4 02 01 00 02  82 01 01 00 c3 ab 17 99  |0...............|\n"
    assert _every(recheck_numbers.hex_lines(data)) == [((0, len(data)), data)]


def test_past_the_head_bound_the_rest_is_the_line_pattern_itself() -> None:
    """A view written to hold a line head every two bytes: past LINE_HEADS_PER_KIB heads a KiB
    the lines are the pattern's own finditer from there, the same matches."""
    lines = b"".join(_dump_line(16 * i, bytes(range(i, i + 16)), i % 5) for i in range(40))
    data = b"x\n" + lines + b"\na" * 60_000 + b":\n" + lines + b"\n0" * 3 + lines
    assert data.count(b"\na") > len(data) * recheck_numbers.LINE_HEADS_PER_KIB // 1024 + 1024
    found = _every(recheck_numbers.hex_lines(data))
    assert found == _every(recheck_numbers._HEX_LINE.finditer(data))
    assert len(found) >= 120


def test_every_match_starts_after_a_newline_or_at_the_start() -> None:
    """The premise of the head search: the line pattern starts at `^` (MULTILINE) or after
    `:\\n`/`,\\n`, then blanks, then a hex digit."""
    assert recheck_numbers._HEX_LINE.flags & re.MULTILINE
    source = recheck_numbers._HEX_LINE.pattern
    assert source.startswith(rb"^[ \t]*(?:[0-9a-fA-F]") and rb"|(?<=[:,]\n)[ \t]*(?:(?:0[xX])?[0-9a-fA-F]" in source
