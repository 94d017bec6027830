"""Every finding of the independent reader carries the raw span of the bytes it came from when
those are a contiguous run of the artifact, so sanitize overwrites them instead of refusing the
artifact: each raw copy of the same encoded key (the watch's redaction drill: the canary's EC
scalar as base64url three times in the drill core), the same key reached through two encodings,
JWKs read where they are (in text and in a JSON document), JSON strings, streams and archive
members inside a view. Spans are asserted exactly; the sanitize cases show the output redacted
with no copy left, read again by the reader."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import random
import tarfile
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from signward.dumps import KnownKeys, sanitize
from signward.home import Home
from signward.scan.knownkeys import aes_key_id
from signward.scan.recheck import RecheckReport, _looks_encoded, recheck_bytes, recheck_path
from tests.scan.material import EC, ED, RSA, known
from tests.scan.test_recheck import _blind_scanner

SCALAR = EC.private_numbers().private_value.to_bytes(32, "big")
RUN = base64.urlsafe_b64encode(SCALAR)  # 44 bytes, its "=" included
AES = hashlib.sha256(b"the spans test's AES key").digest()
EC_PEM = EC.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
EC_JWK = {"kty": "EC", "crv": "P-256",
          "x": base64.urlsafe_b64encode(EC.public_key().public_numbers().x.to_bytes(32, "big")).decode().rstrip("="),
          "y": base64.urlsafe_b64encode(EC.public_key().public_numbers().y.to_bytes(32, "big")).decode().rstrip("="),
          "d": RUN.decode().rstrip("=")}
OCT_JWK = {"kty": "oct", "k": base64.urlsafe_b64encode(AES).decode().rstrip("=")}


def _known() -> KnownKeys:
    keys = known(EC, RSA, ED)
    keys.secret_ids.add(aes_key_id(AES))
    return keys


def _image(size: int, plants: dict[int, bytes]) -> bytes:
    """Filler no recogniser reads (no text, no zeros), the plants at their offsets."""
    data = bytearray(b"\x01\x02\x03\x04" * (size // 4))
    for offset, blob in plants.items():
        data[offset:offset + len(blob)] = blob
    return bytes(data)


def _spans(report: RecheckReport, kind: str | None = None, key: str = "") -> list[tuple[int, int] | None]:
    return sorted({f.span for f in report.findings if (kind is None or f.kind == kind) and key in f.key},
                  key=lambda span: (-1, -1) if span is None else span)


# ---- cause 1: a view read before (same digest) is not read again, but each copy is a finding


def test_each_raw_copy_of_the_same_base64_run_is_a_finding_at_its_own_span() -> None:
    """The drill core's case: the same base64url scalar at two offsets (one digest): before, the
    second copy made no finding, so sanitize overwrote the first and the re-read refused."""
    report = recheck_bytes(_image(1 << 14, {1000: RUN, 5000: RUN, 9000: RUN}), _known())
    assert _spans(report, "known-key", "EC scalar") == [(1000, 1044), (5000, 5044), (9000, 9044)]
    assert all(f.span is not None for f in report.findings), report.findings


def test_the_same_key_through_two_encodings_is_a_finding_at_each() -> None:
    """base64url at 1000 and hex at 5000 decode to the same 32 bytes: read once, found at both."""
    report = recheck_bytes(_image(1 << 14, {1000: RUN, 5000: SCALAR.hex().encode()}), _known())
    assert _spans(report, "known-key", "EC scalar") == [(1000, 1044), (5000, 5064)]


def _unlucky_key() -> bytes:
    """A 16-byte AES key whose base64 does not look like encoded binary (recheck._looks_encoded:
    about 1 in 500 do): in a view larger than the window search covers, what its base64 run
    decodes to is read without the window search."""
    for counter in range(200_000):
        key = hashlib.sha256(b"unlucky %d" % counter).digest()[:16]
        if not _looks_encoded(base64.b64encode(key)):
            return key
    raise AssertionError("no key found")


def test_content_first_read_without_the_window_search_is_found_at_every_copy() -> None:
    """In a 2 MiB view the key's base64 run is read without the window search; its hex copy
    decodes to the same bytes (read before): the window search runs on them at the hex copy, and
    what it finds is a finding at the hex copy AND at the base64 copy read before (only the hex
    copy was, and the base64 copy stayed in a certified output)."""
    key = _unlucky_key()
    keys = known(EC)
    keys.secret_ids.add(aes_key_id(key))
    data = _image(2 << 20, {1000: base64.b64encode(key), 5000: key.hex().encode()})
    report = recheck_bytes(data, keys)
    assert _spans(report, "known-key", "AES key") == [(1000, 1024), (5000, 5032)]


def test_a_copy_read_without_the_window_search_inside_another_view_has_no_span() -> None:
    """The base64 copy sits inside a gzip stream embedded in the image, read before a second
    stream that holds the hex copy: the gzip view's reading had passed without a finding (a copy
    of that view elsewhere would be passed on its memo), so the late finding for the base64 copy
    has no span and the artifact is refused instead of redacted at the hex copy alone."""
    key = _unlucky_key()
    keys = known(EC)
    keys.secret_ids.add(aes_key_id(key))
    first = gzip.compress(_image(2 << 20, {7000: b"\n" + base64.b64encode(key) + b"\n"}))
    second = gzip.compress(b"hex: " + key.hex().encode() + b"\n")
    data = _image(2 << 20, {1000: first, 1 << 20: second})
    report = recheck_bytes(data, keys)
    late = [f for f in report.findings if "AES key" in f.key]
    assert [f.span for f in late if "base64" in f.view] == [None], late
    assert [f.span for f in late if "hex" in f.view] == [(1 << 20, (1 << 20) + len(second))], late


def test_a_secret_behind_an_identifier_is_judged_on_its_own_characters() -> None:
    """The red team's case: a 32-byte scalar's base64 joined behind 200 lowercase characters (an
    identifier, words) passed as "not encoded" as a whole run and was never window-searched in
    a core-sized view. Judged per window: at most 3 of 2,000 32-byte secrets are missed (a
    digit is missing from 43 random base64 characters once in about 1,400), whatever text joins
    them, and at most 5 in 100 16-byte secrets (canaries' AES keys: 22 characters)."""
    rng = random.Random(5)
    prefix, suffix = b"sessionkeymaterialcachedfortheworkerpool" * 5, b"andsomemoretext"
    for size, allowed in ((32, 3), (16, 100)):
        missed = 0
        for _ in range(2_000):
            encoded = base64.b64encode(rng.randbytes(size)).rstrip(b"=")
            run = prefix[:rng.randrange(0, 200)] + encoded + suffix[:rng.randrange(0, 15)]
            missed += not _looks_encoded(run)
        assert missed <= allowed, (size, missed)
    assert not _looks_encoded(b"sessionkeymaterialcachedfortheworkerpool" * 5)


def test_an_identifier_prefixed_scalar_in_a_core_sized_view_is_found() -> None:
    """End to end on the reader: the scalar behind the lowercase prefix in a 2 MiB view."""
    run = (b"sessionkeymaterialcachedfortheworkerpool" * 5)[:200] + base64.b64encode(SCALAR)
    data = _image(2 << 20, {8192: b"\n" + run + b"\n"})
    report = recheck_bytes(data, _known())
    assert _spans(report, "known-key", "EC scalar") == [(8193, 8193 + len(run))]


def test_copies_in_a_json_document_are_findings_at_each_string_literal() -> None:
    """A JSON document (a HAR-like log) holding the key twice: each string literal, quotes
    included, is the span (the strings of a JSON document had none)."""
    document = json.dumps({"log": {"a": RUN.decode(), "b": ["x", RUN.decode()]}}).encode()
    first = document.index(b'"' + RUN)
    second = document.index(b'"' + RUN, first + 1)
    report = recheck_bytes(document, _known())
    assert _spans(report, "known-key", "EC scalar") == [(first, first + 46), (second, second + 46)]


# ---- cause 2: JWKs and the runs below a view that had no exact span


def _object_at(data: bytes, jwk: dict[str, object]) -> tuple[int, int]:
    text = json.dumps(jwk).encode()
    return data.index(text), data.index(text) + len(text)


@pytest.mark.parametrize("jwk,key", [(OCT_JWK, "oct key"), (EC_JWK, "PrivateKey (known kid")])
def test_a_jwk_in_text_is_a_finding_at_its_object(jwk: dict[str, object], key: str) -> None:
    """A JWK in text that is not a JSON document (jwk_near): the object, brace to brace."""
    data = b"log line: " + json.dumps(jwk).encode() + b" \xff\xfe more log"
    report = recheck_bytes(data, _known())
    assert _spans(report, "jwk", key) == [_object_at(data, jwk)]
    assert None not in _spans(report)


@pytest.mark.parametrize("jwk,key", [(OCT_JWK, "oct key"), (EC_JWK, "PrivateKey (known kid")])
def test_a_jwk_in_a_json_document_is_a_finding_at_its_object(jwk: dict[str, object], key: str) -> None:
    """The same JWK nested in a JSON document, its "kty" member after a nested object (so the
    text search, which starts at the nearest brace before "kty", does not find it): the
    document walk finds it, at the object's raw span."""
    shaped: dict[str, object] = {"meta": {"a": 1}, **jwk}
    data = json.dumps({"keys": [{"kid": "x"}, shaped]}).encode()
    report = recheck_bytes(data, _known())
    assert _spans(report, "jwk", key) == [_object_at(data, shaped)]
    # (an EC JWK's adjacent "y" and "d" are also read joined, as a split key would be: no span)
    assert all(f.span is not None or "joined pieces" in f.view for f in report.findings), report.findings


def test_a_key_split_over_two_members_has_no_span() -> None:
    """The boundary: pieces joined are not one run of the artifact, so what is found in them has
    no span (and sanitize refuses the artifact: test_redteam_encodings' split keys)."""
    text = RUN.decode().rstrip("=")
    report = recheck_bytes(json.dumps({"note": "x", "d1": text[:21], "d2": text[21:], "end": 1}).encode(), _known())
    assert _spans(report, "known-key", "EC scalar") == [None]
    assert all("joined pieces" in f.view for f in report.findings)


def test_a_stream_inside_a_view_is_the_span_of_what_it_holds() -> None:
    packed = gzip.compress(EC_PEM)
    data = _image(1 << 13, {3000: packed})
    report = recheck_bytes(data, _known())
    assert _spans(report, "pem") == [(3000, 3000 + len(packed))]


def test_archive_members_are_the_spans_of_their_bytes() -> None:
    """A tar member's data and its own pax header block; a zip member's local header and data;
    a zip comment."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        info = tarfile.TarInfo("notes.txt")
        info.size, info.pax_headers = 5, {"comment": RUN.decode()}
        archive.addfile(info, io.BytesIO(b"hello"))
        info = tarfile.TarInfo("k.pem")
        info.size = len(EC_PEM)
        archive.addfile(info, io.BytesIO(EC_PEM))
    tar = buffer.getvalue()
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        notes, pem = archive.getmembers()
    report = recheck_bytes(tar, _known())
    member = (pem.offset_data, pem.offset_data + len(EC_PEM))  # (the tar's own bytes hold the armour too)
    assert _spans(report, "pem") == [(member[0], member[1] - 1), member]
    assert _spans(report, "known-key", "EC scalar") == [(notes.offset, notes.offset_data), member]  # (and in the PEM)

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.txt", b"hello")
        archive.writestr("k.pem", EC_PEM)
        archive.comment = RUN
    packed = buffer.getvalue()
    zinfo = zipfile.ZipFile(io.BytesIO(packed)).getinfo("k.pem")
    report = recheck_bytes(packed, _known())
    stored = (zinfo.header_offset, zinfo.header_offset + 30 + len("k.pem") + zinfo.compress_size)
    assert _spans(report, "pem") == [stored]
    assert _spans(report, "known-key", "EC scalar") == [stored, (len(packed) - len(RUN), len(packed))]


# ---- what sanitize does with them: overwrite every span, read again, no copy left

FORMS = {
    "three-copies": _image(1 << 14, {1000: RUN, 5000: RUN, 9000: RUN}),
    "two-encodings": _image(1 << 14, {1000: RUN, 5000: SCALAR.hex().encode()}),
    "jwks-in-text": _image(1 << 14, {1000: json.dumps(OCT_JWK).encode(), 4000: json.dumps(EC_JWK).encode()}),
    "gzip-in-image": _image(1 << 14, {3000: gzip.compress(EC_PEM), 9000: RUN}),
    "json-document": json.dumps({"entries": [{"t": RUN.decode()}, {"u": RUN.decode()},
                                             {"meta": {"a": 1}, **OCT_JWK}]}).encode(),
}


@pytest.mark.parametrize("name", sorted(FORMS))
def test_overwriting_every_span_leaves_the_reader_nothing(name: str) -> None:
    data = FORMS[name]
    report = recheck_bytes(data, _known())
    assert report.findings and not report.incomplete
    assert None not in _spans(report), report.findings
    cleaned = bytearray(data)
    for span in _spans(report):
        assert span is not None
        cleaned[span[0]:span[1]] = b"\x01" * (span[1] - span[0])
    assert recheck_bytes(bytes(cleaned), _known()).clean


@pytest.mark.parametrize("name", sorted(FORMS))
def test_sanitize_redacts_what_only_the_reader_sees_instead_of_refusing(
        name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The scanner made blind (as in test_recheck.py), so only the reader sees the keys: the
    artifact is certified with every copy overwritten, not refused (`recheck`), and nothing of
    the key is left in any form the reader or the test looks for."""
    _blind_scanner(monkeypatch, "signward.dumps.sanitize")
    path = tmp_path / "artifact.bin"
    path.write_bytes(FORMS[name])
    result = sanitize(path, tmp_path / "out", Home(tmp_path / "home"), _known())
    assert result.status == "clean" and result.redacted_bytes > 0
    output = (tmp_path / "out").read_bytes()
    assert len(output) == len(FORMS[name])
    for copy in (RUN, RUN.rstrip(b"="), SCALAR.hex().encode(), OCT_JWK["k"].encode(), EC_PEM[40:80]):
        assert copy not in output
    assert recheck_path(tmp_path / "out", _known()).clean


# ---- found along the way: a compressed file of several streams was read to its first stream's end


@pytest.mark.parametrize("codec", ["bz2", "xz", "lz4"])
def test_a_key_in_a_later_stream_of_a_compressed_file_is_found_at_its_plain_offset(codec: str) -> None:
    """pbzip2 and lbzip2 write one bz2 stream per block, `cat a.xz b.xz` is a valid .xz, lz4
    frames follow one another: every tool decompresses them all. The reader read the first
    stream and certified the rest unread; now every stream is read, and the finding's span is its
    offset in the decompressed artifact (what sanitize overwrites)."""
    import bz2
    import lzma

    import lz4.frame

    compress = {"bz2": bz2.compress, "xz": lzma.compress, "lz4": lz4.frame.compress}[codec]
    pad = b"harmless text " * 100
    report = recheck_bytes(compress(pad) + compress(EC_PEM), _known())
    assert _spans(report, "pem") == [(len(pad), len(pad) + len(EC_PEM) - 1)]  # (the armour, not its newline)
    assert recheck_bytes(compress(pad) + b"\x00" * 64, _known()).clean  # padding after the last stream
    assert recheck_bytes(compress(pad) + b"not a stream", _known()).incomplete


def test_a_keys_numbers_as_json_integers_are_findings_at_their_raw_spans() -> None:
    """A JSON document was read for its strings only: an RSA key's d, p and q written as JSON
    integers (red team, 2026-12-06) were certified unread."""
    numbers = RSA.private_numbers()
    data = json.dumps({"note": "signer state", "e": 65537, "d": numbers.d, "p": numbers.p, "q": numbers.q}).encode()
    report = recheck_bytes(data, known(RSA), "state.json")
    spans = {f.span for f in report.findings}
    for value in (numbers.d, numbers.p, numbers.q):
        digits = str(value).encode()
        start = data.index(digits)
        assert any(span is not None and span[0] <= start and start + len(digits) <= span[1] for span in spans), value
