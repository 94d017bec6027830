"""Long zero runs left out of the chunks: the same findings as a scan of every byte, on
images where keys sit right against the runs, straddle chunk boundaries next to them, or lie
between runs; and the span arithmetic on its own."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from signward.scan import scanner
from signward.scan.chunks import CHUNK, OVERLAP
from signward.scan.regions import PAGE, SKIP, compact, content_spans
from signward.scan.scanner import scan_path
from tests.scan.material import EC, ED, NUMBERS, RSA, known
from tests.scan.planting import be, java, le

DETECTORS = "known-key,unknown-rsa,aes,der,text"


def every_byte(data: bytes, own_end: int) -> tuple[bytes, list[tuple[int, int]], int]:
    return data, [(0, 0)], own_end


def findings(path: Path, monkeypatch: pytest.MonkeyPatch | None = None) -> list[tuple[object, ...]]:
    if monkeypatch is not None:
        monkeypatch.setattr(scanner, "compact", every_byte)
    report = scan_path(path, DETECTORS, known(RSA, EC, ED))
    return [(f.offset, f.length, f.detector, f.kind, f.encoding, f.kid, f.vaddr, f.detail) for f in report.findings]


def sparse_image(path: Path, seed: int) -> Path:
    """Heap-like islands between long zero runs; key material at the islands' edges."""
    rng = random.Random(seed)
    size = CHUNK + (6 << 20)
    data = bytearray(size)
    position = rng.randrange(0, 1 << 20)
    islands = []
    while position < size - (1 << 20):
        length = rng.choice([PAGE, 3 * PAGE, 40_000, 300_000])
        data[position:position + length] = rng.randbytes(length // 2) + bytes(length - length // 2)
        islands.append((position, length))
        position += length + rng.choice([SKIP, SKIP + PAGE, 2 * SKIP, 700_000, 5 << 20])
    plants = [le(NUMBERS.p, 128), be(NUMBERS.d, 256), java(NUMBERS.iqmp, 128), le(NUMBERS.q, 128),
              be(EC.private_numbers().private_value, 32), ED.private_bytes_raw()]
    # one plant per island in turn, as far as the shorter list goes (the number of islands is random)
    for (start, length), blob in zip(islands, plants * 8, strict=False):
        where = rng.choice([start - len(blob) + 8, start, start + length - len(blob), start + length - 8,
                            CHUNK - len(blob) // 2])
        where = max(0, min(size - len(blob), where - where % 8 if rng.random() < 0.7 else where))
        data[where:where + len(blob)] = blob
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("seed", range(4))
def test_the_same_findings_as_a_scan_of_every_byte(tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    path = sparse_image(tmp_path / "sparse.img", seed)
    fast = findings(path)
    assert fast and any(f[3] == "rsa-prime" for f in fast)
    assert fast == findings(path, monkeypatch)


def test_one_island_far_from_the_start_keeps_its_offsets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A chunk left with a single piece that does not begin where the chunk does."""
    data = bytearray(4 << 20)
    data[3 << 20:(3 << 20) + 128] = le(NUMBERS.p, 128)
    path = tmp_path / "island.img"
    path.write_bytes(bytes(data))
    fast = findings(path)
    assert [f[:5] for f in fast] == [(3 << 20, 128, "known-key", "rsa-prime", "le")]
    assert fast == findings(path, monkeypatch)


def test_real_core_the_same_findings(key_holder, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    fast = findings(key_holder.core)
    assert len(fast) >= 3
    assert fast == findings(key_holder.core, monkeypatch)


def test_spans_keep_margins_and_skip_only_long_runs() -> None:
    data = bytearray(4 * SKIP)
    far = SKIP + 2 * PAGE  # the pages between 0 and this one: one more than SKIP allows
    for offset in (10, far, 3 * SKIP):
        data[offset] = 1
    assert content_spans(bytes(data)) == [(0, PAGE + OVERLAP), (far - OVERLAP, far + PAGE + OVERLAP),
                                          (3 * SKIP - OVERLAP, 3 * SKIP + PAGE + OVERLAP)]
    near = bytearray(2 * SKIP)
    near[0] = near[SKIP] = 1  # SKIP // PAGE - 1 zero pages between: kept in one span
    assert content_spans(bytes(near)) == [(0, SKIP + PAGE + OVERLAP)]
    assert content_spans(bytes(SKIP)) == [] and compact(bytes(SKIP), SKIP) is None
    whole = bytes(range(256)) * (SKIP // 256)
    assert compact(whole, 100) == (whole, [(0, 0)], 100)


def test_ownership_ends_where_the_uncompacted_chunk_did() -> None:
    data = bytearray(6 * SKIP)
    for offset in (0, 2 * SKIP, 5 * SKIP):
        data[offset] = 7
    own_end = 4 * SKIP  # inside a skipped run: ownership ends where the next piece begins
    joined, pieces, owned = compact(bytes(data), own_end)  # type: ignore[misc]
    assert [p for _, p in pieces] == [a for a, _ in content_spans(bytes(data))]
    assert owned == pieces[-1][0]
    assert joined[pieces[1][0] + 2 * SKIP - pieces[1][1]] == 7
