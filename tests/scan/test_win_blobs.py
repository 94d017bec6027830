"""Windows key blobs (detectors/win_blobs.py, a pass of the `der` detector): CryptoAPI's
PRIVATEKEYBLOB (little-endian) and CNG's RSA and ECC private blobs (big-endian), as CryptExportKey /
BCryptExportKey write them and as a signing process holds them, proven by their numbers."""

from __future__ import annotations

import hashlib
import struct
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from signward.dumps import scan_path
from signward.scan.detectors.win_blobs import MAX_MAGICS, blob_keys

RSA_KEY = rsa.generate_private_key(65537, 2048)
P256, P384 = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP384R1())
FILLER = hashlib.shake_256(b"heap").digest(4096)


def capi(header: bool = True) -> bytes:
    """PRIVATEKEYBLOB: BLOBHEADER (PRIVATEKEYBLOB, CUR_BLOB_VERSION, CALG_RSA_KEYX), RSAPUBKEY, numbers LE."""
    n = RSA_KEY.private_numbers()
    size, half = 256, 128
    values = ((n.public_numbers.n, size), (n.p, half), (n.q, half), (n.dmp1, half), (n.dmq1, half), (n.iqmp, half),
              (n.d, size))
    body = b"".join(value.to_bytes(length, "little") for value, length in values)
    return (b"\x07\x02\x00\x00\x00\xa4\x00\x00" if header else b"") + b"RSA2" + struct.pack("<II", 2048, 65537) + body


def cng_rsa(full: bool) -> bytes:
    n = RSA_KEY.private_numbers()
    head = (b"RSA3" if full else b"RSA2") + struct.pack("<IIIII", 2048, 3, 256, 128, 128)
    values = [(65537, 3), (n.public_numbers.n, 256), (n.p, 128), (n.q, 128)]
    if full:
        values += [(n.dmp1, 128), (n.dmq1, 128), (n.iqmp, 128), (n.d, 256)]
    return head + b"".join(value.to_bytes(length, "big") for value, length in values)


def cng_ec(key: ec.EllipticCurvePrivateKey, magic: bytes) -> bytes:
    size = (key.curve.key_size + 7) // 8
    numbers = key.private_numbers()
    values = (numbers.public_numbers.x, numbers.public_numbers.y, numbers.private_value)
    return magic + struct.pack("<I", size) + b"".join(value.to_bytes(size, "big") for value in values)


BLOBS = {"capi-privatekeyblob": (capi, "windows-capi-rsa-blob"),
         "capi-rsapubkey-alone": (lambda: capi(header=False), "windows-capi-rsa-blob"),
         "cng-rsaprivate": (lambda: cng_rsa(False), "windows-cng-rsa-blob"),
         "cng-rsafullprivate": (lambda: cng_rsa(True), "windows-cng-rsa-blob"),
         "cng-ecdsa-p256": (lambda: cng_ec(P256, b"ECS2"), "windows-cng-ec-blob"),
         "cng-ecdh-p384": (lambda: cng_ec(P384, b"ECK4"), "windows-cng-ec-blob")}


@pytest.mark.parametrize("name", sorted(BLOBS))
def test_a_key_blob_in_a_heap_is_found_at_any_offset_with_its_kind(tmp_path: Path, name: str) -> None:
    make, kind = BLOBS[name]
    blob = make()
    for lead in (1003, 1004):  # 4 past an 8-byte boundary: where CryptoAPI's numbers sit after the header
        path = tmp_path / f"{lead}.core"
        path.write_bytes(FILLER[:lead] + blob + FILLER)
        report = scan_path(path, "der")
        assert [(f.kind, f.offset, f.length) for f in report.findings] == [(kind, lead, len(blob))], report.findings


def test_a_blob_cut_short_after_its_primes_is_found_to_the_end() -> None:
    blob = capi()
    cut = blob[:8 + 12 + 256 + 256 + 40]  # n, p, q whole; dp cut
    [(start, end, kind, key)] = list(blob_keys(cut, set()))
    assert (start, end, kind) == (0, len(cut), "windows-capi-rsa-blob")
    assert key.private_numbers().p == RSA_KEY.private_numbers().p


def _public_and_wrong() -> dict[str, bytes]:
    n = RSA_KEY.private_numbers()
    wrong_q = capi()[:8 + 12 + 256 + 128] + (n.q + 2).to_bytes(128, "little") + capi()[8 + 12 + 256 + 256:]
    public = P256.public_key().public_numbers()
    return {
        "capi-publickeyblob": b"\x06\x02\x00\x00\x00\xa4\x00\x00RSA1" + struct.pack("<II", 2048, 65537)
                              + n.public_numbers.n.to_bytes(256, "little"),
        "capi-wrong-prime": wrong_q,
        "cng-ecc-public": b"ECS1" + struct.pack("<I", 32) + public.x.to_bytes(32, "big") + public.y.to_bytes(32, "big"),
        "cng-ecc-other-scalar": cng_ec(P256, b"ECS2")[:-32]
                                + (P256.private_numbers().private_value ^ 1).to_bytes(32, "big"),
        "the-words": b"RSA2 RSA3 ECS2 ECK6 are CNG magics\n" * 50,
    }


@pytest.mark.parametrize("case", sorted(_public_and_wrong()))
def test_public_blobs_and_blobs_that_do_not_prove_are_not_findings(case: str) -> None:
    cut: set[str] = set()
    assert list(blob_keys(FILLER + _public_and_wrong()[case] + FILLER, cut)) == [] and not cut


def test_past_the_magic_bound_the_read_is_incomplete_in_bounded_time() -> None:
    data = (b"RSA2" + struct.pack("<I", 2048)) * (MAX_MAGICS + 3000)  # each a plausible head (then no key)
    cut: set[str] = set()
    started = time.process_time()
    assert list(blob_keys(data, cut)) == []
    assert cut and time.process_time() - started < 5


def test_text_naming_key_types_is_no_blob_candidate() -> None:
    """`RSA2048` in a key inventory is `RSA2` followed by no bit length: not counted (rt23 row 35: a 1 MB
    CSV was refused past the magic bound)."""
    data = b"".join(b"srv%05d.example.com,RSA2048,2027-05-12,ECS256\n" % i for i in range(MAX_MAGICS + 2000))
    cut: set[str] = set()
    assert list(blob_keys(data, cut)) == [] and not cut
