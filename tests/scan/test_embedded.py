"""The scanner decodes compressed streams at any offset and UTF-16 runs in binary data (issue #32,
session 13): a key gzipped, zstd'd, xz'd, bzip2'd or LZ4'd into a core, or base64 written as
UTF-16 in a heap, is found by `dumps scan` at the raw span that encodes it. In each case the raw
bytes hold no armour, no DER and no base64 `text` or the decoded-run pass reads (the compressed
bytes are noise to them; `text` reads UTF-16LE only around a PEM's armour or `MII`), so only the
embedded pass can find it. Each was clean (exit 0) on main."""

from __future__ import annotations

import base64
import bz2
import gzip
import json
import lzma
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import lz4.frame
import pytest
import zstandard
from cryptography.hazmat.primitives import serialization

from signward.scan.chunks import Chunk
from signward.scan.detectors import select
from signward.scan.embedded import FINE, scan_embedded, stream_starts, utf16_runs
from signward.scan.formats import Layout, Region
from signward.scan.inflated import zlib_starts
from signward.scan.knownkeys import KnownKeys
from signward.scan.scanner import scan_path
from tests.scan.jvm import heap_dump
from tests.scan.material import EC, RSA, known

CHAR_HOLDER = Path(__file__).resolve().parents[1] / "programs" / "CharHolder.java"
PEM = RSA.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
EC_PEM = EC.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption())
CODECS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress, "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
    "xz": lambda data: lzma.compress(data, lzma.FORMAT_XZ), "bzip2": bz2.compress, "lz4": lz4.frame.compress}


def _noise(size: int, seed: int) -> bytes:
    """Binary bytes with no stream magic in them (a core's noise around the planted stream)."""
    data = bytearray(random.Random(seed).randbytes(size))
    while (hits := [position for position, _ in stream_starts(bytes(data), 0, len(data))]
           + zlib_starts(bytes(data), 0, size)[0]):  # zlib heads too (`inflated.py`)
        for position in hits:
            data[position] ^= 0xFF
    return bytes(data)


def _found(path: Path) -> set[tuple[int, int, str, str]]:
    report = scan_path(path, known=known(RSA, EC))
    assert report.incomplete == []
    return {(f.offset, f.end, f.kind, f.encoding) for f in report.findings}


@pytest.mark.parametrize("codec", sorted(CODECS))
def test_a_key_in_a_stream_at_an_odd_offset_of_a_binary_dump(tmp_path: Path, codec: str) -> None:
    stream = CODECS[codec](PEM)
    data = _noise(40_001, 1) + stream + _noise(20_000, 2)
    path = tmp_path / "core"
    path.write_bytes(data)
    start = 40_001
    assert (start, start + len(stream), "pem-private-key", f"{codec}+ascii") in _found(path)


def test_two_streams_back_to_back_each_at_its_own_span(tmp_path: Path) -> None:
    first, second = gzip.compress(PEM), zstandard.ZstdCompressor().compress(EC_PEM)
    data = _noise(3_333, 3) + first + second + _noise(3_000, 4)
    path = tmp_path / "core"
    path.write_bytes(data)
    found = {(start, end, encoding) for start, end, kind, encoding in _found(path) if kind == "pem-private-key"}
    assert found == {(3_333, 3_333 + len(first), "gzip+ascii"),
                     (3_333 + len(first), 3_333 + len(first) + len(second), "zstd+ascii")}


def test_a_truncated_stream_followed_by_noise_is_found_by_its_decoded_prefix(tmp_path: Path) -> None:
    # the key first, then incompressible text: the stream cut after the key's part, then noise; all
    # in the first piece fed to the decoder, which breaks on it (what decoded before is kept)
    filler = base64.b16encode(random.Random(7).randbytes(6_000))
    stream = gzip.compress(PEM + filler)
    cut = len(stream) // 2
    data = _noise(5_001, 5) + stream[:cut] + _noise(30_000, 6)
    path = tmp_path / "core"
    path.write_bytes(data)
    spans = [(start, end) for start, end, kind, encoding in _found(path)
             if (kind, encoding) == ("pem-private-key", "gzip+ascii")]
    assert len(spans) == 1
    start, end = spans[0]
    # where the decoder stopped: noise decodes for a while before it breaks (seeded: a few hundred bytes)
    assert start == 5_001 and 5_001 + cut - FINE <= end <= 5_001 + cut + 4_096


def test_a_stream_past_the_chunk_is_read_from_the_file_to_its_end() -> None:
    # a chunk's data ends inside the stream: the rest is read from the file, the span is the whole stream
    stream = gzip.compress(base64.b16encode(random.Random(8).randbytes(200_000)) + PEM)
    data = _noise(1_001, 9) + stream
    layout = Layout(format="raw", size=len(data), regions=[Region(0, len(data), None)])
    chunk = Chunk(data[:2_000], 0, 2_000, layout, known(RSA))
    cut: set[str] = set()
    found = scan_embedded(chunk, select(None), cut, more=lambda offset, size: data[offset:offset + size])
    assert {(f.offset, f.length, f.encoding) for f in found if f.kind == "pem-private-key"} == {
        (1_001, len(stream), "gzip+ascii")}
    assert scan_embedded(chunk, select(None), cut) == [] and not cut  # only its head, without the file


def test_magics_in_noise_that_do_not_decode_are_not_a_refusal(tmp_path: Path) -> None:
    data = bytearray(_noise(100_000, 10))
    for index, magic in enumerate((b"\x1f\x8b\x08", b"\x28\xb5\x2f\xfd", b"\xfd7zXZ\x00", b"BZh91AY&SY",
                                   b"\x04\x22\x4d\x18") * 20):
        data[997 * index + 13:997 * index + 13 + len(magic)] = magic
    path = tmp_path / "core"
    path.write_bytes(bytes(data))
    report = scan_path(path)
    assert report.findings == [] and report.incomplete == []


def test_a_stream_decoding_past_the_budget_is_incomplete_never_clean() -> None:
    stream = gzip.compress(bytes(20 << 20))  # 20 MiB of zeros: past a small chunk's 2 MiB and 16 x its size
    data = _noise(1_000, 11) + stream + _noise(1_000, 12)
    layout = Layout(format="raw", size=len(data), regions=[Region(0, len(data), None)])
    chunk = Chunk(data, 0, len(data), layout, KnownKeys())
    cut: set[str] = set()
    scan_embedded(chunk, select(None), cut)
    assert cut == {f"embedded: a gzip stream decodes to more than {16 * len(data) + (2 << 20)} bytes"}


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_base64_of_a_pem_written_as_utf16_in_a_binary_dump(tmp_path: Path, codec: str) -> None:
    # no armour and no `MII` in the run: neither `text`'s UTF-16LE anchors nor the base64 runs read it
    run = base64.b64encode(PEM).decode().encode(codec)
    data = _noise(9_999, 13) + b"\x00\x00" + run + b"\x00\x00" + _noise(10_000, 14)  # a string and its padding
    path = tmp_path / "heap"
    path.write_bytes(data)
    name = codec[:6] + codec[7:]  # utf-16le, utf-16be
    found = {(start, end, encoding) for start, end, kind, encoding in _found(path) if kind == "pem-private-key"}
    assert (10_001, 10_001 + len(run), f"{name}+base64+ascii") in found


def test_a_utf16be_run_split_by_a_non_character_is_read_as_one(tmp_path: Path) -> None:
    text = base64.b64encode(PEM).decode()
    middle = len(text) // 2
    run = text[:middle].encode("utf-16-be") + "\uffff".encode("utf-16-be") + text[middle:].encode("utf-16-be")
    data = _noise(7_777, 15) + b"\x00\x00" + run + b"\x00\x00" + _noise(7_000, 16)
    path = tmp_path / "heap"
    path.write_bytes(data)
    found = {(start, end, encoding) for start, end, kind, encoding in _found(path) if kind == "pem-private-key"}
    assert (7_779, 7_779 + len(run), "utf-16be+base64+ascii") in found


def test_utf16_runs_are_found_in_sampled_regions_as_in_small_data() -> None:
    # 1 MB of noise (sampled) with runs at every offset modulo 16, both byte orders
    noise = bytearray(_noise(1 << 20, 17))
    rng = random.Random(18)
    planted = []
    for index in range(120):
        text = base64.b64encode(rng.randbytes(rng.randrange(24, 200))).decode().encode(
            "utf-16-le" if index % 2 else "utf-16-be")
        at = 8192 * index + 1000 + index % 16
        noise[at - 3:at + len(text) + 3] = b"\x01\x00\x00" + text + b"\x00\x00\x01"  # NUL-ended, then noise
        planted.append((at, at + len(text)))
    data = bytes(noise)
    assert sorted((start, end) for start, end, _, _ in utf16_runs(data)) == planted


def test_a_utf16le_pem_text_finds_is_reported_once(tmp_path: Path) -> None:
    run = PEM.decode().encode("utf-16-le")
    data = _noise(4_001, 19) + run + _noise(4_000, 20)
    path = tmp_path / "heap"
    path.write_bytes(data)
    found = [(start, encoding) for start, _, kind, encoding in _found(path) if kind == "pem-private-key"]
    assert found == [(4_001, "utf-16le")]


def test_dumps_scan_exits_1_on_a_zstd_frame_in_a_core(tmp_path: Path) -> None:
    # on main both the scanner and the reader passed this one: exit 0
    stream = zstandard.ZstdCompressor().compress(EC_PEM)
    path = tmp_path / "core"
    path.write_bytes(_noise(9_999, 21) + stream + _noise(9_999, 22))
    done = subprocess.run([sys.executable, "-m", "signward", "dumps", "scan", str(path), "--json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    findings = json.loads(done.stdout)["files"][0]["findings"]
    assert [(f["offset"], f["length"], f["kind"]) for f in findings if f["encoding"] == "zstd+ascii"] == [
        (9_999, len(stream), "pem-private-key")]


def test_the_word_lookup_finds_every_magic_bytes_find_finds() -> None:
    # magics at every offset modulo 8, touching each other and the searched span's ends
    data = bytearray(_noise(1 << 16, 23))
    rng = random.Random(24)
    magics = [b"\x1f\x8b\x08", b"\x28\xb5\x2f\xfd", b"\xfd7zXZ\x00", b"BZh91AY&SY", b"\x04\x22\x4d\x18"]
    at = 0
    for index in range(400):
        magic = magics[index % 5]
        data[at:at + len(magic)] = magic
        at += len(magic) + rng.choice((0, 1, 2, 3, 5, 8, 100))
    data[-3:] = magics[0]
    heads = {position: codec for position, codec in stream_starts(bytes(data), 0, len(data))}
    expected = {}
    for magic, codec in zip(magics, ("gzip", "zstd", "xz", "bzip2", "lz4"), strict=True):
        position = data.find(magic)
        while position >= 0:
            expected[position] = codec
            position = data.find(magic, position + 1)
    assert heads == expected and len(expected) >= 401
    assert [p for p, _ in stream_starts(bytes(data), 1001, 5001)] == sorted(p for p in expected if 1001 <= p < 5001)


def test_a_utf16_run_across_the_end_of_a_chunks_own_part_is_read_whole() -> None:
    # the run starts in the chunk's own part and ends in its overlap: read to its end, by this chunk
    run = base64.b64encode(PEM).decode().encode("utf-16-be")
    data = _noise(70_001, 25) + b"\x00\x00" + run + b"\x00\x00" + _noise(5_000, 26)
    own_end = 70_003 + len(run) // 2
    layout = Layout(format="raw", size=len(data), regions=[Region(0, len(data), None)])
    chunk = Chunk(data, 0, own_end, layout, known(RSA))
    found = scan_embedded(chunk, select(None), set())
    assert ("pem-private-key", 70_003, len(run), "utf-16be+base64+ascii") in {
        (f.kind, f.offset, f.length, f.encoding) for f in found}


@pytest.fixture(scope="module")
def char_heap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A real JVM's heap dump (`jcmd GC.heap_dump`) holding a PEM's base64 as a char[] only."""
    yield heap_dump(CHAR_HOLDER, tmp_path_factory.mktemp("jvm-chars"))


def test_a_real_jvm_heap_dump_holding_a_key_as_a_char_array(char_heap: Path) -> None:
    # HPROF writes a char[] big-endian: base64 of a PEM as UTF-16BE, which only this pass reads
    report = scan_path(char_heap)
    assert report.format == "hprof" and report.incomplete == []
    data = char_heap.read_bytes()
    start = data.index("LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t".encode("utf-16-be"))
    length = int.from_bytes(data[start - 5:start - 1], "big")  # the array's element count, before its type
    assert ("pem-private-key", start, 2 * length, "utf-16be+base64+ascii") in {
        (f.kind, f.offset, f.length, f.encoding) for f in report.findings}
