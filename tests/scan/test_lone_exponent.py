"""A known RSA key's private exponent d kept alone, with no modulus near it (issue #32, red team
round 13, F2): raw big-endian, little-endian, 64-bit limbs, base64url in a JSON value, Python bytes
literals. Each artifact holds d and nothing else a rule could read (no PEM, DER, modulus, prime)."""

from __future__ import annotations

import base64
import math
import pprint
import random

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from signward.scan.chunks import Chunk
from signward.scan.detectors.known_key import KnownKeyDetector
from signward.scan.detectors.lone_exponent import EVERY_OFFSET_BYTES, MAX_HITS, table
from signward.scan.formats import Layout, Region
from signward.scan.knownkeys import KnownKeys
from signward.scan.recheck import recheck_bytes
from signward.scan.scanner import scan_path
from tests.scan.material import known

E = 65537
SMALL = [s for s in range(3, 2000, 2) if all(s % t for t in range(3, int(s ** 0.5) + 1, 2))]


def _prime(rng: random.Random, bits: int) -> int:
    while True:
        candidate = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if all(candidate % s for s in SMALL) and all(pow(a, candidate - 1, candidate) == 1 for a in (2, 3, 5, 7)):
            return candidate


def _key(seed: int, bits: int = 2048) -> tuple[rsa.RSAPrivateKey, int, int]:
    """A key made of seeded primes (the test is the same on every run), its d mod phi and its
    d mod lambda, the one OpenSSL writes; chosen so that d mod lambda's ratio k / g has a
    denominator the table covers (<= 16: about 93% of random keys) and is not d mod phi."""
    rng = random.Random(seed)
    while True:
        p, q = _prime(rng, bits // 2), _prime(rng, bits // 2)
        phi = (p - 1) * (q - 1)
        g = math.gcd(p - 1, q - 1)
        if math.gcd(E, phi) != 1:
            continue
        d_phi, d_lam = pow(E, -1, phi), pow(E, -1, phi // g)
        k = (E * d_lam - 1) // (phi // g)
        if d_phi != d_lam and g // math.gcd(k, g) <= 16:
            break
    public = rsa.RSAPublicNumbers(E, p * q)
    numbers = rsa.RSAPrivateNumbers(p, q, d_lam, rsa.rsa_crt_dmp1(d_lam, p), rsa.rsa_crt_dmq1(d_lam, q),
                                    rsa.rsa_crt_iqmp(p, q), public)
    return numbers.private_key(unsafe_skip_rsa_key_validation=True), d_phi, d_lam


KEY, D_PHI, D_LAM = _key(13)
KNOWN = known(KEY)
KID = KNOWN.of_kind("rsa")[0].kid
OTHER = known(_key(14)[0])


def _be(d: int) -> bytes:
    return d.to_bytes((d.bit_length() + 7) // 8, "big")


def _noise(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _scan(tmp_path, body: bytes, keys: KnownKeys = KNOWN) -> list[tuple[str, str, str | None, int]]:  # type: ignore[no-untyped-def]
    path = tmp_path / "artifact.bin"
    path.write_bytes(body)
    report = scan_path(path, known=keys)
    return [(f.kind, f.encoding, f.kid, f.offset) for f in report.findings]


def _reader(body: bytes, keys: KnownKeys = KNOWN) -> list[str]:
    report = recheck_bytes(body, keys, "artifact")
    assert not report.incomplete
    return [f.key for f in report.findings]


LONE = f"rsa-private-exponent of known kid {KID} (lone exponent)"
LITERAL = f"rsa-private-exponent of known kid {KID} (lone exponent, Python literal)"


@pytest.mark.parametrize("d", [D_LAM, D_PHI], ids=["d-mod-lambda", "d-mod-phi"])
@pytest.mark.parametrize("offset", [64, 67])
def test_raw_big_and_little_endian_d_in_a_binary_is_found_by_both_readers(tmp_path, d: int, offset: int) -> None:  # type: ignore[no-untyped-def]
    for encoding, stored in (("be", _be(d)), ("le", _be(d)[::-1]),
                             ("be", d.to_bytes(256, "big")), ("le", d.to_bytes(256, "little"))):
        body = _noise(offset, 1) + stored + _noise(64, 2)
        start = offset + len(stored) - len(_be(d)) if encoding == "be" else offset
        assert _scan(tmp_path, body) == [("rsa-private-exponent", encoding, KID, start)], encoding
        assert _reader(body) == [LONE]


def test_bignum_limbs_8_aligned_in_a_large_core(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # a 2047-bit d as 32 little-endian 64-bit limbs at an 8-aligned address of a core-sized
    # process image: only the aligned pass runs there; the top limb's last byte is zero
    d = D_LAM
    limbs = d.to_bytes(256, "little")
    body = bytearray(_noise(EVERY_OFFSET_BYTES + 4096, 3))
    body[0x10000:0x10000 + 256] = limbs
    layout = Layout(format="elf-core", size=len(body), regions=[Region(0, len(body), None)])
    chunk = Chunk(bytes(body), 0, len(body), layout, KNOWN)
    found = [(f.kind, f.encoding, f.offset, f.length) for f in KnownKeyDetector().scan(chunk)]
    assert ("rsa-private-exponent", "le", 0x10000, 256) in found
    assert _reader(bytes(body)) == [LONE]


def test_base64url_in_a_json_value_that_is_no_jwk(tmp_path) -> None:  # type: ignore[no-untyped-def]
    for d in (D_LAM, D_PHI):
        for encode in (base64.urlsafe_b64encode, base64.b64encode):
            text = b'{"kid":"x","priv_exp":"' + encode(_be(d)).rstrip(b"=") + b'"}\n'
            kinds = {(kind, kid) for kind, _, kid, _ in _scan(tmp_path, text)}
            assert kinds == {("rsa-private-exponent", KID)}
            assert _reader(text) == [LONE]


@pytest.mark.parametrize("spelling", ["repr", "double", "upper", "pprint", "bytearray"])
def test_python_bytes_literals_of_d(tmp_path, spelling: str) -> None:  # type: ignore[no-untyped-def]
    value = _be(D_LAM)
    literal = {"repr": repr(value), "double": 'b"' + "".join(f"\\x{b:02x}" for b in value) + '"',
               "upper": "B" + repr(value)[1:], "pprint": pprint.pformat(value, width=60),
               "bytearray": repr(bytearray(value))}[spelling].encode()
    body = _noise(64, 4) + b"\nsecret = " + literal + b"\n" + _noise(64, 5)
    assert [(kind, encoding, kid) for kind, encoding, kid, _ in _scan(tmp_path, body)] == [
        ("rsa-private-exponent", "pyrepr+be", KID)]
    found = _reader(body)  # all escapes as hex: the reader's hex-escape view reads it too
    assert LITERAL in found and set(found) <= {LITERAL, LONE}


def test_the_table_holds_d_top_word_exactly() -> None:
    # the maths: d's top 64 bits are those of ceil(k*n / (g*e)), k / g in lowest terms
    built = table(KNOWN.of_kind("rsa")[0])
    assert built is not None
    for d in (D_LAM, D_PHI):
        top = int.from_bytes(_be(d)[:8], "big")
        assert int(built.values["be"][built.values["be"].searchsorted(top)]) == top


def test_another_keys_d_and_ordinary_data_give_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    other_d = _be(_key(14)[2])
    log = b"".join(b"2026-12-06T10:%02d:%02d INFO req=%d bytes=%d user=alice path=/api/v1/items\n" % (
        i % 60, i % 59, i * 7919, i * 104729) for i in range(20_000))
    body = log + _noise(1 << 20, 6) + other_d + repr(other_d).encode()
    assert _scan(tmp_path, body) == []
    assert _reader(body) == []
    assert _scan(tmp_path, _be(D_LAM), OTHER) == []


def test_past_the_hit_bound_is_incomplete_never_clean() -> None:
    # more than MAX_HITS windows that carry a true d's top word, none a whole d: both readers say
    # incomplete (each hit costs a check; a flood of them must not pass unread)
    top = _be(D_LAM)[:8]
    body = (top + _noise(24, 7)) * (MAX_HITS + 50)
    layout = Layout(format="raw", size=len(body), regions=[Region(0, len(body), None)])
    detector = KnownKeyDetector()
    assert list(detector.scan(Chunk(body, 0, len(body), layout, KNOWN))) == []
    assert detector.incomplete() == [f"known-key:rsa-lone-exponent:{KID}"]
    report = recheck_bytes(body, KNOWN, "flood")
    assert report.findings == []
    assert any("lone-exponent candidates" in why for why in report.incomplete)
