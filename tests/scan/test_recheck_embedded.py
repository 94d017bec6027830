"""The independent reader reads a compressed stream that starts inside other data as far as it
decodes (issue #32, session 13): a zstd frame followed by other bytes was read across into them,
failed, and was dropped whole (the scanner's embedded pass found it, the reader did not: sanitize
certified a core with a zstd'd PEM when the scanner missed it); a truncated gzip, xz, zstd or LZ4
stream was dropped although its head, which a reader decodes, held the key."""

from __future__ import annotations

import gzip
import lzma
import random
import string
from collections.abc import Callable

import lz4.frame
import pytest
import zstandard
from cryptography.hazmat.primitives import serialization

from signward.scan.recheck import recheck_bytes
from tests.scan.material import RSA

PEM = RSA.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
CODECS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress, "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
    "xz": lambda data: lzma.compress(data, lzma.FORMAT_XZ), "lz4": lz4.frame.compress}
_RNG = random.Random(32)
# compresses little: more than one zstd block, so a cut stream still holds a whole first one
_TEXT = "".join(_RNG.choice(string.ascii_letters) for _ in range(200_000)).encode()


def _core(stream: bytes) -> bytes:
    """The stream at an odd offset between random bytes (no PEM, no DER in the raw bytes)."""
    return random.Random(1).randbytes(30_001) + stream + random.Random(2).randbytes(20_000)


@pytest.mark.parametrize("codec", sorted(CODECS))
def test_a_whole_stream_inside_a_core_is_read(codec: str) -> None:
    report = recheck_bytes(_core(CODECS[codec](PEM + _TEXT)))
    assert "pem" in {finding.kind for finding in report.findings}, (codec, report)


@pytest.mark.parametrize("codec", sorted(CODECS))
def test_a_truncated_stream_inside_a_core_is_read_to_where_it_breaks(codec: str) -> None:
    """Cut 10,000 bytes before its end, after the key: the head decodes, the key is in it."""
    stream = CODECS[codec](PEM + _TEXT)
    report = recheck_bytes(_core(stream[:-10_000]))
    assert "pem" in {finding.kind for finding in report.findings}, (codec, report)
    assert report.incomplete == []  # magics in a core are often noise: a broken one is not a refusal
