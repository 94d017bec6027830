"""64-byte Ed25519 secret keys (seed then its own public key: Go, libsodium, Solana) found with no
known key, in the scanner (`scan/ed25519_pairs.py`) and the reader (`scan/recheck_edpairs.py`)."""

from __future__ import annotations

import base64
import json
import random
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from signward.dumps import KnownKeys, sanitize, scan_path
from signward.home import Home
from signward.scan import ed25519_pairs
from signward.scan.chunks import Chunk
from signward.scan.formats import Layout, Region, read_layout
from signward.scan.recheck import Budget, recheck_bytes, recheck_path
from signward.scan.recheck_edpairs import ed25519_pairs as reader_pairs
from tests.scan.crashes import CrashedProcess

SEED = bytes((i * 37 + 11) % 256 for i in range(32))  # fixed: the rule depends on these bytes
PAIR = SEED + ed25519.Ed25519PrivateKey.from_private_bytes(SEED).public_key().public_bytes_raw()
BROKEN = PAIR[:63] + bytes([PAIR[63] ^ 1])  # the same bytes, the public key one bit off
NOISE = bytes((i * 91 + 7) % 251 for i in range(48))  # random-looking bytes around the raw pair
FORMS = {
    "raw": lambda pair: pair,
    "hex": lambda pair: pair.hex().encode(),
    "base64": lambda pair: base64.b64encode(pair),
    "base64url": lambda pair: base64.urlsafe_b64encode(pair).rstrip(b"="),
    "json": lambda pair: json.dumps(list(pair), separators=(",", ":")).encode(),
    "json-spaced": lambda pair: json.dumps(list(pair)).encode(),
}


def _text(form: str, pair: bytes) -> tuple[bytes, int]:
    """A small file holding `pair` in `form` (the raw one between random-looking bytes), and where."""
    head = b"crash report for pid 4242\n" + (NOISE if form == "raw" else b"keypair: ")
    tail = (NOISE if form == "raw" else b" ok") + b"\nend of region\n"
    return head + FORMS[form](pair) + tail, len(head)


@pytest.mark.parametrize("form", sorted(FORMS))
def test_a_self_verifying_pair_is_found_by_both_readers_without_keys(tmp_path: Path, form: str) -> None:
    """The rule: the first 32 bytes' Ed25519 public key is the last 32 (no known key is given, so no
    other rule can find a seed; the same bytes with the public key one bit off are nothing)."""
    data, at = _text(form, PAIR)
    path = tmp_path / "dump"
    path.write_bytes(data)
    report = scan_path(path, known=KnownKeys([]))
    assert report.incomplete == []
    assert [(f.detector, f.kind, f.offset, f.length) for f in report.findings] == [
        ("ed25519-pair", "ed25519-keypair", at, len(FORMS[form](PAIR)))]
    assert {f.kind for f in recheck_bytes(data).findings} == {"ed25519-keypair"}
    broken, _ = _text(form, BROKEN)
    path.write_bytes(broken)
    assert scan_path(path, known=KnownKeys([])).findings == []
    assert recheck_bytes(broken).clean


def test_a_pair_in_a_large_image_is_sanitized_away(tmp_path: Path) -> None:
    rng = random.Random(5)
    data = bytearray(6 << 20)
    for at in range(0, len(data), 4096):  # heap texture: pointers and text
        data[at:at + 8] = (0x00007F0000000000 + rng.getrandbits(32) * 16).to_bytes(8, "little")
        data[at + 8:at + 52] = b"ordinary heap text, nothing secret in here.\0"
    data[2_000_003:2_000_067] = PAIR  # unaligned, in raw memory
    hexed = b"\0sk=" + PAIR.hex().encode() + b"\0"
    data[4_500_001:4_500_001 + len(hexed)] = hexed
    path = tmp_path / "core"
    path.write_bytes(bytes(data))
    report = scan_path(path, known=KnownKeys([]))
    assert report.incomplete == []
    assert sorted((f.offset, f.length, f.kind) for f in report.findings) == [
        (2_000_003, 64, "ed25519-keypair"), (4_500_005, 128, "ed25519-keypair")]
    result = sanitize(path, tmp_path / "out", Home(tmp_path / "home"), KnownKeys([]))
    assert result.status == "clean"
    out = (tmp_path / "out").read_bytes()
    assert SEED not in out and PAIR.hex().encode() not in out
    assert recheck_path(tmp_path / "out", KnownKeys([])).clean


def _chunk(data: bytes) -> Chunk:
    return Chunk(data, 0, len(data), Layout(format="raw", size=len(data), regions=[Region(0, len(data), None)]),
                 KnownKeys([]))


def test_random_bytes_are_certified_at_a_bounded_cost(tmp_path: Path) -> None:
    """3 MiB of random bytes: every window looks random, so the dense-block rule drops them all
    (no derivation at every offset); both readers certify it, each search well under a second."""
    data = random.Random(3).randbytes(3 << 20)
    path = tmp_path / "random"
    path.write_bytes(data)
    cut: set[str] = set()
    began = time.process_time()
    assert ed25519_pairs.scan_ed25519_pairs(_chunk(data), cut) == [] and cut == set()
    assert time.process_time() - began < 1.0
    assert ed25519_pairs.raw_offsets(_chunk(data)) == []
    report = scan_path(path, known=KnownKeys([]))
    assert report.findings == [] and report.incomplete == []
    assert recheck_path(path, KnownKeys([])).clean
    view = data[: 1 << 20]  # the reader searches raw views up to 1 MiB itself
    began = time.process_time()
    assert recheck_bytes(view).clean
    assert time.process_time() - began < 5.0


def test_a_core_costs_little_and_holds_no_pair(clean_process: CrashedProcess) -> None:
    """A real core (a crashed process): its few random-looking windows are checked, none is a pair."""
    data = clean_process.core.read_bytes()
    chunk = Chunk(data, 0, len(data), read_layout(clean_process.core), KnownKeys([]))
    cut: set[str] = set()
    began = time.process_time()
    assert ed25519_pairs.scan_ed25519_pairs(chunk, cut) == [] and cut == set()
    assert time.process_time() - began < 1.0


def test_more_candidates_than_the_bound_is_incomplete(monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"\n".join(FORMS["hex"](bytes([n]) + PAIR[1:]) for n in range(6))
    monkeypatch.setattr(ed25519_pairs, "MAX_CHECKS", 5)
    cut: set[str] = set()
    assert ed25519_pairs.scan_ed25519_pairs(_chunk(data), cut) == []
    assert any("64-byte key pair candidates" in why for why in cut)


def test_the_reader_past_its_derivations_is_incomplete(monkeypatch: pytest.MonkeyPatch) -> None:
    from signward.scan import recheck_edpairs
    from signward.scan.recheck import _Reader

    monkeypatch.setattr(recheck_edpairs, "MAX_CHECKS", 3)
    reader = _Reader(KnownKeys([]), Budget())
    reader_pairs(reader, b"\n".join(FORMS["base64"](bytes([n]) + PAIR[1:]) for n in range(6)), "view")
    assert reader.report.findings == []
    assert any("derivations (64-byte Ed25519 pairs)" in why for why in reader.report.incomplete)
