"""`signward dumps`: exit codes, one JSON document, SARIF, the canary command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.scan.material import NUMBERS, RSA
from tests.scan.planting import image, le


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "signward", *args], capture_output=True, text=True, timeout=300)


def _keys(tmp_path: Path) -> Path:
    from cryptography.hazmat.primitives import serialization

    path = tmp_path / "public.pem"
    path.write_bytes(RSA.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo))
    return path


def test_scan_json_shape_and_exit_codes(tmp_path: Path) -> None:
    dirty = image(tmp_path / "dirty.raw", 1 << 20, {8192: le(NUMBERS.p, 128)})
    clean = image(tmp_path / "clean.raw", 1 << 20, {})
    done = run("dumps", "scan", str(dirty), str(clean), "--keys", str(_keys(tmp_path)), "--json")
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    first, second = document["files"]
    assert set(first) >= {"file", "format", "bytes", "seconds", "findings"}
    finding = next(f for f in first["findings"] if f["kind"] == "rsa-prime")
    assert {k: finding[k] for k in ("offset", "length", "vaddr", "detector", "encoding", "verified")} == {
        "offset": 8192, "length": 128, "vaddr": None, "detector": "known-key", "encoding": "le", "verified": True}
    assert finding["kid"]
    assert second["findings"] == []
    assert run("dumps", "scan", str(clean), "--json").returncode == 0


def test_scan_sarif(tmp_path: Path) -> None:
    dirty = image(tmp_path / "dirty.raw", 1 << 20, {8192: le(NUMBERS.p, 128)})
    done = run("dumps", "scan", str(dirty), "--keys", str(_keys(tmp_path)), "--sarif")
    assert done.returncode == 1
    sarif = json.loads(done.stdout)
    assert sarif["version"] == "2.1.0" and sarif["$schema"].endswith("sarif-2.1.0.json")
    (run_,) = sarif["runs"]
    rule_ids = {rule["id"] for rule in run_["tool"]["driver"]["rules"]}
    result = next(r for r in run_["results"] if r["ruleId"] == "known-key/rsa-prime")
    assert result["ruleId"] in rule_ids and result["level"] == "error"
    assert result["locations"][0]["physicalLocation"]["region"] == {"byteOffset": 8192, "byteLength": 128}


def test_bad_usage_is_2(tmp_path: Path) -> None:
    clean = image(tmp_path / "clean.raw", 4096, {})
    for args in (("--detectors", "nope"), ("--keys", str(tmp_path / "missing.jwks")), ("--json", "--sarif")):
        done = run("dumps", "scan", str(clean), *args)
        assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_canary_sanitize_and_verify_attestation_commands(tmp_path: Path) -> None:
    canary = tmp_path / "canary.json"
    assert run("dumps", "canary", "-o", str(canary)).returncode == 0
    assert oct(canary.stat().st_mode & 0o777) == "0o600"
    assert run("dumps", "canary", "-o", str(canary)).returncode == 2  # never overwritten
    dirty = image(tmp_path / "dirty.raw", 1 << 20, {8192: le(NUMBERS.p, 128)})
    home = ["--home", str(tmp_path / "home")]
    no_home = run(*home, "dumps", "sanitize", str(dirty), "-o", str(tmp_path / "out"), "--keys", str(_keys(tmp_path)))
    assert no_home.returncode == 2 and "give --home" in no_home.stderr  # no home is made implicitly
    assert not (tmp_path / "home").exists() and not (tmp_path / "out").exists()
    assert run(*home, "init").returncode == 0
    refused = run(*home, "dumps", "sanitize", str(dirty), "-o", str(tmp_path / "out"), "--canary", str(canary),
                  "--json")
    assert refused.returncode == 1
    assert json.loads(refused.stdout)["reason"] == "canary_missed"
    assert not (tmp_path / "out").exists()
    done = run(*home, "dumps", "sanitize", str(dirty), "-o", str(tmp_path / "out"), "--keys", str(_keys(tmp_path)),
               "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "clean"
    assert run(*home, "dumps", "verify-attestation", str(tmp_path / "out")).returncode == 0
    assert run("--home", str(tmp_path / "other-home"), "dumps", "verify-attestation",
               str(tmp_path / "out")).returncode == 1


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    import io
    import zipfile

    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return packed.getvalue()


def _tar_gz(entries: list[tuple[str, bytes]]) -> bytes:
    import gzip
    import io
    import tarfile

    packed = io.BytesIO()
    with tarfile.open(fileobj=packed, mode="w") as archive:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(packed.getvalue())


def test_reports_and_errors_name_the_users_file_and_member_never_a_private_copy(tmp_path: Path) -> None:
    """The CLI works on nameless copies (/proc/self/fd/N): a report, an error, a refusal and
    the pipeline's record name the path the user gave and the member inside a bundle."""
    import gzip

    from cryptography.hazmat.primitives import serialization

    def in_dir(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "signward", *args], capture_output=True, text=True,
                              timeout=300, cwd=tmp_path)

    pem = RSA.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    body = b"A" * 1000 + pem + b"B" * 1000
    # a key two compressed layers down: the inner bundle is scanned from a private copy of a copy
    (tmp_path / "bundle.zip").write_bytes(_zip([("nested.tar.gz", _tar_gz([("logs/app.txt", body)]))]))
    scanned = in_dir("dumps", "scan", "bundle.zip", "--json", "--workers", "1")
    assert scanned.returncode == 1, scanned.stderr
    (top,) = json.loads(scanned.stdout)["files"]
    nested = next(m for m in top["members"] if m["file"] == "bundle.zip!nested.tar.gz")
    assert [m["file"] for m in nested["members"]] == ["bundle.zip!nested.tar.gz!logs/app.txt",
                                                      "bundle.zip!nested.tar.gz!(outside members)"]
    assert nested["members"][0]["findings"]
    text = in_dir("dumps", "scan", "bundle.zip", "--workers", "1")
    assert "bundle.zip!nested.tar.gz!logs/app.txt (raw" in text.stdout
    # a member cut short inside a bundle: only the truncation rule can refuse it
    (tmp_path / "cut.zip").write_bytes(_zip([("ok.txt", b"hello"), ("sub/core.gz", gzip.compress(body)[:-30])]))
    expected = "cut.zip!sub/core.gz: the gzip stream ends inside a frame (cut short) [truncated]"
    for command in (("dumps", "scan", "cut.zip"), ("dumps", "scan", "cut.zip", "--json")):
        done = in_dir(*command)
        assert (done.returncode, done.stderr) == (2, f"signward: {expected}\n")
    (tmp_path / "top.gz").write_bytes(gzip.compress(body)[:-30])  # no member: the file itself is named
    done = in_dir("dumps", "scan", "top.gz")
    assert (done.returncode, done.stderr) == (
        2, "signward: top.gz: the gzip stream ends inside a frame (cut short) [truncated]\n")
    home = str(tmp_path / "home")
    assert in_dir("--home", home, "init").returncode == 0
    sanitized = in_dir("--home", home, "dumps", "sanitize", "cut.zip", "-o", "out.zip", "--json")
    assert (sanitized.returncode, sanitized.stderr) == (2, f"signward: {expected}\n")
    captured = in_dir("--home", home, "dumps", "capture", "--file", "cut.zip", "--json")
    assert captured.returncode == 1
    assert {k: json.loads(captured.stdout)[k] for k in ("reason", "detail")} == {"reason": "unreadable",
                                                                                  "detail": expected}
    listed = in_dir("--home", home, "dumps", "list", "--json")
    assert [(d["reason"], d["detail"]) for d in json.loads(listed.stdout)["dumps"]] == [("unreadable", expected)]
    for done in (scanned, text, sanitized, captured, listed):
        assert "/proc/" not in done.stdout + done.stderr
