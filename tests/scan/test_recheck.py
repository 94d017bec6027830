"""The independent reader (signward.scan.recheck) and its two hooks: the sanitizer's certification
and the debugging store's intake. Artifacts are written the way hostile or ordinary third-party
writers write them (PHP's json_encode, `tar -C dir .`, zip comments, truncated streams)."""

from __future__ import annotations

import base64
import bz2
import gzip
import io
import json
import lzma
import sys
import tarfile
import urllib.parse
import zipfile
from pathlib import Path

import lz4.frame
import pytest
import zstandard
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, Encoding, NoEncryption, PrivateFormat

from signward.dumps import DumpReason, FileReport, sanitize
from signward.dumps.debugstore import DebugStore
from signward.errors import DumpRefused
from signward.home import Home
from signward.scan.recheck import Budget, recheck_bytes, recheck_path
from tests.scan.material import EC, ED, RSA, known
from tests.scan.planting import image

KNOWN = known(RSA, EC, ED)
EC_PEM = EC.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
RSA_DER = RSA.private_bytes(Encoding.DER, PrivateFormat.TraditionalOpenSSL, NoEncryption())
SCALAR = EC.private_numbers().private_value.to_bytes(32, "big")


def _tar(members: dict[str, bytes], pax: dict[str, str] | None = None, mode: str = "w") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode, format=tarfile.PAX_FORMAT, pax_headers=pax or {}) as archive:  # type: ignore[call-overload]
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _zip(members: dict[str, bytes], comment: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        archive.comment = comment
    return buffer.getvalue()


def _har(content: dict[str, object]) -> bytes:
    return json.dumps({"log": {"version": "1.2", "entries": [{"request": {"url": "https://x/"},
                                                              "response": {"content": content}}]}}).encode()


HIDDEN = {
    "php-json-escapes": _har({"text": EC_PEM.decode()}).replace(b"/", b"\\/"),
    "every-char-u-escaped": b'{"t":"' + "".join(f"\\u{c:04x}" for c in EC_PEM).encode() + b'"}',
    "har-base64-body": _har({"encoding": "base64", "text": base64.b64encode(EC_PEM).decode()}),
    "har-base64-gzip-body": _har({"encoding": "base64", "text": base64.b64encode(gzip.compress(RSA_DER)).decode()}),
    "percent-encoded-query": b"GET /?key=" + urllib.parse.quote(EC_PEM.decode(), safe="").encode() + b" HTTP/1.1",
    "utf16le-in-binary": b"\x00\x01" * 50 + EC_PEM.decode().encode("utf-16-le") + b"\xff" * 40,
    "hex-der": b"blob=" + RSA_DER.hex().encode(),
    "base64url-scalar": b"d=" + base64.urlsafe_b64encode(SCALAR).rstrip(b"="),
    "little-endian-hex-scalar": b"x " + SCALAR[::-1].hex().encode() + b" y",
    "jwk-with-d": b"noise {" + json.dumps({"kty": "OKP", "crv": "Ed25519", "x": "AA", "d": base64.urlsafe_b64encode(
        ED.private_bytes_raw()).decode().rstrip("=")}).encode()[1:] + b" noise",
    "openssh": ED.private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption()),
    "encrypted-pkcs8": EC.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(b"pw")),
    "tar-dot-slash-member": _tar({"./keys/server.pem": EC_PEM}),
    "tar-gz-double-slash": _tar({"a//b/./key.der": RSA_DER}, mode="w:gz"),
    "tar-pax-header": _tar({"x.txt": b"hello"}, pax={"comment": EC_PEM.decode()}),
    "zip-comment": _zip({"x.txt": b"hello"}, comment=EC_PEM),
    "zip-after-end": _zip({"x.txt": b"hello"}) + RSA_DER,
    "zip-in-tar-xz": lzma.compress(_tar({"inner.zip": _zip({"./k.pem": EC_PEM})})),
    "bz2-member": _tar({"k.bz2": bz2.compress(RSA_DER)}),
    "lz4-zst": zstandard.ZstdCompressor().compress(lz4.frame.compress(EC_PEM)),
}


@pytest.mark.parametrize("name", sorted(HIDDEN))
def test_the_independent_reader_finds_a_key_in_every_layer(name: str) -> None:
    report = recheck_bytes(HIDDEN[name], KNOWN, name)
    assert report.findings, f"{name}: nothing found ({report.summary()})"


def test_the_finding_names_the_key_and_the_view() -> None:
    report = recheck_bytes(HIDDEN["tar-dot-slash-member"], KNOWN, "bundle")
    assert any(f.kind == "pem" and "./keys/server.pem" in f.view and "known kid" in f.key for f in report.findings)


CLEAN = {
    "libcrypto-strings": b"\x00-----BEGIN PRIVATE KEY-----\x00-----END PRIVATE KEY-----\x00" * 4,
    "public-key-pem": EC.public_key().public_bytes(Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
    "text": b"the quick brown fox jumps over the lazy dog " * 200,
    "har-without-keys": _har({"text": "hello", "encoding": "base64"}),
    "tar": _tar({"./a.txt": b"nothing to see"}),
}


@pytest.mark.parametrize("name", sorted(CLEAN))
def test_artifacts_without_private_keys_read_clean(name: str) -> None:
    report = recheck_bytes(CLEAN[name], KNOWN, name)
    assert report.clean, report.summary()


TRUNCATED = {
    "zst": zstandard.ZstdCompressor().compress(EC_PEM * 40)[:-9],
    "gzip": gzip.compress(EC_PEM * 40)[:-9],
    "xz": lzma.compress(EC_PEM * 40)[:-9],
    "bz2": bz2.compress(EC_PEM * 40)[:-9],
    "lz4": lz4.frame.compress(EC_PEM * 40)[:-9],
    "tar": _tar({"a.bin": b"\x01" * 5000})[:3000],
}


@pytest.mark.parametrize("codec", sorted(TRUNCATED))
def test_a_layer_that_does_not_read_to_its_end_is_incomplete_never_clean(codec: str) -> None:
    report = recheck_bytes(TRUNCATED[codec], KnownEmpty(), codec)
    assert not report.findings and report.incomplete, report.summary()


def KnownEmpty():  # type: ignore[no-untyped-def]
    from signward.dumps import KnownKeys

    return KnownKeys()


def test_an_exhausted_budget_is_incomplete() -> None:
    nested = EC_PEM
    for _ in range(5):
        nested = base64.b64encode(gzip.compress(nested))
    assert recheck_bytes(nested, KNOWN).findings  # five layers deep: found
    report = recheck_bytes(nested, KNOWN, budget=Budget(max_depth=3))
    assert report.incomplete and "deeper" in report.incomplete[0]
    bomb = gzip.compress(b"\x00" * (8 << 20))
    report = recheck_bytes(bomb, KNOWN, budget=Budget(max_decoded_bytes=1 << 20))
    assert report.incomplete and "budget" in report.incomplete[0]


# ---- the hooks: the scanner made blind (injected), so only the independent reader can refuse


def _blind_scanner(monkeypatch: pytest.MonkeyPatch, module_name: str) -> None:
    """The scanner as if every detector missed: the real walk (members and all), with only the
    advisory entropy detector, whose findings no refusal counts."""
    module = sys.modules[module_name]
    real = module.scan_path

    def blind(path: object, detectors: object = None, *args: object, **kwargs: object) -> FileReport:
        return real(path, "entropy", *args, **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr(module, "scan_path", blind)
    if hasattr(module, "scan_plain"):
        monkeypatch.setattr(module, "scan_plain", lambda *args, **kwargs: ([], []))


def test_sanitize_refuses_what_only_the_independent_reader_sees(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A common-mode failure of the scanner (its scan and its residue re-scan both blind) is still
    refused: the certification re-reads the output with the independent reader. Here the member
    patch (below) is made unable to fix the member, as for a finding with no exact raw span or in
    protected bytes, so only the certification stands between the key and the output."""
    _blind_scanner(monkeypatch, "signward.dumps.sanitize")
    monkeypatch.setattr(sys.modules["signward.dumps.sanitize"], "_patch_from_reader", lambda *args: 0)
    path = tmp_path / "bundle.tar"
    path.write_bytes(_tar({"notes.txt": b"hello", "keys/k.txt": b"d=" + base64.urlsafe_b64encode(SCALAR)}))
    with pytest.raises(DumpRefused) as refusal:
        sanitize(path, tmp_path / "out", Home(tmp_path / "home"), known(EC))
    assert refusal.value.reason == DumpReason.RECHECK
    assert "EC scalar" in refusal.value.detail
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.attestation.json").exists()


def test_a_bundle_member_image_is_patched_from_the_reader_and_the_bundle_read_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A key only the independent reader sees, in an image member of a bundle: its whole raw run is
    overwritten in the member (as in a top-level image), and the new bundle is read again before
    it is certified; the scalar is in no form in the output."""
    _blind_scanner(monkeypatch, "signward.dumps.sanitize")
    path = tmp_path / "bundle.tar"
    encoded = base64.urlsafe_b64encode(SCALAR)
    path.write_bytes(_tar({"notes.txt": b"hello", "keys/k.txt": b"d=" + encoded}))
    result = sanitize(path, tmp_path / "out", Home(tmp_path / "home"), known(EC))
    assert result.status == "clean" and result.redacted_bytes >= len(encoded)
    output = (tmp_path / "out").read_bytes()
    assert encoded not in output and SCALAR not in output
    assert recheck_path(tmp_path / "out", known(EC)).findings == []


@pytest.mark.parametrize("compressed", [False, True])
def test_in_an_image_the_whole_run_the_reader_decoded_is_redacted_then_read_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compressed: bool) -> None:
    """An image (a core) with a base64url scalar and a little-endian one the scanner was made blind
    to: the independent reader maps each finding back to the raw bytes that encode it (the whole
    base64 run, the window), those are overwritten, and the result is read again before it is
    certified."""
    _blind_scanner(monkeypatch, "signward.dumps.sanitize")
    run = base64.urlsafe_b64encode(SCALAR)
    path = image(tmp_path / "img", 1 << 16, {4096: b"d=" + run, 9000: SCALAR[::-1]})
    if compressed:
        packed = tmp_path / "img.zst"
        packed.write_bytes(zstandard.ZstdCompressor().compress(path.read_bytes()))
        path = packed
    result = sanitize(path, tmp_path / "out", Home(tmp_path / "home"), known(EC))
    assert result.status == "clean" and result.redacted_bytes >= len(run) + len(SCALAR)
    output = (tmp_path / "out").read_bytes()
    plain = zstandard.ZstdDecompressor().decompress(output, max_output_size=1 << 20) if compressed else output
    assert run not in plain and SCALAR[::-1] not in plain and b"d=" in plain
    assert recheck_path(tmp_path / "out", known(EC)).clean


def _nested(data: bytes, layers: int) -> bytes:
    for _ in range(layers):
        data = base64.b64encode(gzip.compress(data))
    return data


def test_sanitize_refuses_an_output_layer_the_independent_reader_cannot_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Harmless text nested deeper than the reader's bound (its depth made 2 here, so a small
    image shows it): nothing the scanner looks at is wrong, the reader cannot account for the
    layer, and sanitize refuses rather than certify what was not read."""
    from signward.scan import recheck as reader

    module = sys.modules["signward.dumps.sanitize"]  # the module (the package's name is the function)
    monkeypatch.setattr(module, "recheck_path", lambda path, known=None, **named: reader.recheck_path(
        path, known, Budget(max_depth=2), **named))
    path = image(tmp_path / "img", 1 << 16, {4096: _nested(b"nothing secret here, only words " * 40, 4)})
    with pytest.raises(DumpRefused) as refusal:
        sanitize(path, tmp_path / "out", Home(tmp_path / "home"), known(EC))
    assert refusal.value.reason == DumpReason.RECHECK_INCOMPLETE
    assert not (tmp_path / "out").exists()


def test_the_lab_switch_skips_the_certification_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`insecure_skip_residue_rescan` (the lab's 2021 sanitizer) certifies unchecked, as it did."""
    _blind_scanner(monkeypatch, "signward.dumps.sanitize")
    path = image(tmp_path / "img", 1 << 16, {4096: b"d=" + base64.urlsafe_b64encode(SCALAR)})
    result = sanitize(path, tmp_path / "out", Home(tmp_path / "home"), known(EC), insecure_skip_residue_rescan=True)
    assert result.status == "clean" and base64.urlsafe_b64encode(SCALAR) in (tmp_path / "out").read_bytes()


def _store(tmp_path: Path, rescan: bool = True) -> DebugStore:
    store = DebugStore(tmp_path / "store", rescan=rescan)
    store.publish_keys([json.loads(json.dumps({"keys": [_jwk(EC)]}))])
    return store


def _jwk(key: object) -> dict[str, object]:
    from joserfc.jwk import ECKey

    return dict(ECKey.import_key(key.public_key()).as_dict(private=False))  # type: ignore[attr-defined]


def test_the_store_refuses_what_only_the_independent_reader_sees(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The bundle `tar -C dir .` writes (members named ./...), the scanner injected blind: the
    store's intake still refuses, naming the independent reader."""
    _blind_scanner(monkeypatch, "signward.dumps.debugstore")
    store = _store(tmp_path)
    staged = store.staging() / "d1"
    staged.write_bytes(_tar({"./keys/server.pem": EC_PEM}, mode="w:gz"))
    with pytest.raises(DumpRefused) as refusal:
        store.receive("d1", staged)
    assert refusal.value.reason == DumpReason.STORE_RESCAN
    assert "independent reader" in refusal.value.detail and "ECPrivateKey" in refusal.value.detail
    assert not staged.exists() and not (tmp_path / "store" / "dumps" / "d1.core").exists()


def test_the_store_refuses_a_truncated_stream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _blind_scanner(monkeypatch, "signward.dumps.debugstore")
    store = _store(tmp_path)
    staged = store.staging() / "d2"
    from signward.scan import recheck as reader

    # harmless text nested past the reader's bound (made 2 here): only the reader cannot account for it
    monkeypatch.setattr("signward.dumps.debugstore.recheck_path",
                        lambda path, known=None: reader.recheck_path(path, known, Budget(max_depth=2)))
    staged.write_bytes(bytes(4096) + _nested(b"nothing secret here, only words " * 40, 4) + bytes(4096))
    with pytest.raises(DumpRefused) as refusal:
        store.receive("d2", staged)
    assert refusal.value.reason == DumpReason.STORE_RESCAN and "incomplete" in refusal.value.detail


def test_the_store_keeps_a_clean_bundle_and_its_insecure_switch_still_works(tmp_path: Path) -> None:
    store = _store(tmp_path)
    staged = store.staging() / "ok"
    staged.write_bytes(_tar({"./notes.txt": b"nothing secret"}, mode="w:gz"))
    store.receive("ok", staged)
    assert store.open("ok").is_file()
    lax = _store(tmp_path / "lax", rescan=False)  # dumps.insecure_skip_store_rescan: takes what it is given
    staged = lax.staging() / "bad"
    staged.write_bytes(_tar({"./keys/server.pem": EC_PEM}))
    lax.receive("bad", staged)
    assert lax.open("bad").is_file()


def test_recheck_path_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "bundle.zip"
    path.write_bytes(HIDDEN["zip-comment"])
    assert recheck_path(path, KNOWN).findings
    (tmp_path / "empty").write_bytes(b"")
    assert recheck_path(tmp_path / "empty", KNOWN).clean


@pytest.mark.parametrize("form", [PrivateFormat.PKCS8, PrivateFormat.TraditionalOpenSSL])
@pytest.mark.parametrize("key", [RSA, EC, ED], ids=["rsa", "ec", "ed25519"])
def test_a_private_key_nobody_published_is_found_by_loading_its_der(key: object, form: PrivateFormat) -> None:
    """No known key to compare with: a DER private key (PKCS#8, PKCS#1, SEC1) is found because it
    loads, also base64-encoded inside other text."""
    if key is ED and form is PrivateFormat.TraditionalOpenSSL:
        pytest.skip("Ed25519 has no traditional form")
    der = key.private_bytes(Encoding.DER, form, NoEncryption())  # type: ignore[attr-defined]
    for artifact in (b"\x00" * 40 + der + b"\x00" * 40, b"k: " + base64.b64encode(der) + b"\n"):
        report = recheck_bytes(artifact, KnownEmpty())
        assert {f.kind for f in report.findings} == {"der"}, report.summary()
