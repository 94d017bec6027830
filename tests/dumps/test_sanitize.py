"""Sanitize fails closed: canaries prove the scan, refusals leave nothing, races are refused."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from signward.dumps import Canary, scan_path, sanitize, verify_attestation
from signward.errors import DumpRefused
from signward.home import Home
from tests.dumps.conftest import CrashedProcess
from tests.dumps.planting import image, le
from tests.dumps.test_detectors import NUMBERS, RSA, known


def test_canary_process_sanitizes_clean_with_every_canary_found(canary_holder: CrashedProcess, canary_file: Path,
                                                                tmp_path: Path) -> None:
    canary = Canary.load(canary_file)
    result = sanitize(canary_holder.core, tmp_path / "out.core", Home(tmp_path / "home"), canary=canary)
    assert result.status == "clean"
    assert result.canaries_found == result.canaries_expected == sorted(canary.expected())
    attestation = verify_attestation(tmp_path / "out.core", Home(tmp_path / "home"))["attestation"]
    assert attestation["canaries"]["found_in_input"] == sorted(canary.expected())
    assert attestation["canaries"]["found_in_output"] == []
    rescan = scan_path(tmp_path / "out.core", known=_canary_known(canary))
    assert rescan.findings == []


def _canary_known(canary: Canary):  # type: ignore[no-untyped-def]
    from signward.dumps import KnownKeys

    known = KnownKeys()
    canary.add_to(known)
    return known


def test_a_detector_switched_off_is_caught_by_the_canary(canary_holder: CrashedProcess, canary_file: Path,
                                                         tmp_path: Path) -> None:
    out = tmp_path / "out.core"
    out.write_bytes(b"an older certified file at that path")
    with pytest.raises(DumpRefused) as refusal:
        sanitize(canary_holder.core, out, Home(tmp_path / "home"), canary=Canary.load(canary_file),
                 detectors="text,der,aes,unknown-rsa")
    assert refusal.value.reason == "canary_missed"
    assert "ec-in-memory" in refusal.value.detail and "ed25519-in-memory" in refusal.value.detail
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".signward-sanitize")] == []


def test_redaction_keeps_the_file_size_and_only_touches_findings(tmp_path: Path) -> None:
    path = image(tmp_path / "img", 1 << 20, {4096: le(NUMBERS.p, 128)})
    result = sanitize(path, tmp_path / "out", Home(tmp_path / "home"), known(RSA))
    before, after = path.read_bytes(), (tmp_path / "out").read_bytes()
    assert len(before) == len(after)
    changed = [i for i in range(len(before)) if before[i] != after[i]]
    assert changed and min(changed) >= 4096 - 32 and max(changed) < 4096 + 128 + 32
    assert result.redacted_bytes == 128 + 64


def test_minimize_blanks_anonymous_memory_but_keeps_stacks(key_holder: CrashedProcess, tmp_path: Path) -> None:
    import subprocess

    result = sanitize(key_holder.core, tmp_path / "min.core", Home(tmp_path / "home"), key_holder.known(),
                      minimize=True, detectors="known-key,text,aes")
    assert result.status == "clean"
    assert result.redacted_bytes > key_holder.core.stat().st_size // 4
    if shutil.which("gdb"):
        run = subprocess.run(["gdb", "-batch", "-nx", "-ex", "bt", "-c", str(tmp_path / "min.core")],
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0 and "#0" in run.stdout


def test_minimize_refuses_what_it_cannot_understand(tmp_path: Path) -> None:
    from signward.errors import DumpFormatError

    path = image(tmp_path / "img", 1 << 16, {})
    with pytest.raises(DumpFormatError, match="x86-64 ELF core"):
        sanitize(path, tmp_path / "out", Home(tmp_path / "home"), minimize=True)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("attack", ["append", "replace"])
def test_the_input_changing_during_the_scan_is_refused(tmp_path: Path, attack: str) -> None:
    """A writer still appending, or the file replaced between scan and write (the scan's
    progress callback is the hook that runs the attack mid-scan)."""
    path = image(tmp_path / "img", 8 << 20, {4096: le(NUMBERS.p, 128)})
    other = image(tmp_path / "other", 8 << 20, {})

    def attack_now(done: int, total: int) -> None:
        if attack == "append":
            with open(path, "ab") as handle:
                handle.write(b"more core bytes")
        elif other.exists():
            os.replace(other, path)

    with pytest.raises(DumpRefused) as refusal:
        sanitize(path, tmp_path / "out", Home(tmp_path / "home"), known(RSA), progress=attack_now)
    assert refusal.value.reason == "input_changed"
    assert not (tmp_path / "out").exists()


def test_a_concurrent_writer_thread_never_gets_an_unsanitized_byte_through(tmp_path: Path) -> None:
    path = image(tmp_path / "img", 16 << 20, {4096: le(NUMBERS.p, 128)})
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            with open(path, "r+b") as handle:
                handle.seek(1 << 20)
                handle.write(le(NUMBERS.q, 128))  # a key appears after sealing began
            stop.wait(0.01)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        with pytest.raises(DumpRefused) as refusal:
            sanitize(path, tmp_path / "out", Home(tmp_path / "home"), known(RSA))
    finally:
        stop.set()
        thread.join()
    assert refusal.value.reason == "input_changed"
    assert not (tmp_path / "out").exists()


def test_two_sanitizers_at_once_publish_one_valid_result(tmp_path: Path) -> None:
    path = image(tmp_path / "img", 8 << 20, {4096: le(NUMBERS.p, 128)})
    home = Home(tmp_path / "home")
    results: list[object] = []

    def run() -> None:
        results.append(sanitize(path, tmp_path / "out", home, known(RSA)))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2
    assert verify_attestation(tmp_path / "out", home)["valid"]
    assert scan_path(tmp_path / "out", known=known(RSA)).findings == []
