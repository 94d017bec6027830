"""The scanner's two former gaps in cores (issue #32, docs/dumps.md): a PEM fragment whose decoded
view holds an RSA prime inside a block dense with decoded bytes, and a JWK `d` or a seed kept as a
lone short base64 string. Fixed keys and fillers: each test is the same on every run."""

from __future__ import annotations

import base64
import math
import random
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from signward.dumps import KnownKeys, sanitize, scan_path
from signward.home import Home
from signward.scan.chunks import Chunk
from signward.scan.decoded_runs import runs, scan_batch
from signward.scan.detectors.known_key import KnownKeyDetector
from signward.scan.formats import Layout, Region
from signward.scan.knownkeys import known_key
from signward.scan.lone_values import candidates, characters
from signward.scan.recheck import recheck_path

E = 65537
SMALL = [p for p in range(3, 200) if all(p % d for d in range(2, int(p ** 0.5) + 1))]


def _prime(rng: random.Random, bits: int) -> int:
    while True:
        candidate = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if all(candidate % s for s in SMALL) and all(pow(a, candidate - 1, candidate) == 1 for a in (2, 3, 5, 7)):
            return candidate


def _rsa(seed: int) -> rsa.RSAPrivateKey:
    rng = random.Random(seed)
    while True:
        p, q = _prime(rng, 1024), _prime(rng, 1024)
        if math.gcd(E, (p - 1) * (q - 1)) == 1:
            break
    d = pow(E, -1, (p - 1) * (q - 1) // math.gcd(p - 1, q - 1))
    return rsa.RSAPrivateNumbers(p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q),
                                 rsa.RSAPublicNumbers(E, p * q)).private_key()


RSA_KEY = _rsa(32)
EC_KEY = ec.derive_private_key(int("5f1c0b6a3e2d7c49a8b1e0f3d2c6b5a49788a1b2c3d4e5f60718293a4b5c6d7e", 16),
                               ec.SECP256R1())
ED_KEY = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
SIZE = (4 << 20) + (1 << 16)  # over 4 MiB: a core-sized image


def _known(*keys: object) -> KnownKeys:
    return KnownKeys([k for k in (known_key(key.public_key()) for key in keys) if k])  # type: ignore[attr-defined]


def _kid(key: object) -> str:
    made = known_key(key.public_key())  # type: ignore[attr-defined]
    assert made is not None and made.kid
    return made.kid


def _image(path: Path, plants: dict[int, bytes], seed: int) -> Path:
    """Zero pages with a few pages of heap texture (pointers, text) and each plant at its offset."""
    rng = random.Random(seed)
    data = bytearray(SIZE)
    for page in range(0, SIZE, 1 << 18):
        for at in range(page, page + 4096, 64):
            data[at:at + 8] = (0x00007F0000000000 + rng.getrandbits(32) * 16).to_bytes(8, "little")
            data[at + 8:at + 56] = b"ordinary heap text, nothing secret in here.\0\0\0\0\0"
    for offset, blob in plants.items():
        data[offset:offset + len(blob)] = blob
    path.write_bytes(bytes(data))
    return path


def _fragment() -> bytes:
    """The key's PEM text from a little before its first prime, starting mid-line: the BEGIN line,
    n and d's head gone (a freed buffer reused at its start); the rest of its lines and END kept."""
    pem = RSA_KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    der = RSA_KEY.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    prime = der.index(RSA_KEY.private_numbers().p.to_bytes(128, "big"))
    line = (prime * 4 // 3) // 64 - 1  # the line before the one the prime starts on: d's tail only
    header = pem.index(b"\n") + 1
    return pem[header + 65 * line - 13:]


def test_a_pem_fragment_decoded_view_is_read_at_every_offset_in_a_dense_batch() -> None:
    """The rule: a batch of decoded views is not thinned by the dense-block rule. The fragment's
    four shifted readings (three of them random bytes) make its 64 KiB block of the batch dense;
    its prime is at an offset of the view where no other rule reads (d is cut, no modulus)."""
    fragment = _fragment()
    views = [(0, len(fragment), decoded, "base64", "decoded base64 run (1 level)")
             for _, _, decoded in runs(fragment)]
    assert len(views) == 4
    layout = Layout(format="raw", size=len(fragment), regions=[Region(0, len(fragment), None)])
    chunk = Chunk(fragment, 0, len(fragment), layout, _known(RSA_KEY))
    found = {(f.kind, f.kid, f.encoding) for f in scan_batch(chunk, [KnownKeyDetector()], views)}
    assert found == {("rsa-prime", _kid(RSA_KEY), "base64+be")}


def test_a_pem_fragment_at_an_unaligned_offset_of_a_large_image_is_found_and_sanitized(tmp_path: Path) -> None:
    fragment = _fragment()
    at = 3_000_005
    path = _image(tmp_path / "core", {at: fragment}, 1)
    known = _known(RSA_KEY)
    report = scan_path(path, known=known)
    assert report.incomplete == []
    assert {(f.kind, f.kid, f.encoding.split("+")[0]) for f in report.findings} == {
        ("rsa-prime", _kid(RSA_KEY), "base64")}
    result = sanitize(path, tmp_path / "out", Home(tmp_path / "home"), known)
    assert result.status == "clean"
    assert recheck_path(tmp_path / "out", known).findings == []


def _b64(data: bytes, urlsafe: bool) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=") if urlsafe else base64.b64encode(data)


def test_lone_key_length_runs_are_candidates_and_nothing_else() -> None:
    value = bytes(range(32))
    text = (b"x " + _b64(value, True) + b"\n" + b"a" + _b64(value, True) + b" " + _b64(value, False) + b"}"
            + b"A" * 43 + b"." + b"-" * 21 + b"+" * 22 + b".")  # the last one mixes the two alphabets
    found = candidates(text, {characters(32)})
    assert characters(32) == 43 and characters(48) == 64 and characters(66) == 88
    assert [(start, stop) for start, stop, _ in found] == [(2, 45), (91, 135), (136, 179)]
    assert [decoded for _, _, decoded in found] == [value, value, bytes(32)]


def test_a_jwk_d_and_a_seed_kept_alone_are_found_and_sanitized(tmp_path: Path) -> None:
    """The rule: a lone base64 string of a key's length is decoded and its public key compared with
    the known ones (the decoded-runs pass reads 64 characters or more; no JWK around it)."""
    d = EC_KEY.private_numbers().private_value.to_bytes(32, "big")
    seed = ED_KEY.private_bytes_raw()
    plants = {1_500_003: b'\0\0\x07"' + _b64(d, True) + b'"\0', 3_700_001: b"\0seed:" + _b64(seed, False) + b"\n"}
    path = _image(tmp_path / "core", plants, 2)
    known = _known(EC_KEY, ED_KEY)
    report = scan_path(path, known=known)
    assert report.incomplete == []
    assert sorted((f.offset, f.length, f.kind, f.kid, f.encoding) for f in report.findings) == [
        (1_500_007, 43, "ec-private-scalar", _kid(EC_KEY), "base64+be"),
        (3_700_007, 44, "ed25519-seed", _kid(ED_KEY), "base64+raw")]
    result = sanitize(path, tmp_path / "out", Home(tmp_path / "home"), known)
    assert result.status == "clean"
    assert recheck_path(tmp_path / "out", known).findings == []


def test_a_lone_d_across_a_chunk_boundary_is_found_once(tmp_path: Path) -> None:
    """A run that starts in a chunk's last bytes and ends in its overlap is that chunk's: its
    samples are looked at past the owned part (with 2 MiB chunks, a run 10 bytes before the boundary)."""
    from signward.scan.detectors import select
    from signward.scan.formats import read_layout
    from signward.scan.scanner import scan_plain

    d = _b64(EC_KEY.private_numbers().private_value.to_bytes(32, "big"), True)
    chunk = 2 << 20
    for before in (10, 21, 33):
        data = bytearray(3 * chunk)
        data[2 * chunk - before - 1:2 * chunk - before + 44] = b'"' + d + b'"'
        path = tmp_path / f"image-{before}.raw"
        path.write_bytes(bytes(data))
        findings, incomplete = scan_plain(path, read_layout(path), select("known-key"), _known(EC_KEY),
                                          chunk_size=chunk)
        assert incomplete == []
        assert [(f.offset, f.kind) for f in findings] == [(2 * chunk - before, "ec-private-scalar")], before
