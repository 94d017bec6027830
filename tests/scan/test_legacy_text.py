"""The scanner reads uuencoded files and EBCDIC PEM (issue #32, session 22, `scan/legacy_text.py`):
an EC P-256 PKCS#8 key uuencoded into a mail or written as EBCDIC (cp500, cp037) is found by the
scanner alone (`scan_path`, which does not run the independent reader) at the whole raw span,
encoding `uuencode+...` / `ebcdic+...` / `utf-32le+...`. On main's scanner each was clean: no
detector reads uuencode's, EBCDIC's or UTF-32's characters. Near misses: a uuencoded text file, an
EBCDIC and a UTF-32 public key."""

from __future__ import annotations

import binascii
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from signward.dumps import scan_path
from signward.scan.legacy_text import MAX_BEGINS

KEY = ec.generate_private_key(ec.SECP256R1())
PEM = KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
DER = KEY.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
PUBLIC = KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _uuencode(data: bytes, name: bytes) -> bytes:
    lines = b"".join(binascii.b2a_uu(data[at:at + 45]) for at in range(0, len(data), 45))
    return b"begin 644 " + name + b"\n" + lines + b"`\nend\n"


def _scan(path: Path, data: bytes) -> tuple[set[tuple[int, int, str, str]], list[str]]:
    path.write_bytes(data)
    report = scan_path(path)
    return {(f.offset, f.end, f.kind, f.encoding) for f in report.findings if not f.advisory}, report.incomplete


@pytest.mark.parametrize("form", ["der", "pem"])
def test_a_uuencoded_key_in_a_mail_is_found_at_the_whole_file(tmp_path: Path, form: str) -> None:
    head = b"From: ops@example.com\nSubject: key\n\n"
    body = _uuencode(DER if form == "der" else PEM, b"key.bin")
    found, incomplete = _scan(tmp_path / "mail.txt", head + body + b"\nthanks\n")
    assert incomplete == []
    kinds = {kind for start, end, kind, encoding in found
             if (start, end) == (len(head), len(head) + len(body) - 1) and encoding.startswith("uuencode+")}
    assert kinds & {"pkcs8-ec", "pem-private-key"}, found


@pytest.mark.parametrize("codec", ["cp500", "cp037", "utf-32-le", "utf-32-be"])
def test_an_ebcdic_or_utf32_pem_is_found_at_its_whole_armour(tmp_path: Path, codec: str) -> None:
    head = "SYSOUT DD *\n".encode(codec)
    text = PEM.decode().encode(codec)
    found, incomplete = _scan(tmp_path / "dataset.txt", head + text)
    assert incomplete == []
    layer = "ebcdic" if codec.startswith("cp") else codec.replace("-le", "le").replace("-be", "be")
    assert (len(head), len(head) + len(text) - len("\n".encode(codec)), "pem-private-key",
            f"{layer}+ascii") in found, found


def test_a_uuencoded_text_and_ebcdic_and_utf32_public_keys_are_no_finding(tmp_path: Path) -> None:
    text = b"".join(b"line %d of the release notes\n" % i for i in range(200))
    data = _uuencode(text, b"notes.txt") + PUBLIC.decode().encode("cp500") + b"begin 644\n" + b"begin"
    data += PUBLIC.decode().encode("utf-32-le")
    assert _scan(tmp_path / "mail.txt", data) == (set(), [])


@pytest.mark.parametrize(("count", "cut"), [(MAX_BEGINS, False), (MAX_BEGINS + 1, True)],
                         ids=["at-bound", "past-bound"])
def test_more_begin_lines_than_the_bound_is_incomplete(tmp_path: Path, count: int, cut: bool) -> None:
    _, incomplete = _scan(tmp_path / "mail.txt", b"begin 644 a\n" * count)
    assert incomplete == ([f"legacy-text: more than {MAX_BEGINS} uuencode `begin` lines in one chunk"] if cut else [])
