"""The independent reader skips runs of zero pages in large views (recheck_zeros.py): it must
find exactly what it finds reading the whole view, at the same offsets, with keys written right
against the zero pages in every form whose characters end or start in zeros."""

from __future__ import annotations

import base64
import os
import random

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from signward.scan import recheck_zeros
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
