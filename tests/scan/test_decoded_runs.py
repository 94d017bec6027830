"""The scanner decodes long base64 / base64url runs in any text (issue #32, session 12): a private
key base64'd into a log line, an env file, YAML or XML is found by `dumps scan`, at the whole run.
In each case the raw text holds no armour and no bare base64 DER (`text`'s own rules read nothing),
so only the decoded-run pass can find it."""

from __future__ import annotations

import base64
import json
import random
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from signward.scan.chunks import Chunk
from signward.scan.decoded_runs import RUN, _decode, runs, scan_decoded_runs
from signward.scan.detectors import select
from signward.scan.formats import Layout, Region
from signward.scan.knownkeys import KnownKeys
from signward.scan.scanner import scan_path
from tests.scan.material import EC, RSA, known

PEM = RSA.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _decoded(path: Path, start: int, end: int) -> set[tuple[str, str, str]]:
    """(detector, kind, encoding) of the findings at exactly the raw run [start, end)."""
    report = scan_path(path, known=known(RSA, EC))
    return {(f.detector, f.kind, f.encoding) for f in report.findings if (f.offset, f.end) == (start, end)}


def test_a_pem_key_base64d_into_a_log_line(tmp_path: Path) -> None:
    run = base64.b64encode(PEM)
    text = b"2026-12-06T10:00:00Z INFO loaded key material=" + run + b" from vault\n" * 3
    path = tmp_path / "app.log"
    path.write_bytes(text)
    start = text.index(run)
    assert ("text", "pem-private-key", "base64+ascii") in _decoded(path, start, start + len(run))


def _urlsafe_ec_der() -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    """An EC key whose PKCS#8 DER in base64url holds `-` or `_` (`text`'s bare base64 DER rule reads
    + and / only): a few tries at most (each character is one of them with odds 1/32)."""
    while True:
        key = ec.generate_private_key(ec.SECP256R1())
        run = base64.urlsafe_b64encode(key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption())).rstrip(b"=")
        if b"-" in run or b"_" in run:
            return key, run


def test_base64url_der_in_an_env_file_and_a_key_base64d_twice_in_yaml(tmp_path: Path) -> None:
    key, run = _urlsafe_ec_der()
    env = b"HOME=/srv/app\nSIGNING_KEY=" + run + b"\nPORT=8080\n"
    path = tmp_path / "app.env"
    path.write_bytes(env)
    start = env.index(run)
    report = scan_path(path, known=known(key))
    assert {(f.detector, f.kind, f.encoding, f.verified) for f in report.findings if (f.offset, f.end) ==
            (start, start + len(run))} >= {("der", "pkcs8-ec", "base64+der", True)}
    twice = base64.b64encode(base64.b64encode(PEM))
    lines = b"\n    ".join(twice[i:i + 76] for i in range(0, len(twice), 76))
    yaml = b"apiVersion: v1\nkind: Secret\ndata:\n  key: !!binary |\n    " + lines + b"\n"
    path = tmp_path / "secret.yaml"
    path.write_bytes(yaml)
    start = yaml.index(lines)
    found = _decoded(path, start, start + len(lines))
    assert ("text", "pem-private-key", "base64+base64+ascii") in found


def test_dumps_scan_exits_1_on_a_pem_base64d_into_xml(tmp_path: Path) -> None:
    run = base64.b64encode(PEM)
    path = tmp_path / "config.xml"
    path.write_bytes(b'<?xml version="1.0"?>\n<config><signing encoding="base64">' + run + b"</signing></config>\n")
    done = subprocess.run([sys.executable, "-m", "signward", "dumps", "scan", str(path), "--json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    findings = json.loads(done.stdout)["files"][0]["findings"]
    start = path.read_bytes().index(run)
    assert [(f["offset"], f["length"], f["kind"]) for f in findings if f["encoding"] == "base64+ascii"] == [
        (start, len(run), "pem-private-key")]


def test_the_sampled_search_finds_every_run_the_regex_finds() -> None:
    # 1 MB of random bytes with base64 text planted at every offset modulo 32, wrapped and not
    noise = bytearray(random.Random(5).randbytes(1 << 20))
    rng = random.Random(6)
    for index in range(200):
        text = base64.b64encode(rng.randbytes(rng.randrange(48, 400)))
        if index % 3 == 0:
            text = b"\n  ".join(text[i:i + 76] for i in range(0, len(text), 76))
        at = 4096 * index + 1000 + index % 32
        noise[at - 1:at + len(text) + 1] = b"\x00" + text + b"\x00"
    data = bytes(noise)
    assert sorted({(a, b) for a, b, _ in runs(data)}) == [(m.start(), m.end()) for m in RUN.finditer(data)
                                                          if _decode(m.group(0))]
    assert len(list(runs(data))) >= 200


def test_decoding_past_the_budget_is_incomplete_never_clean() -> None:
    # the bound on what one chunk's runs decode to: reached, the chunk's scan is incomplete
    data = b"key=" + base64.b64encode(PEM) + b"\n"
    layout = Layout(format="raw", size=len(data), regions=[Region(0, len(data), None)])
    chunk = Chunk(data, 0, len(data), layout, KnownKeys())
    cut: set[str] = set()
    assert scan_decoded_runs(chunk, select(None), cut, budget_bytes=len(PEM) // 2) == []
    assert cut == {f"decoded-runs: base64 runs decode to more than {len(PEM) // 2} bytes in one chunk"}
    cut.clear()
    assert scan_decoded_runs(chunk, select(None), cut) and not cut


# ---- detectors that name their smallest find skip shorter decoded views (session 14)

def _scanned(data: bytes) -> set[tuple[str, str, str]]:
    layout = Layout(format="raw", size=len(data), regions=[Region(0, len(data), None)])
    chunk = Chunk(data, 0, len(data), layout, KnownKeys())
    return {(f.detector, f.kind, f.encoding) for f in scan_decoded_runs(chunk, select(None), set())}


def test_an_aes_schedule_exactly_as_long_as_the_smallest_view_is_found() -> None:
    """An AES-128 key schedule (176 bytes) base64'd alone: the decoded view is exactly the AES
    detector's `min_view_bytes` long, and the schedule is found in it."""
    from signward.scan.detectors.aes import AesScheduleDetector, expand_key

    schedule = expand_key(bytes(range(7, 23)))
    assert len(schedule) == AesScheduleDetector.min_view_bytes
    text = b"blob: " + base64.b64encode(schedule) + b"\n"
    assert ("aes", "aes-128-schedule", "base64+schedule") in _scanned(text)


def test_two_primes_and_their_modulus_in_the_smallest_view_are_found() -> None:
    """An RSA-1024 key's p, q and n little-endian in 256 bytes (unknown-rsa's `min_view_bytes`),
    base64'd, next to short runs: the decoded view is read by unknown-rsa, whatever its neighbours."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    from signward.scan.detectors.unknown_rsa import UnknownRsaDetector

    numbers = rsa.generate_private_key(65537, 1024).private_numbers()
    blob = b"".join(v.to_bytes(size, "little") for v, size in ((numbers.p, 64), (numbers.q, 64),
                                                               (numbers.public_numbers.n, 128)))
    assert len(blob) == UnknownRsaDetector.min_view_bytes
    noise = b"".join(b"id=" + base64.b64encode(random.Random(n).randbytes(50)) + b"\n" for n in range(5))
    text = noise + b"key=" + base64.b64encode(blob) + b"\n" + noise
    assert ("unknown-rsa", "rsa-prime", "base64+le") in _scanned(text)


def test_a_lone_aes_schedule_the_size_of_its_file_is_found(tmp_path: Path) -> None:
    """176 bytes holding only an AES-128 schedule: the detector asked for 64 words (256 bytes)
    before looking, and a file, member or decoded view this small was passed as clean."""
    from signward.scan.detectors.aes import expand_key

    path = tmp_path / "schedule.bin"
    path.write_bytes(expand_key(bytes(range(40, 56))))
    report = scan_path(path, known=KnownKeys())
    assert [(f.detector, f.kind, f.offset, f.length) for f in report.findings] == [("aes", "aes-128-schedule", 0, 176)]


def test_a_run_of_exactly_min_run_characters_inside_a_decoded_run_is_read() -> None:
    """An Ed25519 PKCS#8 DER (48 bytes) base64'd is 64 characters, `MIN_RUN`: base64'd again, the
    first level decodes to exactly 64 characters of the class, the least the second level reads."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    der = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    inner = base64.b64encode(der)
    assert len(inner) == 64
    text = b"wrapped=" + base64.b64encode(inner) + b"\n"
    assert ("der", "pkcs8-ed25519", "base64+base64+der") in _scanned(text)
