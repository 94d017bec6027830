"""Sanitize fails closed: canaries prove the scan, refusals leave nothing, races are refused."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from signward.dumps import Canary, sanitize, scan_path, verify_attestation
from signward.errors import DumpFormatError, DumpRefused, UsageError
from signward.home import Home
from tests.scan.crashes import CrashedProcess
from tests.scan.material import NUMBERS, RSA, known
from tests.scan.planting import image, le


def test_canary_process_sanitizes_clean_with_every_canary_found(canary_holder: CrashedProcess, canary_file: Path,
                                                                tmp_path: Path) -> None:
    canary = Canary.load(canary_file)
    result = sanitize(canary_holder.core, tmp_path / "out.core", Home(tmp_path / "home"), canary=canary)
    assert result.status == "clean"
    assert result.canaries_found == result.canaries_expected == sorted(canary.expected())
    attestation = verify_attestation(tmp_path / "out.core", Home(tmp_path / "home")).attestation
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
    clean = image(tmp_path / "clean.raw", 1 << 16, {})
    sanitize(clean, out, Home(tmp_path / "home"))  # an older certified output at that path
    with pytest.raises(DumpRefused) as refusal:
        sanitize(canary_holder.core, out, Home(tmp_path / "home"), canary=Canary.load(canary_file),
                 detectors="text,der,aes,unknown-rsa")
    assert refusal.value.reason == "canary_missed"
    assert "ec-in-memory" in refusal.value.detail and "ed25519-in-memory" in refusal.value.detail
    assert not out.exists() and not (tmp_path / "out.core.attestation.json").exists()  # it no longer stands
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
    assert verify_attestation(tmp_path / "out", home).valid
    assert scan_path(tmp_path / "out", known=known(RSA)).findings == []


def test_a_redaction_failure_is_caught_by_the_residue_rescan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last line of the control that failed in the breach: redaction misses the prime
    (injected: it redacts nothing), and the re-scan of the result must refuse to certify it."""
    import sys

    module = sys.modules["signward.dumps.sanitize"]  # the package's `sanitize` name is the function
    path = image(tmp_path / "img", 1 << 20, {4096: le(NUMBERS.p, 128)})
    monkeypatch.setattr(module, "redaction_ranges", lambda findings, layout: [])
    with pytest.raises(DumpRefused) as refusal:
        sanitize(path, tmp_path / "out", Home(tmp_path / "home"), known(RSA))
    assert refusal.value.reason == "residue"
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.attestation.json").exists()


def test_narrowed_detectors_redact_less_but_the_rescan_runs_every_detector(tmp_path: Path) -> None:
    """Regression (newcomer report): `--detectors aes` certified a dump that still held a prime."""
    path = image(tmp_path / "img", 1 << 20, {4096: le(NUMBERS.p, 128)})
    with pytest.raises(DumpRefused) as refusal:
        sanitize(path, tmp_path / "out", Home(tmp_path / "home"), known(RSA), detectors="aes")
    assert refusal.value.reason == "residue" and not (tmp_path / "out").exists()
    result = sanitize(path, tmp_path / "out", Home(tmp_path / "home"), known(RSA), detectors="known-key")
    attestation = verify_attestation(tmp_path / "out", Home(tmp_path / "home")).attestation
    assert attestation is not None and list(attestation["detectors"]) == ["known-key"]
    assert set(attestation["residue_detectors"]) == {"text", "der", "known-key", "unknown-rsa", "aes", "har"}
    assert result.key_id == attestation["key_id"]


def test_an_output_path_that_is_not_ours_is_never_replaced_or_removed(tmp_path: Path) -> None:
    """Regressions: `-o /dev/null` or a FIFO was replaced by the dump; a refused sanitize deleted
    whatever unrelated file stood at OUT; the attestation temp file and the lock file followed
    planted symlinks and overwrote their targets."""
    dirty = image(tmp_path / "dirty.raw", 1 << 16, {4096: le(NUMBERS.p, 128)})
    home = Home(tmp_path / "home")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(DumpFormatError, match="not a regular file"):
        sanitize(dirty, fifo, home, known(RSA))
    theirs = tmp_path / "theirs.txt"
    theirs.write_text("someone's notes")
    with pytest.raises(DumpFormatError, match="not an attested output"):
        sanitize(dirty, theirs, home, known(RSA))
    assert theirs.read_text() == "someone's notes"
    victim = tmp_path / "victim"
    victim.write_text("precious")
    out = tmp_path / "out"
    (tmp_path / ".out.lock").symlink_to(victim)
    with pytest.raises(DumpFormatError, match="lock file"):
        sanitize(dirty, out, home, known(RSA))
    (tmp_path / ".out.lock").unlink()
    (tmp_path / "out.attestation.json").symlink_to(victim)
    with pytest.raises(UsageError, match="not a regular file"):
        sanitize(dirty, out, home, known(RSA))
    assert victim.read_text() == "precious" and not out.exists()


def test_a_dump_without_the_canary_is_refused_canary_missed_and_for_nothing_else(canary_file: Path,
                                                                                 tmp_path: Path) -> None:
    """The canary check's own case, in a small image: a dump that holds no canary representation
    (a scanner blind on it, or a process that never loaded the material) is refused
    `canary_missed`, naming every representation; the same image without a canary is clean, so no
    other rule refuses it. (The crashed canary process with detectors switched off is the test
    above; this one judges the check's mutant in a second.)"""
    clean = image(tmp_path / "clean.raw", 1 << 16, {})
    assert sanitize(clean, tmp_path / "plain.core", Home(tmp_path / "home")).status == "clean"
    canary = Canary.load(canary_file)
    out = tmp_path / "out.core"
    with pytest.raises(DumpRefused) as refusal:
        sanitize(clean, out, Home(tmp_path / "home"), canary=canary)
    assert refusal.value.reason == "canary_missed"
    assert refusal.value.detail == ", ".join(sorted(canary.expected()))
    assert not out.exists() and not (tmp_path / "out.core.attestation.json").exists()
