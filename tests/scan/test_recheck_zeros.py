"""The independent reader skips runs of zero pages in large views (recheck_zeros.py): it must
find exactly what it finds reading the whole view, at the same offsets, with keys written right
against the zero pages in every form whose characters end or start in zeros."""

from __future__ import annotations

import base64
import os
import random
import re
from collections.abc import Iterable
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from signward.scan import (
    recheck,
    recheck_bytelists,
    recheck_codecs,
    recheck_exponent,
    recheck_keyfiles,
    recheck_numbers,
    recheck_textforms,
    recheck_zeros,
)
from signward.scan.recheck import recheck_bytes
from tests.scan.material import EC, RSA, known

PAGE = recheck_zeros.PAGE
PEM = EC.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
DER = RSA.private_bytes(Encoding.DER, PrivateFormat.TraditionalOpenSSL, NoEncryption())
FORMS = {
    "pem": PEM,
    "utf-16-le": PEM.decode().encode("utf-16-le"),  # the last character's zero byte touches the zero page
    "utf-16-be": PEM.decode().encode("utf-16-be"),  # the first character's zero byte does
    "utf-32-le": PEM.decode().encode("utf-32-le"),
    "base64-der": base64.b64encode(DER),
    "hex-der": DER.hex().encode(),
    "decimal-scalar": str(EC.private_numbers().private_value).encode(),
}


def _image(forms: dict[str, bytes], seed: int) -> bytes:
    """A view past recheck_zeros.LARGE: zero pages and noise pages, each form placed once flush
    against the end of a page followed by zero pages, once flush at the start of a page after them."""
    rng = random.Random(seed)
    out = bytearray()
    for data in forms.values():
        out += bytes(PAGE * rng.randint(1, 3))
        out += bytes(-(len(out) + len(data)) % PAGE) + data  # ends flush with a page
        out += bytes(PAGE * rng.randint(1, 3)) + data  # starts flush after zero pages
        out += bytes(-len(out) % PAGE)
        out += rng.randbytes(PAGE)  # noise a run must not join
    out += bytes(max(0, recheck_zeros.LARGE + PAGE - len(out)))
    return bytes(out)


def _findings(data: bytes) -> list[tuple[str, str, tuple[int, int] | None]]:
    return sorted((f.kind, f.key, f.span) for f in recheck_bytes(data, known(EC, RSA), "image").findings)


@pytest.mark.parametrize("name", sorted(FORMS))
def test_a_key_flush_against_zero_pages_is_found_as_in_the_whole_view(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _image({name: FORMS[name]}, seed=len(name))
    assert len(recheck_zeros.spans(data)) > 1  # the zero runs are really skipped
    skipped = _findings(data)
    monkeypatch.setattr(recheck_zeros, "LARGE", len(data) + 1)  # the same reader over the whole view
    whole = _findings(data)
    assert whole, f"{name}: the reader does not see this form at all"
    assert skipped == whole


def test_the_kept_spans_hold_every_non_zero_byte() -> None:
    rng = random.Random(7)
    data = bytearray(recheck_zeros.LARGE + 3 * PAGE + 17)  # a tail that is not a whole page
    for _ in range(300):
        data[rng.randrange(len(data))] = rng.randrange(1, 256)
    data[-1] = 1
    kept = recheck_zeros.spans(bytes(data))
    covered = bytearray(len(data))
    for start, end in kept:
        covered[start:end] = b"\x01" * (end - start)
    assert all(covered[i] for i, b in enumerate(data) if b), "a non-zero byte outside every kept span"
    assert sum(e - s for s, e in kept) < len(data) // 2  # and most zeros are left out
    assert all(a[1] <= b[0] for a, b in zip(kept, kept[1:], strict=False))  # ordered, no overlap


def test_a_small_view_is_read_whole() -> None:
    data = os.urandom(1000) + bytes(3 * PAGE)
    assert recheck_zeros.spans(data) == [(0, len(data))]


def _hexdump(blob: bytes) -> list[bytes]:
    """`hexdump -C` lines."""
    lines = []
    for offset in range(0, len(blob), 16):
        chunk = blob[offset:offset + 16]
        left = " ".join(f"{b:02x}" for b in chunk[:8]) + "  " + " ".join(f"{b:02x}" for b in chunk[8:])
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset:08x}  {left:<48}  |{text}|".encode())
    return lines


def test_a_hex_dump_with_zero_pages_inside_a_line_reads_as_one_block(monkeypatch: pytest.MonkeyPatch) -> None:
    """A dump line ends at its newline, whatever lies before it: zero pages between a line's
    ASCII column and its newline must not cut the block in two inside the key (red team,
    2026-12-06: with the line pattern run over the kept spans only, the key was certified)."""
    der = EC.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    text = b"\n"
    for index, line in enumerate(_hexdump(der)):
        text += line + (bytes(3 * PAGE) if index == 2 else b"") + b"\n"
    data = bytearray(recheck_zeros.LARGE + PAGE)
    data[10 * PAGE + 100:10 * PAGE + 100 + len(text)] = text
    skipped = _findings(bytes(data))
    assert any("hex-dump" in key or kind == "der" for kind, key, _ in skipped), skipped
    monkeypatch.setattr(recheck_zeros, "LARGE", len(data) + 1)
    assert skipped == _findings(bytes(data))


def test_a_read_does_not_keep_its_large_view_in_memory() -> None:
    data = bytes(recheck_zeros.LARGE + PAGE) + b"x" * 64
    recheck_bytes(data, known(EC), "image")
    assert recheck_zeros._last is None  # the spans cache held the view until the next large read


# ---- the text prefilter: a pattern whose every match is text runs over the view's text runs only

def _reader_patterns() -> list[re.Pattern[bytes]]:
    """Every bytes pattern of the reader's modules that the prefilter takes (the others run on
    the kept spans, as before)."""
    found: dict[int, re.Pattern[bytes]] = {}
    for module in (recheck, recheck_bytelists, recheck_codecs, recheck_exponent, recheck_keyfiles,
                   recheck_numbers, recheck_textforms):
        for value in vars(module).values():
            if isinstance(value, re.Pattern) and isinstance(value.pattern, bytes) and \
                    recheck_zeros.text_only(value) is not None:
                found[id(value)] = value
    return list(found.values())


PATTERNS = _reader_patterns()


def test_the_reader_patterns_the_prefilter_takes() -> None:
    """The costly text patterns of a core's reading (hex, decimal, byte lists, base64, tokens,
    UTF-16/32) are among them."""
    sources = {pattern.pattern for pattern in PATTERNS}
    for pattern in (recheck._BASE64_RUN, recheck._HEX_RUN, recheck._VAULT_TOKEN, recheck._UTF16LE,
                    recheck_numbers._DECIMAL, recheck_bytelists._TEXT):
        assert pattern.pattern in sources
_PIECES = st.one_of(
    st.binary(min_size=1, max_size=48).map(lambda raw: raw.hex().encode()),
    st.tuples(st.binary(min_size=16, max_size=40), st.sampled_from([b":", b"\\x", b" ", b", 0x"])).map(
        lambda pair: pair[1].join(b"%02x" % b for b in pair[0])),
    st.lists(st.integers(0, 255), min_size=14, max_size=40).map(lambda v: b", ".join(b"%d" % i for i in v)),
    st.integers(10**59, 10**80).map(lambda v: str(v).encode()),
    st.binary(min_size=3, max_size=60).map(base64.b64encode),
    st.text(alphabet="abcXYZ019 -_=:", min_size=8, max_size=40).map(lambda t: t.encode("utf-16-le")),
    st.text(alphabet="abcXYZ019 -_=:", min_size=40, max_size=50).map(lambda t: t.encode("utf-32-le")),
    st.sampled_from([b"hvs." + b"A" * 24, b"PuTTY-User-Key-File-3: ssh-ed25519\r\n", b"-----BEGIN PRIVATE KEY-----\n",
                     b"begin 644 key.bin\n", b"%41%42%43", b"=\r\n", b"[1] ", b"\t\n\x0b\x0c\r"]),
)
_GAPS = st.one_of(
    st.binary(min_size=0, max_size=3),  # any bytes: a form flush against a non-text byte, or joined
    st.sampled_from([b"\xff", b"\x00", b"\x00" * 2, b"\x80" * 40, b"\x00" * 700, b"\xfe" * 600]),
    st.integers(1, 2).map(lambda pages: bytes(pages * PAGE)),
)


def _matches(pattern: re.Pattern[bytes], found: Iterable[re.Match[bytes]]) -> list[tuple[Any, ...]]:
    return [(match.span(), match.groups()) for match in found]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_GAPS, _PIECES), min_size=1, max_size=24), st.binary(max_size=5), st.integers(0, 3))
def test_the_text_prefilter_finds_what_each_pattern_finds_in_the_whole_view(
        parts: list[tuple[bytes, bytes]], tail: bytes, pos: int) -> None:
    """Every reader pattern, on printed forms at every offset between any separators (non-text
    bytes, zero pages, other forms touching): the same matches, groups and offsets through the
    prefilter (text or wide runs, or the kept spans) as over the whole view."""
    data = b"".join(gap + piece for gap, piece in parts) + tail
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(recheck_zeros, "LARGE", 2 * PAGE)
        data += bytes(max(0, 2 * PAGE - len(data)))
        try:
            for pattern in PATTERNS:
                assert _matches(pattern, recheck_zeros.finditer(pattern, data, pos)) == \
                    _matches(pattern, pattern.finditer(data, pos)), pattern.pattern
        finally:
            recheck_zeros.forget()


def test_a_run_exactly_as_long_as_the_shortest_match_is_searched() -> None:
    pattern = re.compile(rb"[!-~]{20,}")
    data = bytearray(b"\xff" * (recheck_zeros.LARGE + PAGE))
    data[5000:5020] = b"k" * 20  # exactly 20 text bytes, non-text around
    data[9000:9019] = b"k" * 19  # one short: no match
    try:
        assert recheck_zeros.text_only(pattern) == (20, recheck_zeros.TEXT)
        assert [match.span() for match in recheck_zeros.finditer(pattern, bytes(data))] == [(5000, 5020)]
    finally:
        recheck_zeros.forget()


def test_a_lookahead_past_the_span_tail_leaves_the_pattern_on_the_kept_spans() -> None:
    """A lookahead reading further than TAIL past a run would see the cut, not the view: such a
    pattern is not filtered, and finds what it finds in the whole view."""
    pattern = re.compile(rb"[a-z]{8,}(?=[\x80-\xff]{20}!)")
    data = bytearray(b"\x01" * (recheck_zeros.LARGE + PAGE))
    data[7000:7029] = b"abcdefgh" + b"\x80" * 20 + b"!"
    try:
        assert recheck_zeros.text_only(pattern) is None
        assert [match.span() for match in recheck_zeros.finditer(pattern, bytes(data))] == [(7000, 7008)]
    finally:
        recheck_zeros.forget()


@pytest.mark.parametrize(("source", "flags", "expected"), [
    (rb"[0-9a-f]{64,}", 0, (64, "text")),
    (rb"(?<![0-9])[0-9]{60,}(?![0-9])", 0, (60, "text")),  # lookbehind any width, lookahead bounded
    (rb"^key: (\w+)\r?\n", re.M, (7, "text")),
    (rb"(?:[a-z]\x00){16,}", 0, (32, "wide")),
    (rb"(?:[a-z]\x00){4,}", 0, None),  # wide, but shorter than MIN_WIDE
    (rb"[^\n]{10,}", 0, None),  # a negated set holds every non-text byte
    (rb"x.{10}", re.S, None),
    (rb"[a-z]{10}$", 0, None),  # `$` matches at a cut
    (rb"[a-z]{10}(?=[a-z]*!)", 0, None),  # an unbounded lookahead
    (rb"[a-z]{10}\xe9", 0, None),
    (rb"ab", 0, None),  # shorter than MIN_TEXT
    (rb"\W{10}", 0, None),
])
def test_which_patterns_the_text_prefilter_takes(source: bytes, flags: int, expected: tuple[int, str] | None) -> None:
    form = recheck_zeros.text_only(re.compile(source, flags))
    alphabets = {recheck_zeros.TEXT: "text", recheck_zeros.WIDE: "wide"}
    assert (None if form is None else (form[0], alphabets[form[1]])) == expected


def test_a_view_of_more_text_runs_than_pages_is_read_on_its_kept_spans() -> None:
    """A view built to make the run list huge (short text runs just over GAP apart) is not
    listed past one entry a page: its patterns run on the kept spans, finding the same."""
    piece = b"a1b2" + b"\xff" * (recheck_zeros.GAP + 1)
    data = piece * (recheck_zeros.LARGE // len(piece) + 1) + b"k" * 30
    pattern = re.compile(rb"[!-~]{20,}")
    try:
        assert recheck_zeros.text_spans(data, 20) is None
        assert [match.span() for match in recheck_zeros.finditer(pattern, data)] == [(len(data) - 30, len(data))]
    finally:
        recheck_zeros.forget()


PRINTED = {
    "hex-der": DER.hex().encode(),
    "colon-hex-der": b":".join(b"%02x" % b for b in DER),
    "byte-list-der": b", ".join(b"%d" % b for b in DER),
    "decimal-scalar": str(EC.private_numbers().private_value).encode(),
    "base64-der": base64.b64encode(DER),
    "utf-16-le": PEM.decode().encode("utf-16-le"),
}


@pytest.mark.parametrize("name", sorted(PRINTED))
def test_a_printed_key_between_binary_bytes_is_found_as_without_the_prefilter(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader end to end on an image past LARGE: a key printed flush against non-text bytes
    (high bytes, a lone zero) gives the same findings through the text prefilter as without it."""
    rng = random.Random(len(name))
    noise = bytes(rng.randrange(0x80, 0x100) for _ in range(3 * PAGE))
    data = noise + PRINTED[name] + b"\xff" + noise + b"\x00" + PRINTED[name] + b"\x00" + noise
    data += bytes(recheck_zeros.LARGE)
    filtered = _findings(data)
    assert filtered, f"{name}: the reader does not see this form at all"
    monkeypatch.setattr(recheck_zeros, "text_only", lambda pattern: None)
    assert filtered == _findings(data)


def test_a_read_does_not_keep_its_text_runs_in_memory() -> None:
    data = bytes(recheck_zeros.LARGE + PAGE) + b"x" * 64
    recheck_bytes(data, known(EC), "image")
    assert recheck_zeros._last_text is None
