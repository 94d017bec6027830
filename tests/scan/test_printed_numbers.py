"""Private keys printed as big integers, proven from the printout alone (scanner:
detectors/printed_numbers.py): Go's %v of key structs, Java's toString, configs in hex or decimal.
No known keys are given: the proof is in the printout."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from signward.dumps import scan_path
from signward.scan.detectors.printed_numbers import printed_number_hits

RSA_KEY = rsa.generate_private_key(65537, 2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
K1_KEY = ec.generate_private_key(ec.SECP256K1())


def _rsa() -> rsa.RSAPrivateNumbers:
    return RSA_KEY.private_numbers()


def go_ec_plus_v(key: ec.EllipticCurvePrivateKey = EC_KEY) -> bytes:
    numbers = key.private_numbers()
    return (b"level=debug msg=loaded key=&{PublicKey:{Curve:0xc0000a2000 X:+%d Y:+%d} D:+%d}\n"
            % (numbers.public_numbers.x, numbers.public_numbers.y, numbers.private_value))


def go_ec_v() -> bytes:
    numbers = EC_KEY.private_numbers()
    return b"key=&{{0xc0000a2000 %d %d} %d}\n" % (numbers.public_numbers.x, numbers.public_numbers.y,
                                                 numbers.private_value)


def go_rsa_plus_v() -> bytes:
    n = _rsa()
    return (b"key=&{PublicKey:{N:+%d E:65537} D:+%d Primes:[+%d +%d] Precomputed:{Dp:+%d Dq:+%d Qinv:+%d "
            b"CRTValues:[]}}\n" % (n.public_numbers.n, n.d, n.p, n.q, n.dmp1, n.dmq1, n.iqmp))


def java_rsa() -> bytes:
    n = _rsa()
    return (b"SunRsaSign RSA private CRT key, 2048 bits\n  params: null\n  modulus: %d\n  private exponent: %d\n"
            % (n.public_numbers.n, n.d))


def hex_ec_config() -> bytes:
    numbers = EC_KEY.private_numbers()
    return b"ec:\n  d: %064x\n  x: %064x\n  y: %064x\n" % (numbers.private_value, numbers.public_numbers.x,
                                                          numbers.public_numbers.y)


def hex_point_config() -> bytes:
    numbers = K1_KEY.private_numbers()
    return b"secret=0x%064x\npublic=04%064x%064x\n" % (numbers.private_value, numbers.public_numbers.x,
                                                       numbers.public_numbers.y)


def decimal_rsa_config() -> bytes:
    n = _rsa()
    return b"n=%d\ne=65537\np=%d\n" % (n.public_numbers.n, n.p)


def hex_rsa_config() -> bytes:
    n = _rsa()
    return b"n: %x\nd: %x\n" % (n.public_numbers.n, n.d)


FORMS = {"go-ec-plus-v": (go_ec_plus_v, "ec"), "go-ec-v": (go_ec_v, "ec"), "go-rsa-plus-v": (go_rsa_plus_v, "rsa"),
         "java-rsa-tostring": (java_rsa, "rsa"), "hex-ec-config": (hex_ec_config, "ec"),
         "hex-encoded-point": (hex_point_config, "ec"), "decimal-rsa-factor": (decimal_rsa_config, "rsa"),
         "hex-rsa-exponent": (hex_rsa_config, "rsa")}
LOG = b"2026-12-07T23:10:00Z worker started\n" * 20


@pytest.mark.parametrize("form", sorted(FORMS))
def test_a_printed_key_is_proven_from_its_own_numbers(tmp_path: Path, form: str) -> None:
    write, kind = FORMS[form]
    path = tmp_path / "app.log"
    path.write_bytes(LOG + write() + LOG)
    report = scan_path(path, "text")
    assert [f.kind for f in report.findings] == [f"printed-{kind}-numbers"], report.findings
    assert report.incomplete == []
    finding = report.findings[0]
    assert finding.offset >= len(LOG) and finding.offset + finding.length <= len(LOG) + len(write())


def test_the_finding_spans_every_private_value_of_the_group() -> None:
    data = go_rsa_plus_v()
    [(start, end, _, key)] = list(printed_number_hits(data))
    n = _rsa()
    for value in (n.d, n.p, n.q, n.dmp1, n.dmq1, n.iqmp):
        at = data.index(b"%d" % value)
        assert start <= at and at + len(b"%d" % value) <= end
    assert key.private_numbers() == n


def _benign() -> dict[str, bytes]:
    n, numbers = _rsa(), EC_KEY.private_numbers()
    other = rsa.generate_private_key(65537, 2048).private_numbers()
    return {
        "modulus-alone": b"modulus: %d\nmodulus (hex): %x\n" % (n.public_numbers.n, n.public_numbers.n),
        "modulus-and-a-stranger": b"n=%d\np=%d\nd=%d\n" % (n.public_numbers.n, other.p, other.d),
        "public-point-alone": b"X:+%d Y:+%d\n" % (numbers.public_numbers.x, numbers.public_numbers.y),
        "digests": b"".join(b"layer sha256:%s\n" % hashlib.sha256(b"%d" % i).hexdigest().encode()
                            for i in range(2000)),
        "random-numbers": b"".join(b"%d\n" % int.from_bytes(hashlib.sha512(b"%d" % i).digest(), "big")
                                   for i in range(2000)),
        "rsa-sized-numbers": b"".join(b"%d\n" % (int.from_bytes(hashlib.shake_256(b"%d" % i).digest(256), "big") | 1)
                                      for i in range(300)),
    }


@pytest.mark.parametrize("case", sorted(_benign()))
def test_numbers_that_prove_nothing_are_not_findings(case: str) -> None:
    cut: list[str] = []
    assert list(printed_number_hits(_benign()[case], cut)) == [] and cut == []


def test_a_near_miss_d_costs_an_exponentiation_each_and_the_budget_ends_the_read() -> None:
    """A d one off passes the convergent test (it is as close to k*n/e as a real d) but not the
    exponentiation: 200 of them are past the view's budget, which says so, in bounded time."""
    n = _rsa()
    data = b"".join(b"modulus: %d\nprivate exponent: %d\n\n" % (n.public_numbers.n, n.d + i)
                    + b"x" * 5000 + b"\n" for i in range(1, 201))
    cut: list[str] = []
    started = time.process_time()
    assert list(printed_number_hits(data, cut)) == []
    assert cut and "budget" in cut[0]
    assert time.process_time() - started < 20


def test_copies_of_one_printout_are_proven_once() -> None:
    data = (java_rsa() + b"x" * 5000 + b"\n") * 200
    cut: list[str] = []
    assert len(list(printed_number_hits(data, cut))) == 200 and cut == []


@pytest.mark.parametrize("form", ["go-rsa-plus-v", "go-ec-v", "hex-ec-config"])
def test_a_printout_inside_a_large_binary_view_is_found(form: str) -> None:
    """Past 64 KiB only the regions around sampled digit runs are searched: each token's whole run
    is in its region (its start is found from the samples before it)."""
    filler = hashlib.shake_256(b"core").digest(300 << 10)
    data = filler + b"\n" + FORMS[form][0]() + filler
    alone = [(start, end, kind) for start, end, kind, _ in printed_number_hits(FORMS[form][0]())]
    base = len(filler) + 1
    assert [(start - base, end - base, kind) for start, end, kind, _ in printed_number_hits(data)] == alone
    assert [kind for _, _, kind in alone] == [f"printed-{FORMS[form][1]}-numbers"]


def test_one_long_run_of_digits_is_read_once() -> None:
    """A long line of hex digits holds thousands of sampled triples: its run is read to its end once
    (each triple read it again: 54 CPU s for 1 MiB, zscan's finding)."""
    data = hashlib.shake_256(b"run").hexdigest(1 << 17).encode()  # 256 KiB: past the small views
    started = time.process_time()
    assert list(printed_number_hits(data)) == []
    assert time.process_time() - started < 0.5  # about 0.01 s; each triple reading the run again: seconds


def test_a_list_of_public_keys_with_their_ids_is_read_without_refusal() -> None:
    """Every group holds points (x, y) and a key id beside each (a SHA-256): rt23's JWKS-like file of
    1,261 P-256 public keys was refused past the derivation budget. Coordinates are never tried as
    scalars, ids beside points are, within a budget that grows with the view."""
    lines = []
    for i in range(600):
        public = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
        kid = hashlib.sha256(b"%d" % i).hexdigest()
        lines.append(b'{"kid": "%s", "crv": "P-256", "x": "%064x", "y": "%064x"}' % (kid.encode(), public.x, public.y))
    cut: list[str] = []
    assert list(printed_number_hits(b"\n".join(lines), cut)) == [] and cut == []
