"""Key files of other tools (issue #32): the ssh.com private key armour, PuTTY .ppk, Java keystores,
PKCS#12 under a well-known password, zip64 and data-descriptor archives. Each is found by the
scanner and by the independent reader, each by its own rule, in a case no other rule could find
(no known keys; the scanner with the one detector that owns the rule)."""

from __future__ import annotations

import base64
import datetime
import io
import json
import os
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from signward.dumps import sanitize, scan_path
from signward.home import Home
from signward.scan.coverage import CoverageError, Uncovered
from signward.scan.detectors.der import MAX_PKCS12_ITERATIONS, MAX_PKCS12_OPENED, UNREADABLE, _costliest_derivation
from signward.scan.recheck import Budget, recheck_bytes
from signward.scan.recheck_keyfiles import MAX_ITERATIONS
from tests.scan.keyfiles import keystore, ppk, protected_key, sshcom, sshcom_public
from tests.scan.material import RSA, known


def _scan(tmp_path: Path, data: bytes, detectors: str, name: str = "artifact") -> set[str]:
    path = tmp_path / name
    path.write_bytes(data)
    return {f.kind for f in scan_path(path, detectors).findings}


def _reader(data: bytes) -> set[str]:
    return {f.kind for f in recheck_bytes(data).findings}


def _har(text: bytes, base64_body: bool) -> bytes:
    content: dict[str, object] = {"size": len(text), "mimeType": "application/octet-stream",
                                  "text": (base64.b64encode(text) if base64_body else text).decode()}
    if base64_body:
        content["encoding"] = "base64"
    entry = {"startedDateTime": "2026-12-06T07:00:00.000Z", "time": 1,
             "request": {"method": "GET", "url": "https://app.example/key", "httpVersion": "HTTP/1.1", "headers": [],
                         "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},
             "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "headers": [], "cookies": [],
                          "content": content, "redirectURL": "", "headersSize": -1,
                          "bodySize": len(text)},
             "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}}
    log = {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": [entry]}
    return json.dumps({"log": log}).encode()


# ---- the ssh.com (SECSH) private key armour

@pytest.mark.parametrize("wrap", ["raw", "json"])
def test_the_sshcom_private_key_armour_is_found_by_both_readers(tmp_path: Path, wrap: str) -> None:
    armour = sshcom(RSA)
    data = armour if wrap == "raw" else json.dumps({"key": armour.decode()}).encode()
    assert _scan(tmp_path, data, "text") == {"sshcom-private-key"}
    assert _reader(data) == {"sshcom"}
    (finding,) = [f for f in recheck_bytes(armour).findings]
    assert finding.key == "ssh.com private key (cipher none)" and finding.span == (0, len(armour) - 1)


def test_an_encrypted_sshcom_key_is_a_finding_too(tmp_path: Path) -> None:
    armour = sshcom(RSA, cipher=b"3des-cbc")
    assert _scan(tmp_path, armour, "text") == {"sshcom-private-key-encrypted"}
    assert [f.key for f in recheck_bytes(armour).findings] == ["ssh.com private key (cipher 3des-cbc)"]


def test_the_rfc4716_public_key_armour_is_not_a_finding(tmp_path: Path) -> None:
    public = sshcom_public(RSA)
    assert _scan(tmp_path, public, "text,der") == set()
    assert recheck_bytes(public).clean


@pytest.mark.skipif(shutil.which("puttygen") is None, reason="puttygen (putty-tools) is not installed")
def test_puttygens_own_sshcom_export_is_found(tmp_path: Path) -> None:
    subprocess.run(["puttygen", "-t", "rsa", "-b", "1024", "-o", str(tmp_path / "k.ppk"),
                    "--new-passphrase", "/dev/null"], check=True, capture_output=True)
    subprocess.run(["puttygen", str(tmp_path / "k.ppk"), "-O", "private-sshcom", "-o", str(tmp_path / "k.sshcom")],
                   check=True, capture_output=True)
    data = (tmp_path / "k.sshcom").read_bytes()
    assert _scan(tmp_path, data, "text") == {"sshcom-private-key"}
    assert _reader(data) == {"sshcom"}


# ---- PuTTY .ppk, unencrypted

WRAPS: dict[str, Callable[[bytes], bytes]] = {
    "raw": lambda b: b, "json": lambda b: json.dumps({"key": b.decode()}).encode(),
    "har-text": lambda b: _har(b, False), "har-base64": lambda b: _har(b, True)}


@pytest.mark.parametrize("version", [2, 3])
@pytest.mark.parametrize("wrap", sorted(WRAPS))
def test_an_unencrypted_ppk_is_found_by_both_readers(tmp_path: Path, version: int, wrap: str) -> None:
    data = WRAPS[wrap](ppk(RSA, version))
    assert _scan(tmp_path, data, "text") == {"putty-private-key"}
    findings = recheck_bytes(data).findings
    assert {f.kind for f in findings} == {"putty"}
    assert f"PuTTY key file v{version} (ssh-rsa, encryption none)" in {f.key for f in findings}


def test_the_reader_spans_the_whole_ppk(tmp_path: Path) -> None:
    text = ppk(RSA, 3)
    data = b"log line\n" + text + b"more\n"
    (finding,) = recheck_bytes(data).findings
    assert finding.span == (9, 9 + len(text))


def test_a_har_with_a_ppk_in_a_base64_body_is_sanitized_to_nothing_recoverable(tmp_path: Path) -> None:
    path = tmp_path / "session.har"
    path.write_bytes(_har(ppk(RSA, 3), True))
    result = sanitize(path, tmp_path / "out.har", Home(tmp_path / "home"), detectors="text,der,har")
    assert result.status == "clean" and result.redacted_bytes > 0
    output = (tmp_path / "out.har").read_bytes()
    assert recheck_bytes(output).clean and b"PuTTY" not in base64.b64decode(
        json.loads(output)["log"]["entries"][0]["response"]["content"]["text"].replace("x", "A"))


@pytest.mark.skipif(shutil.which("puttygen") is None, reason="puttygen (putty-tools) is not installed")
@pytest.mark.parametrize("version", [2, 3])
def test_puttygens_own_ppk_is_found(tmp_path: Path, version: int) -> None:
    subprocess.run(["puttygen", "-t", "ed25519", "-o", str(tmp_path / "k.ppk"), "--new-passphrase", "/dev/null",
                    "--ppk-param", f"version={version}"], check=True, capture_output=True)
    data = (tmp_path / "k.ppk").read_bytes()
    assert data.startswith(b"PuTTY-User-Key-File-%d: ssh-ed25519" % version)
    assert _scan(tmp_path, data, "text") == {"putty-private-key"}
    assert _reader(json.dumps([data.decode()]).encode()) == {"putty"}


# ---- Java keystores: JKS and JCEKS

def _certificate() -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "t")])
    now = datetime.datetime(2026, 12, 6, tzinfo=datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(RSA.public_key())
                   .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=30))
                   .sign(RSA, hashes.SHA256()))
    return certificate.public_bytes(serialization.Encoding.DER)


CERTIFICATE = _certificate()
SEALED = b"\xac\xed\x00\x05sr\x003com.sun.crypto.provider.SealedObjectForKeyProtector" + os.urandom(300)


@pytest.mark.parametrize("store", ["jks", "jceks"])
def test_a_java_keystore_with_a_private_key_is_found_by_both_readers(tmp_path: Path, store: str) -> None:
    jceks = store == "jceks"
    data = keystore(jceks, [(2, b""), (1, protected_key(jceks))], CERTIFICATE)
    assert _scan(tmp_path, data, "der") == {f"{store}-keystore-private-key", f"{store}-protected-key"}
    findings = recheck_bytes(data).findings
    assert {(f.key, f.span) for f in findings if "holding" in f.key} == {
        (f"{store.upper()} keystore holding a private key", (0, len(data)))}


def test_a_jceks_secret_key_is_found_by_the_store_walk(tmp_path: Path) -> None:
    """A JCEKS secret key (a serialized SealedObject, no DER): only the store walk finds it."""
    data = keystore(True, [(3, SEALED)], CERTIFICATE)
    assert _scan(tmp_path, data, "der") == {"jceks-keystore-secret-key"}
    assert [f.key for f in recheck_bytes(data).findings] == ["JCEKS keystore holding a secret key"]


@pytest.mark.parametrize("store", ["jks", "jceks"])
def test_a_protected_key_outside_its_store_is_found_by_its_protector(tmp_path: Path, store: str) -> None:
    """The protected key alone (a keystore's bytes in a heap): no store walk can find it."""
    key = protected_key(store == "jceks")
    data = os.urandom(3000) + key + os.urandom(3000)
    assert _scan(tmp_path, data, "der") == {f"{store}-protected-key"}
    (finding,) = recheck_bytes(data).findings
    assert finding.key == "Java keystore's protected private key" and finding.span == (3000, 3000 + len(key))


@pytest.mark.parametrize("jceks", [False, True])
def test_a_truststore_is_not_a_finding(tmp_path: Path, jceks: bool) -> None:
    data = keystore(jceks, [(2, b""), (2, b"")], CERTIFICATE)
    assert _scan(tmp_path, data, "der") == set()
    assert recheck_bytes(data).clean


@pytest.mark.skipif(shutil.which("keytool") is None, reason="no JDK (keytool) installed")
def test_keytools_own_keystores_are_found(tmp_path: Path) -> None:
    for store, command in (("jks", "-genkeypair"), ("jceks", "-genseckey"), ("pkcs12", "-genseckey")):
        path = tmp_path / f"k.{store}"
        extra = (["-keyalg", "EC", "-dname", "CN=t"] if command == "-genkeypair"
                 else ["-keyalg", "AES", "-keysize", "128"])
        subprocess.run(["keytool", command, "-alias", "k", *extra, "-storetype", store.upper(), "-keystore", str(path),
                        "-storepass", "changeit", "-keypass", "changeit", "-noprompt"], check=True, capture_output=True)
        data = path.read_bytes()
        if store == "pkcs12":  # an AES key in a secretBag, which `cryptography` does not return
            assert "pkcs12" in _scan(tmp_path, data, "der", name="scan.p12")  # opened, no key: flagged
            assert [f.key for f in recheck_bytes(data).findings] == [
                "PKCS#12 file under the password 'changeit' with a secret or encrypted bag"]
            continue
        expected = ({"jks-keystore-private-key", "jks-protected-key"} if store == "jks"
                    else {"jceks-keystore-secret-key"})
        assert _scan(tmp_path, data, "der", name=f"scan.{store}") == expected
        assert {f.kind for f in recheck_bytes(data).findings} == {"keystore"}


# ---- PKCS#12: opened with the well-known passwords

def _pfx(password: bytes | None, rounds: int = 2048, key: bool = True) -> bytes:
    certificate = x509.load_der_x509_certificate(CERTIFICATE)
    if password is None:
        encryption: serialization.KeySerializationEncryption = serialization.NoEncryption()
    else:
        encryption = (serialization.PrivateFormat.PKCS12.encryption_builder().kdf_rounds(rounds)
                      .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC).hmac_hash(hashes.SHA256())
                      .build(password))
    if not key:
        return pkcs12.serialize_key_and_certificates(b"t", None, None, [certificate], encryption)
    return pkcs12.serialize_key_and_certificates(b"t", RSA, certificate, None, encryption)


@pytest.mark.parametrize("password", [b"changeit", b"password"])  # the empty one: openssl's, below
def test_a_pkcs12_file_under_a_well_known_password_is_opened_by_the_reader(tmp_path: Path, password: bytes) -> None:
    data = _pfx(password)
    assert "pkcs12-well-known-password" in _scan(tmp_path, data, "der")
    keys = known(RSA)
    (finding,) = recheck_bytes(data, keys).findings  # the key is encrypted: no other rule reads it
    kid = next(iter(keys.of_kind("rsa"))).kid
    said = f"the password {password.decode()!r}"
    assert (finding.kind, finding.key) == ("pkcs12", f"RSAPrivateKey (known kid {kid}) in a PKCS#12 file under {said}")
    assert finding.span == (0, len(data))


def test_the_scanner_opens_a_pkcs12_file_under_a_well_known_password(tmp_path: Path) -> None:
    path = tmp_path / "k.p12"
    path.write_bytes(_pfx(b"changeit"))
    keys = known(RSA)
    (finding,) = [f for f in scan_path(path, "der", keys).findings if f.kind.startswith("pkcs12")]
    assert finding.kind == "pkcs12-well-known-password" and finding.verified
    assert finding.kid == next(iter(keys.of_kind("rsa"))).kid


def test_the_scanner_bounds_what_it_opens(tmp_path: Path) -> None:
    """A costly key derivation is not tried; at most MAX_PKCS12_OPENED files a chunk are opened."""
    assert _scan(tmp_path, _pfx(b"changeit", rounds=MAX_ITERATIONS + 1), "der") == {"pkcs12", "pkcs8-encrypted"}
    one = _pfx(b"changeit")
    path = tmp_path / "many.bin"
    path.write_bytes(b"".join(one + bytes(64) for _ in range(MAX_PKCS12_OPENED + 1)))
    kinds = [f.kind for f in scan_path(path, "der").findings if f.kind.startswith("pkcs12")]
    assert kinds == ["pkcs12-well-known-password"] * MAX_PKCS12_OPENED + ["pkcs12"]


def test_a_pkcs12_file_under_an_unknown_password_is_a_finding_of_both(tmp_path: Path) -> None:
    data = _pfx(b"Zq8-vT3#not-a-well-known-one")
    assert _scan(tmp_path, data, "der") == {"pkcs12", "pkcs8-encrypted"}
    assert [f.key for f in recheck_bytes(data).findings] == ["PKCS#12 file under an unknown password"]


def test_a_pkcs12_file_with_costly_key_derivations_is_not_opened_and_is_a_finding() -> None:
    data = _pfx(b"changeit", rounds=MAX_ITERATIONS + 1)
    assert [f.key for f in recheck_bytes(data).findings] == [
        f"PKCS#12 file (not opened: {MAX_ITERATIONS + 1} iterations)"]


def test_pkcs12_files_past_the_reads_key_derivation_budget_are_not_opened_and_are_findings() -> None:
    data = _pfx(b"changeit")  # 2,048 iterations: three derivations a password
    (finding,) = recheck_bytes(data, budget=Budget(max_kdf_iterations=3 * 2048)).findings  # one password's worth
    assert finding.key == "PKCS#12 file (not opened: the read's key derivation budget is spent)"


def test_a_pkcs12_truststore_the_reader_opens_is_not_a_finding_when_every_bag_is_in_sight() -> None:
    assert recheck_bytes(_pfx(None, key=False)).clean
    # certificates encrypted (keytool's PKCS12 truststores): what else is in there is not seen
    assert [f.key for f in recheck_bytes(_pfx(b"changeit", key=False)).findings] == [
        "PKCS#12 file under the password 'changeit' with a secret or encrypted bag"]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl command")
@pytest.mark.parametrize("options", [["-keypbe", "NONE", "-certpbe", "NONE", "-nomac", "-passout", "pass:"],
                                     ["-passout", "pass:"], ["-passout", "pass:changeit"],
                                     ["-legacy", "-passout", "pass:password"]])
def test_openssls_own_pkcs12_files_are_found(tmp_path: Path, options: list[str]) -> None:
    """Each run makes a fresh file (fresh salts, IVs and ciphertext): the scanner's cost pre-check
    reads only the derivations' own fields (openssl: 2,048 iterations, none without encryption and
    MAC), never key or ciphertext bytes, so the file is opened every time."""
    certificate = x509.load_der_x509_certificate(CERTIFICATE)
    (tmp_path / "c.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "k.pem").write_bytes(RSA.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    made = subprocess.run(["openssl", "pkcs12", "-export", "-inkey", str(tmp_path / "k.pem"),
                           "-in", str(tmp_path / "c.pem"), "-out", str(tmp_path / "k.p12"), *options],
                          capture_output=True)
    if made.returncode != 0 and "-legacy" in options:
        pytest.skip("this openssl has no legacy provider")
    data = (tmp_path / "k.p12").read_bytes()
    assert _costliest_derivation(data) == (0 if "-nomac" in options else 2048)
    assert "pkcs12-well-known-password" in _scan(tmp_path, data, "der")
    assert any(f.kind == "pkcs12" and f.key.startswith("RSAPrivateKey in a PKCS#12 file under")
               for f in recheck_bytes(data).findings)


def test_the_scanners_cost_precheck_reads_each_derivation_at_its_place_in_the_der() -> None:
    """PBKDF2's iterations (in PBES2, for the key and the certificates) and the MacData's are read
    where the structure puts them; what the walk cannot read is never opened: a MAC costlier than
    the bound (asn1crypto writes the file: another writer than ours), a PBES2 whose key derivation
    is scrypt (its cost is no iteration count), a file cut short or followed by a stray byte."""
    from asn1crypto import pkcs12 as asn1_pkcs12  # python-pkcs11's dependency

    data = _pfx(b"changeit", rounds=5000)  # the key and certificates at 5,000, the MAC at 2,048
    assert _costliest_derivation(data) == 5000
    pfx = asn1_pkcs12.Pfx.load(data)
    assert pfx["mac_data"]["iterations"].native == 2048
    pfx["mac_data"]["iterations"] = MAX_PKCS12_ITERATIONS + 1
    assert _costliest_derivation(pfx.dump(force=True)) == MAX_PKCS12_ITERATIONS + 1
    pbkdf2, scrypt = bytes.fromhex("06092a864886f70d01050c"), bytes.fromhex("06092b06010401da47040b")
    assert data.count(pbkdf2) == 2
    assert _costliest_derivation(data.replace(pbkdf2, scrypt, 1)) == UNREADABLE
    assert _costliest_derivation(data[:-1]) == UNREADABLE
    assert _costliest_derivation(data + b"\x00") == UNREADABLE


# ---- zip64 and data descriptors: read and found, or refused, never skipped

class _Unseekable(io.RawIOBase):
    """A pipe: zipfile writes each member's sizes after it (a data descriptor, flag bit 3; zeros
    in the local header)."""

    def __init__(self, sink: io.BytesIO) -> None:
        self.sink = sink

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        return self.sink.write(data)


def _zip(streamed: bool, zip64: bool, method: int, members: dict[str, bytes]) -> bytes:
    sink = io.BytesIO()
    with zipfile.ZipFile(_Unseekable(sink) if streamed else sink, "w", method) as archive:
        for name, content in members.items():
            with archive.open(name, "w", force_zip64=zip64) as member:
                member.write(content)
    return sink.getvalue()


PEM = RSA.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
DER = RSA.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
@pytest.mark.parametrize(("streamed", "zip64"), [(False, True), (True, False), (True, True)])
def test_zip64_and_data_descriptor_members_are_read_by_both(tmp_path: Path, streamed: bool, zip64: bool,
                                                           method: int) -> None:
    data = _zip(streamed, zip64, method, {"keys/a.pem": PEM, "keys/b.der": DER})
    assert bool(data[6] & 0x08) == streamed  # the first local header: sizes after the data
    if zip64:
        assert data[18:26] == b"\xff" * 8  # sizes in the zip64 extra field
    elif streamed:
        assert data[18:26] == bytes(8)  # sizes 0 in the local header
    path = tmp_path / "bundle.zip"
    path.write_bytes(data)
    report = scan_path(path, "text,der")
    members = {m.file.split("!", 1)[1]: {f.kind for f in m.findings} for m in report.members}
    assert members["keys/a.pem"] == {"pem-private-key"} and "pkcs8-rsa" in members["keys/b.der"]
    views = {f.view for f in recheck_bytes(data, name="bundle.zip").findings}
    assert {"bundle.zip!keys/a.pem", "bundle.zip!keys/b.der"} <= views


@pytest.mark.skipif(shutil.which("zip") is None, reason="Info-ZIP's zip is not installed")
def test_info_zip_archives_with_descriptors_are_read_or_refused(tmp_path: Path) -> None:
    (tmp_path / "a.pem").write_bytes(PEM)
    (tmp_path / "b.der").write_bytes(DER)
    subprocess.run(["zip", "-q", "-fd", "fd.zip", "a.pem", "b.der"], cwd=tmp_path, check=True)
    data = (tmp_path / "fd.zip").read_bytes()
    assert data[6] & 0x08
    report = scan_path(tmp_path / "fd.zip", "text,der")
    assert {m.file.split("!", 1)[1] for m in report.members if m.findings} == {"a.pem", "b.der"}
    # from a pipe (`... | zip - -`) Info-ZIP records the pipe's mode: a FIFO member, refused
    piped = subprocess.run(["zip", "-q", "-", "-"], input=PEM, capture_output=True, check=True).stdout
    (tmp_path / "piped.zip").write_bytes(piped)
    with pytest.raises(CoverageError) as refused:
        scan_path(tmp_path / "piped.zip", "text,der")
    assert refused.value.rule == Uncovered.SPECIAL_MEMBER
