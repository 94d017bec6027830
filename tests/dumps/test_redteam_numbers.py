"""Keys printed as numbers (issue #32, red team F1-F3): the independent reader's text-integers view
(signward.scan.recheck_numbers) and sanitize's redaction of the whole text block around a finding.
The printouts come from the real tools (openssl, xxd, hexdump, od) and the runtimes' own formats
(Python's RSAPrivateNumbers repr, Java's RSAPrivateCrtKey.toString); each sanitize case then runs
the red team's recoverer over the certified output."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import rsa_recover_prime_factors
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from signward.dumps import sanitize
from signward.home import Home
from signward.scan.recheck import recheck_bytes, recheck_path
from signward.scan.recheck_numbers import hex_blocks, rsa_part
from tests.scan.material import EC, ED, RSA, known
from tests.scan.planting import image
from tests.scan.test_recheck import _blind_scanner

KNOWN = known(RSA, EC, ED)
PAD = b"filler text line of a log\n" * 40
NUMS = RSA.private_numbers()
PUB = NUMS.public_numbers
DER = RSA.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
needs_tools = pytest.mark.skipif(not all(shutil.which(t) for t in ("openssl", "xxd", "hexdump", "od")),
                                 reason="openssl, xxd, hexdump and od are the writers under test")


def _tool(*argv: str, data: bytes) -> bytes:
    return subprocess.run(argv, input=data, capture_output=True, check=True).stdout


def _pkcs8(key: PrivateKeyTypes) -> bytes:
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


def _keys_in(report_keys: list[str]) -> str:
    return " | ".join(report_keys)


def _found(body: bytes) -> str:
    report = recheck_bytes(PAD + body + b"\n" + PAD, KNOWN, "text")
    assert not report.incomplete, report.incomplete
    return _keys_in([f.key for f in report.findings])


# ---- the red team's recoverers (recover.py / recover2.py), on what a certified output says
def _from_p(p: int) -> bool:
    q = PUB.n // p
    if not 1 < p < PUB.n or p * q != PUB.n:
        return False
    d = pow(PUB.e, -1, (p - 1) * (q - 1))
    key = rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p), PUB).private_key()
    return key.public_key().public_numbers() == PUB


def _from_d(d: int) -> bool:
    try:
        p, _ = rsa_recover_prime_factors(PUB.n, PUB.e, d)
    except (ValueError, ZeroDivisionError):
        return False
    return _from_p(p)


def _recoverable(text: bytes) -> bool:
    """Every integer the output still spells (openssl -text blocks, asn1parse hex, decimal) tried
    as p and as d, the way recover.py and recover2.py do."""
    candidates = [int(m.group(0)) for m in re.finditer(rb"[0-9]{60,}", text)]
    candidates += [int(m.group(1), 16) for m in re.finditer(rb":([0-9A-Fa-f]{60,})", text)]
    candidates += [int.from_bytes(b, "big") for _, _, b in hex_blocks(text)]
    ec_d, ed_seed = EC.private_numbers().private_value, int.from_bytes(ED.private_bytes_raw(), "big")
    return any(_from_p(v) or _from_d(v) or v in (ec_d, ed_seed) or v & ((1 << 256) - 1) in (ec_d, ed_seed)
               for v in candidates if v > 1)


@needs_tools
@pytest.mark.parametrize("key,expect", [(RSA, "RSA prime"), (EC, "EC scalar"), (ED, "Ed25519 seed")])
def test_openssl_pkey_text_of_each_key_type_is_found(key: PrivateKeyTypes, expect: str) -> None:
    assert expect in _found(_tool("openssl", "pkey", "-text", "-noout", data=_pkcs8(key)))


@needs_tools
@pytest.mark.parametrize("argv", [("xxd",), ("hexdump", "-C"), ("od", "-An", "-tx1")])
def test_hex_dumps_of_der_are_loaded(argv: tuple[str, ...]) -> None:
    """xxd, hexdump -C and od: offsets and the ASCII column dropped, the lines joined: the DER loads."""
    found = _found(_tool(*argv, data=DER))
    assert "RSAPrivateKey (known kid" in found


@pytest.mark.parametrize("body,expect", [
    (b"p = " + str(NUMS.p).encode(), "RSA prime"),
    (f"numbers=<RSAPrivateNumbers(p={NUMS.p}, q={NUMS.q}, d={NUMS.d})>".encode(), "RSA prime"),
    (f"d=<RSAPrivateNumbers(d={NUMS.d})>".encode(), "RSA d"),
    (b"d=" + str(EC.private_numbers().private_value).encode(), "EC scalar"),
    (str(int.from_bytes(ED.private_bytes_raw(), "big")).encode(), "Ed25519 seed"),
    (b", ".join(b"%d" % b for b in DER), "RSAPrivateKey (known kid"),
    (b", ".join(b"0x%02x" % b for b in DER), "RSAPrivateKey (known kid"),
    (b"\n".join(DER[i:i + 8].hex(" ").encode() for i in range(0, len(DER), 8)), "RSAPrivateKey (known kid"),
], ids=["p", "numbers-repr", "d-repr", "ec-d", "ed-seed-int", "der-decimal", "der-0x", "der-hex-rows"])
def test_numbers_printed_by_runtimes_are_found(body: bytes, expect: str) -> None:
    assert expect in _found(body)


def test_java_private_exponent_alone_is_found_as_d() -> None:
    """Java's RSAPrivateCrtKey.toString: the modulus (public) and the private exponent, in decimal."""
    body = (f"SunRsaSign RSA private CRT key, 2048 bits\n  params: null\n  modulus: {PUB.n}\n"
            f"  private exponent: {NUMS.d}\n").encode()
    assert "RSA d of known kid" in _found(body)


def test_rsa_part_names_d_and_the_crt_exponents_and_nothing_else() -> None:
    assert rsa_part(NUMS.d, PUB.n, PUB.e) == "d"
    assert rsa_part(NUMS.dmp1, PUB.n, PUB.e) == "dp/dq"
    assert rsa_part(NUMS.dmq1, PUB.n, PUB.e) == "dp/dq"
    assert rsa_part(PUB.n, PUB.n, PUB.e) is None
    assert rsa_part(NUMS.d + 2, PUB.n, PUB.e) is None
    assert rsa_part(NUMS.dmp1 + 2, PUB.n, PUB.e) is None


@needs_tools
def test_asn1parse_is_certified_only_with_every_integer_gone(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """F3: p and q were redacted, d/dp/dq/qi left. Now the whole text block around a finding goes."""
    _blind_scanner(monkeypatch, "signward.dumps.sanitize")
    der = tmp_path / "key.der"
    der.write_bytes(DER)
    text = subprocess.run(["openssl", "asn1parse", "-inform", "DER", "-in", str(der), "-strparse", "22"],
                          capture_output=True, check=True).stdout
    assert _recoverable(text)
    path = tmp_path / "asn1.txt"
    path.write_bytes(PAD + text + b"\n" + PAD)
    result = sanitize(path, tmp_path / "out", Home(tmp_path / "home"), known(RSA))
    output = (tmp_path / "out").read_bytes()
    assert result.status == "clean" and not _recoverable(output)
    assert recheck_path(tmp_path / "out", known(RSA)).clean


@needs_tools
def test_a_core_with_openssl_text_of_the_keys_is_certified_only_without_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """F1: an image (a heap) holding a debug-log string with `openssl pkey -text` of three keys; the
    scanner blind: the reader finds a part of each, and the whole text block is overwritten; a copy
    of the EC block elsewhere (a string copied in a heap) and the same scalar as a JWK's "d" first
    (the reader reads each content once) are found and redacted too."""
    _blind_scanner(monkeypatch, "signward.dumps.sanitize")
    log = b"\n".join(_tool("openssl", "pkey", "-text", "-noout", data=_pkcs8(k)) for k in (RSA, EC, ED))
    assert _recoverable(log)
    scalar = EC.private_numbers().private_value.to_bytes(32, "big")
    ec_text = _tool("openssl", "pkey", "-text", "-noout", data=_pkcs8(EC))
    path = image(tmp_path / "core", 1 << 18, {  # the log, a JWK's "d" (the same scalar) and a second copy
        40_000: b"\0debug: " + log + b"\0", 120_000: b'\0"d": "' + base64.urlsafe_b64encode(scalar) + b'"\0',
        200_000: b"\0" + ec_text + b"\0"})
    result = sanitize(path, tmp_path / "out", Home(tmp_path / "home"), KNOWN)
    output = (tmp_path / "out").read_bytes()
    assert result.status == "clean" and not _recoverable(output)
    report = recheck_path(tmp_path / "out", KNOWN)
    assert report.clean, report.summary()
    ec_hex = scalar.hex(":")
    assert ec_hex[:20].encode() not in output and b"debug: " not in output
