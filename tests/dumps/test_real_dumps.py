"""Real core dumps of real crashed processes: every key is found, and found gone after sanitize."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from signward.dumps import FileReport, sanitize, scan_path, verify_attestation
from signward.home import Home
from tests.helpers import factor_windows
from tests.scan.crashes import CrashedProcess

PEM_WITH_BODY = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----\s*[A-Za-z0-9+/]{40}")


def kinds(report: FileReport, detector: str | None = None) -> set[tuple[str, str]]:
    return {(f.kind, f.encoding) for f in report.findings if detector is None or f.detector == detector}


@pytest.fixture(scope="module")
def with_keys(key_holder: CrashedProcess) -> FileReport:
    return scan_path(key_holder.core, known=key_holder.known())


@pytest.fixture(scope="module")
def without_keys(key_holder: CrashedProcess) -> FileReport:
    return scan_path(key_holder.core)


def test_the_core_really_holds_the_rsa_primes(key_holder: CrashedProcess) -> None:
    """Independent of the scanner: an 8-byte-aligned window of the core divides the modulus."""
    hits = factor_windows(key_holder.core.read_bytes(), int(key_holder.secrets["rsa_n"]), 128)
    assert hits and all(order == "little" for _, order in hits)


def test_known_keys_are_found_verified_with_their_kid(with_keys: FileReport, key_holder: CrashedProcess) -> None:
    kids = {key.kid: key.kind for key in key_holder.known().keys}
    verified = {(f.kind, kids.get(f.kid or "")) for f in with_keys.findings if f.detector == "known-key" and f.verified}
    assert ("rsa-prime", "rsa") in verified
    assert ("ec-private-scalar", "ec") in verified
    assert ("ed25519-seed", "ed25519") in verified
    # a found prime gives the rest of the RSA key, searched as exact bytes
    rsa_kinds = {f.kind for f in with_keys.findings if kids.get(f.kid or "") == "rsa"}
    assert {"rsa-prime", "rsa-private-exponent", "rsa-crt-exponent", "rsa-crt-coefficient"} <= rsa_kinds
    assert with_keys.format == "elf-core" and with_keys.incomplete == []
    assert all(f.vaddr is not None for f in with_keys.findings if f.detector == "known-key")


def test_text_and_schedules_are_found_without_keys(without_keys: FileReport, key_holder: CrashedProcess) -> None:
    text = kinds(without_keys, "text")
    assert ("pem-private-key", "ascii") in text  # PKCS#8 PEM in the heap
    assert ("pem-rsa-private-key", "utf-16le") in text
    assert ("jwk-ec-private", "ascii") in text
    assert ("rsa-prime", "le") in kinds(without_keys, "unknown-rsa")
    schedules = [f for f in without_keys.findings if f.detector == "aes" and f.kind == "aes-256-schedule"]
    assert schedules
    data = key_holder.core.read_bytes()
    key = bytes.fromhex(key_holder.secrets["aes_key"])
    # the held key's schedule is among them (OpenSSL's own CTR-DRBG holds AES-256 schedules too)
    assert any(data[f.offset:f.offset + 32] in (key, b"".join(key[i:i + 4][::-1] for i in range(0, 32, 4)))
               for f in schedules)
    assert not any(f.verified and f.kid for f in without_keys.findings)  # nothing to verify against


def test_openssl_process_key_is_found(openssl_server: CrashedProcess) -> None:
    report = scan_path(openssl_server.core, known=openssl_server.known())
    assert any(f.kind == "rsa-prime" and f.verified for f in report.findings)
    assert factor_windows(openssl_server.core.read_bytes(), int(openssl_server.secrets["rsa_n"]), 128)


def test_a_process_that_never_touched_a_key_is_clean(clean_process: CrashedProcess,
                                                     key_holder: CrashedProcess) -> None:
    report = scan_path(clean_process.core, known=key_holder.known())
    assert report.findings == []


@pytest.fixture(scope="module")
def sanitized(key_holder: CrashedProcess, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Home]:
    out_dir = tmp_path_factory.mktemp("sanitized")
    home = Home(out_dir / "home")
    result = sanitize(key_holder.core, out_dir / "clean.core", home, key_holder.known())
    assert result.status == "clean" and result.redacted_bytes > 0
    return out_dir / "clean.core", home


def test_after_sanitize_no_detector_and_no_independent_check_finds_anything(
        sanitized: tuple[Path, Home], key_holder: CrashedProcess) -> None:
    out, _ = sanitized
    report = scan_path(out, detectors="text,der,known-key,unknown-rsa,aes", known=key_holder.known())
    assert report.findings == []
    data = out.read_bytes()
    assert factor_windows(data, int(key_holder.secrets["rsa_n"]), 128) == []
    assert PEM_WITH_BODY.search(data) is None
    assert PEM_WITH_BODY.search(data.replace(b"\0", b"")) is None  # the UTF-16 copy too
    assert bytes.fromhex(key_holder.secrets["aes_key"]) not in data
    assert len(data) == key_holder.core.stat().st_size


def test_gdb_still_opens_the_sanitized_core(sanitized: tuple[Path, Home]) -> None:
    out, _ = sanitized
    if shutil.which("gdb") is None:
        pytest.skip("gdb is not installed")
    run = subprocess.run(["gdb", "-batch", "-nx", "-ex", "bt", "-ex", "info registers rip", "-c", str(out)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "#0" in run.stdout and "rip" in run.stdout


def test_attestation_binds_the_output(sanitized: tuple[Path, Home]) -> None:
    out, home = sanitized
    result = verify_attestation(out, home)
    assert result.valid, result
    assert result.attestation is not None and result.attestation["counts"]["known-key"] > 0
    copy = out.with_name("tampered.core")
    shutil.copyfile(out, copy)
    shutil.copyfile(out.with_name(out.name + ".attestation.json"), copy.with_name(copy.name + ".attestation.json"))
    with open(copy, "r+b") as handle:
        handle.seek(copy.stat().st_size // 2)
        byte = handle.read(1)
        handle.seek(-1, 1)
        handle.write(bytes([byte[0] ^ 0xFF]))
    assert verify_attestation(copy, home).reason == "output_mismatch"
