"""Issue #32, F4 and F6: streams without a magic number (zlib, raw deflate, LZMA-alone, git loose
objects, PDF FlateDecode) and text encodings (base32, ascii85, base85, uuencode, quoted-printable,
UTF-32, EBCDIC) the red team got certified. Each artifact is written the way the red team's
generators wrote it (stdlib encoders, the tools' own layout, filler text around it); each case
runs the real sanitizer and then the red team's recoverer on whatever it certified."""

from __future__ import annotations

import base64
import binascii
import json
import lzma
import os
import quopri
import random
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)

from signward.dumps import DumpReason, sanitize
from signward.errors import DumpRefused
from signward.home import Home
from signward.scan.recheck import recheck_bytes
from tests.scan.material import EC, ED, known

PEM = EC.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
DER = EC.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
SEED = ED.private_bytes_raw()
LOG = b"2026-12-05 debug: loaded signing key\n" + PEM + b"2026-12-05 debug: done\n"
PAD = b"filler text line of a log\n" * 40


def _deflate(data: bytes) -> bytes:
    engine = zlib.compressobj(9, zlib.DEFLATED, -15)
    return engine.compress(data) + engine.flush()


def _uu(data: bytes) -> bytes:
    lines = b"".join(binascii.b2a_uu(data[i:i + 45]) for i in range(0, len(data), 45))
    return b"begin 600 key.der\n" + lines + b"`\nend\n"


def _b32(text: bytes) -> bytes:
    return base64.b32decode(text + b"=" * (-len(text) % 8))


GIT = zlib.compress(b"blob %d\x00" % len(LOG) + LOG)
PDF_STREAM = zlib.compress(LOG)

# name: (artifact, the codec label the reader gives the run, the red team's recoverer)
CASES: dict[str, tuple[bytes, str, Callable[[bytes], bytes]]] = {
    "k.zlib": (zlib.compress(LOG), "zlib", zlib.decompress),
    "k.deflate": (_deflate(LOG), "deflate", lambda b: zlib.decompress(b, -15)),
    "k.lzma": (lzma.compress(LOG, format=lzma.FORMAT_ALONE), "lzma", lzma.decompress),
    "git_object.bin": (b"\x00" * 4096 + GIT + b"\x00" * 4096, "zlib",
                       lambda b: zlib.decompressobj().decompress(b.lstrip(b"\x00"))),
    "k.pdf": (b"%%PDF-1.4\n1 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(PDF_STREAM) + PDF_STREAM +
              b"\nendstream\nendobj\n%%EOF\n", "zlib",
              lambda b: zlib.decompressobj().decompress(b[b.index(b"stream\n") + 7:])),
    "lzma_in_image.bin": (b"\x00" * 4096 + lzma.compress(LOG, format=lzma.FORMAT_ALONE) + b"\x00" * 4096, "lzma",
                          lambda b: lzma.LZMADecompressor(lzma.FORMAT_ALONE).decompress(b.lstrip(b"\x00"))),
    "base32.txt": (PAD + base64.b32encode(DER) + b"\n" + PAD, "base32",
                   lambda b: base64.b32decode(b[len(PAD):-len(PAD) - 1])),
    "base32_lower.txt": (PAD + base64.b32encode(DER).lower().rstrip(b"=") + b"\n" + PAD, "base32",
                         lambda b: _b32(b[len(PAD):-len(PAD) - 1].upper())),
    "a85.txt": (PAD + base64.a85encode(DER) + b"\n" + PAD, "ascii85",
                lambda b: base64.a85decode(b[len(PAD):-len(PAD) - 1])),
    "a85_adobe.txt": (PAD + base64.a85encode(DER, adobe=True, wrapcol=60) + b"\n" + PAD, "ascii85",
                      lambda b: base64.a85decode(b[len(PAD):-len(PAD) - 1], adobe=True)),
    "b85.txt": (PAD + base64.b85encode(DER) + b"\n" + PAD, "base85",
                lambda b: base64.b85decode(b[len(PAD):-len(PAD) - 1])),
    # a name glued before the run (`=` and `:` are base85 characters): every group shifted (session 22)
    "a85_glued.txt": (PAD + b"k=" + base64.a85encode(DER) + b"\n" + PAD, "ascii85",
                      lambda b: base64.a85decode(b[len(PAD) + 2:-len(PAD) - 1])),
    "b85_glued.txt": (PAD + b"blob:" + base64.b85encode(DER) + b"\n" + PAD, "base85",
                      lambda b: base64.b85decode(b[len(PAD) + 5:-len(PAD) - 1])),
    "uu.txt": (PAD + _uu(DER) + PAD, "uuencode",
               lambda b: b"".join(binascii.a2b_uu(line) for line in b[len(PAD):].split(b"\n")[1:-42])),
    "qp.txt": (PAD + quopri.encodestring(base64.b64encode(DER)) + PAD, "quoted-printable",
               lambda b: base64.b64decode(quopri.decodestring(b[len(PAD):-len(PAD)]))),
    "ebcdic.txt": (PAD + PEM.decode().encode("cp500") + PAD, "cp500",
                   lambda b: b[len(PAD):-len(PAD)].decode("cp500").encode()),
    # small views: the UTF-16 reading of a UTF-16 reading gets there first (same bytes, read once)
    "utf32.txt": (PAD + PEM.decode().encode("utf-32-le") + PAD, "utf-16",
                  lambda b: b[len(PAD):-len(PAD)].decode("utf-32-le").encode()),
    "utf32be.txt": (PAD + PEM.decode().encode("utf-32-be") + PAD, "utf-16",
                    lambda b: b[len(PAD):-len(PAD)].decode("utf-32-be").encode()),
}


def _recovered(plain: bytes) -> bool:
    """The red team's test: the EC key loads from what the recoverer decoded."""
    public = EC.public_key().public_numbers()
    try:
        key = serialization.load_der_private_key(plain, None)
    except Exception:
        try:
            key = serialization.load_pem_private_key(plain[plain.index(b"-----BEGIN"):], None)
        except Exception:
            return False
    return isinstance(key, ec.EllipticCurvePrivateKey) and key.public_key().public_numbers() == public


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_independent_reader_decodes_the_encoding(name: str) -> None:
    """The finding comes from the new view (its label in the chain), and the recoverer works on
    the artifact as written (the case is what the red team certified)."""
    data, codec, recover = CASES[name]
    assert _recovered(recover(data))
    report = recheck_bytes(data, known(EC))
    assert any(f"> {codec}" in finding.view for finding in report.findings), report.summary()


@pytest.mark.parametrize("name", sorted(CASES))
def test_sanitize_certifies_nothing_the_red_team_recovers(tmp_path: Path, name: str) -> None:
    """The scanner reads some of these layers (session 22), the certification all: the whole encoded run is
    overwritten (an image) and the output read again, and the recoverer gets nothing from it."""
    data, _, recover = CASES[name]
    path = tmp_path / name
    path.write_bytes(data)
    result = sanitize(path, tmp_path / "out", Home(tmp_path / "home"), known(EC))
    # quoted-printable: the scanner's base64 reading of the first soft-broken line finds the DER
    # cut short after its secret and redacts that far (the header, the scalar), the rest is public
    assert result.status == "clean" and result.redacted_bytes >= (100 if name == "qp.txt" else 150)
    published = (tmp_path / "out").read_bytes()
    try:
        plain = recover(published)
    except Exception:
        return  # the recoverer fails on the certified output
    assert not _recovered(plain)


def test_a_base32_ed25519_seed_is_a_known_key() -> None:
    """F6's ed_seed_b32.txt: 32 raw bytes in base32 meet the known-key search (no armour at all)."""
    report = recheck_bytes(PAD + base64.b32encode(SEED).rstrip(b"=") + b"\n" + PAD, known(ED))
    assert any("Ed25519 seed" in f.key and "> base32@" in f.view for f in report.findings), report.summary()


@pytest.mark.parametrize("seed", ["70a2991a857bcac511d1ecf9aa64d01e469b6638a900a6b8911b9717c24175a1",  # 3 digits
                                  "4c42e5aa0a65ed711531c8278f65ca1c30b426a501606fd6f3bd8f8a3ea9b5ec"])
def test_a_base32_seed_with_few_digits_is_read(seed: str) -> None:
    """CI drew a seed whose base32 held 3 digits in 52 characters: the reader skipped runs with fewer
    than one digit in 16 (words have none), so 1 random seed in 60 was certified. Every run is read."""
    key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed))
    text = base64.b32encode(bytes.fromhex(seed)).rstrip(b"=")
    assert sum(c in b"234567" for c in text) * 16 < len(text)  # (what the old rule skipped)
    report = recheck_bytes(PAD + text + b"\n" + PAD, known(key))
    assert any("Ed25519 seed" in f.key and "> base32@" in f.view for f in report.findings), report.summary()


def test_a_zlib_stream_cut_short_is_incomplete(tmp_path: Path) -> None:
    """An artifact that IS a zlib stream and stops short (no key in what decodes): the rest
    cannot be read, so it is refused as incomplete, not certified."""
    text = b"".join(b"line %d of a log nobody compressed twice %s\n" % (i, os.urandom(8).hex().encode())
                    for i in range(400))
    path = tmp_path / "cut.zlib"
    path.write_bytes(zlib.compress(text)[:-200])
    report = recheck_bytes(path.read_bytes())
    assert not report.findings and any("zlib stream at 0" in why for why in report.incomplete)
    with pytest.raises(DumpRefused) as refusal:
        sanitize(path, tmp_path / "out", Home(tmp_path / "home"), known(EC))
    assert refusal.value.reason == DumpReason.RECHECK_INCOMPLETE
    assert "zlib stream" in refusal.value.detail


def test_a_broken_stream_inside_an_image_is_read_as_far_as_it_decodes() -> None:
    """A zlib stream in a core whose tail was overwritten: not a refusal (a core is full of
    such debris), but the key in the part that decodes is found."""
    stream = zlib.compress(LOG + os.urandom(2000).hex().encode())
    data = b"\x00" * 4096 + stream[:-1500] + b"\xff" * 64 + b"\x00" * 4096
    report = recheck_bytes(data, known(EC))
    assert any("> zlib@4096" in f.view for f in report.findings), report.summary()


def test_random_bytes_and_header_noise_are_not_streams() -> None:
    """zlib and LZMA-alone headers in random bytes (a core has thousands): no finding, nothing
    incomplete; the probe decides early."""
    noise = bytearray(os.urandom(2 << 20))
    for offset in range(0, len(noise) - 16, 997):
        noise[offset:offset + 2] = b"\x78\x9c" if offset % 2 else b"\x5d\x00"
    report = recheck_bytes(bytes(noise))  # no known keys: the window search is not what is tested
    assert report.clean, report.summary()


def test_utf32_pem_in_a_view_larger_than_the_window_search(tmp_path: Path) -> None:
    """In a large view (a core) UTF-32 is read from PEM armour only; it is found and redacted."""
    data = b"\x00" * (1 << 20) + PEM.decode().encode("utf-32-le") + b"\x00" * 4096
    report = recheck_bytes(data, known(EC))
    assert any("> utf-32-le@" in f.view for f in report.findings), report.summary()
    path = tmp_path / "core.bin"
    path.write_bytes(data)
    result = sanitize(path, tmp_path / "out", Home(tmp_path / "home"), known(EC))
    assert result.status == "clean"
    assert not _recovered((tmp_path / "out").read_bytes().decode("utf-32-le", "replace").encode("latin-1", "replace"))


# ---- F5: a key split into short pieces (the red team's gen3.py layouts)

B64 = base64.b64encode(DER).decode()
PIECES = [B64[i:i + 20] for i in range(0, len(B64), 20)]  # 20 characters (15 bytes) a piece


def _entry(i: int, text: str = "", ws: list[dict[str, object]] | None = None) -> dict[str, object]:
    entry: dict[str, object] = {
        "startedDateTime": "2026-12-05T22:00:00.000Z", "time": 1,
        "request": {"method": "GET", "url": f"https://app.example/ws{i}", "httpVersion": "HTTP/1.1", "headers": [],
                    "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},
        "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "headers": [], "cookies": [],
                     "content": {"size": len(text), "mimeType": "text/event-stream", "text": text},
                     "redirectURL": "", "headersSize": -1, "bodySize": -1},
        "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}}
    if ws is not None:
        entry["_resourceType"] = "websocket"
        entry["_webSocketMessages"] = ws
    return entry


def _split_har(entries: list[dict[str, object]]) -> bytes:
    return json.dumps({"log": {"version": "1.2", "creator": {"name": "WebInspector", "version": "537.36"},
                               "pages": [], "entries": entries}}, indent=2).encode()


_SCALAR = base64.urlsafe_b64encode(EC.private_numbers().private_value.to_bytes(32, "big")).rstrip(b"=").decode()
_X = base64.urlsafe_b64encode(EC.public_key().public_numbers().x.to_bytes(32, "big")).rstrip(b"=").decode()
SPLIT: dict[str, tuple[str, bytes]] = {
    "ws_split.har": ("joined pieces", _split_har([_entry(0, ws=[
        {"type": "receive", "time": 1733436000.0 + i, "opcode": 1, "data": p} for i, p in enumerate(PIECES)])])),
    "sse_split.har": ("sse-data",
                      _split_har([_entry(0, text="".join(f"event: chunk\ndata: {p}\n\n" for p in PIECES))])),
    "json_array.json": ("joined pieces", json.dumps({"keyparts": PIECES}).encode()),
    "entries_split.har": ("joined pieces", _split_har([_entry(i, text=p) for i, p in enumerate(PIECES)])),
    "ec_split_d.har": ("joined pieces", _split_har([_entry(0, text=json.dumps(
        {"kty": "EC", "crv": "P-256", "x": _X, "d_hi": _SCALAR[:21], "d_lo": _SCALAR[21:]}))])),
}


@pytest.mark.parametrize("name", sorted(SPLIT))
def test_a_key_split_into_pieces_is_read_whole_and_refused(tmp_path: Path, name: str) -> None:
    """The pieces joined are the key (the red team's recoverer: join and decode); the reader
    reads them joined, and in a HAR or JSON document any finding of the reader refuses."""
    label, data = SPLIT[name]
    report = recheck_bytes(data, known(EC))
    assert any(label in finding.view for finding in report.findings), report.summary()
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(DumpRefused) as refusal:
        sanitize(path, tmp_path / "out", Home(tmp_path / "home"), known(EC))
    assert refusal.value.reason == DumpReason.RECHECK
    assert not (tmp_path / "out").exists()


def test_a_busy_har_of_short_random_values_is_not_joined_into_a_refusal() -> None:
    """Session ids, request ids and short bodies at the same paths of 600 entries (random, of one
    length, like a split key's pieces): no finding, and the joined views stay inside the reader's
    budget (a joined view is capped, repeated values and header name/value pairs are not joined)."""
    rnd = random.Random(5)
    entries = []
    for i in range(600):
        entry = _entry(i, text=base64.b64encode(b"\x00" + rnd.randbytes(29)).decode())
        entry["request"] = {"method": "GET", "url": f"https://app.example/{i}",
                            "cookies": [{"name": "sid", "value": base64.urlsafe_b64encode(rnd.randbytes(16)).decode()}],
                            "headers": [{"name": "X-Request-Id", "value": base64.b64encode(rnd.randbytes(12)).decode()},
                                        {"name": "Accept", "value": "text/html"}]}
        entries.append(entry)
    report = recheck_bytes(_split_har(entries), known(EC, ED))
    assert not report.findings and not any("budget" in why for why in report.incomplete), report.summary()
