"""HAR artifacts read as their readers read them (issue #32): a private key in any layer a HAR
reader decodes (JSON escapes, base64 bodies, gzip bodies, percent-encoding in URLs, cookies and
forms, base64url) is found by `dumps scan`, and `sanitize` either refuses or writes a HAR from
which the key cannot be recovered. Recovery is judged by an independent recoverer written here
with the standard library (json, base64, urllib.parse, gzip, zlib) and cryptography's loaders,
comparing every candidate against the public key."""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import re
import subprocess
import sys
import urllib.parse
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import brotli
import pytest
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signward.dumps import sanitize, scan_path
from signward.dumps.reasons import DumpReason
from signward.errors import DumpRefused
from signward.home import Home
from signward.scan import har, views
from signward.scan.detectors import select
from signward.scan.knownkeys import KnownKeys

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

EC_KEY = ec.generate_private_key(ec.SECP256R1())
RSA_KEY = rsa.generate_private_key(65537, 2048)
ED_KEY = ed25519.Ed25519PrivateKey.generate()


def _public(key: Any) -> bytes:
    return bytes(key.public_key().public_bytes(ser.Encoding.DER, ser.PublicFormat.SubjectPublicKeyInfo))


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwk(key: ec.EllipticCurvePrivateKey) -> str:
    numbers = key.private_numbers()
    return json.dumps({"kty": "EC", "crv": "P-256", "x": _b64u(numbers.public_numbers.x.to_bytes(32, "big")),
                       "y": _b64u(numbers.public_numbers.y.to_bytes(32, "big")),
                       "d": _b64u(numbers.private_value.to_bytes(32, "big"))})


# every form as text a writer might put in a HAR (DER as base64: a JSON string holds text)
MAKERS: dict[str, tuple[Any, Callable[[], str]]] = {
    "pem-pkcs8-ec": (EC_KEY, lambda: EC_KEY.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8,
                                                          ser.NoEncryption()).decode()),
    "pem-sec1-ec": (EC_KEY, lambda: EC_KEY.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.TraditionalOpenSSL,
                                                         ser.NoEncryption()).decode()),
    "pem-pkcs1-rsa": (RSA_KEY, lambda: RSA_KEY.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.TraditionalOpenSSL,
                                                             ser.NoEncryption()).decode()),
    "der-pkcs8-ec-base64url": (EC_KEY, lambda: _b64u(EC_KEY.private_bytes(
        ser.Encoding.DER, ser.PrivateFormat.PKCS8, ser.NoEncryption()))),
    "openssh-ed25519": (ED_KEY, lambda: ED_KEY.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.OpenSSH,
                                                             ser.NoEncryption()).decode()),
    "jwk-ec": (EC_KEY, lambda: _jwk(EC_KEY)),
}
# made once: an OpenSSH key's text differs on every call (a random check integer)
FORMS: dict[str, tuple[Any, str]] = {name: (key, make()) for name, (key, make) in MAKERS.items()}


def _entry(url: str = "https://app.example/", request_headers: list[dict[str, str]] | None = None,
           cookies: list[dict[str, str]] | None = None, post: dict[str, Any] | None = None,
           content: dict[str, Any] | None = None, response_headers: list[dict[str, str]] | None = None
           ) -> dict[str, Any]:
    request: dict[str, Any] = {"method": "POST" if post else "GET", "url": url, "httpVersion": "HTTP/1.1",
                               "headers": request_headers or [], "queryString": [], "cookies": cookies or [],
                               "headersSize": -1, "bodySize": 0}
    if post:
        request["postData"] = post
    return {"startedDateTime": "2026-11-01T00:00:00.000Z", "time": 1.0, "request": request,
            "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
                         "headers": response_headers or [], "cookies": [],
                         "content": content or {"size": 2, "mimeType": "application/json", "text": "{}"},
                         "redirectURL": "", "headersSize": -1, "bodySize": -1},
            "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}}


def _har(entry: dict[str, Any]) -> dict[str, Any]:
    return {"log": {"version": "1.2", "creator": {"name": "test", "version": "1"}, "entries": [entry]}}


def _placed(where: str, text: str) -> dict[str, Any]:
    """A HAR holding `text` at `where`, encoded as a writer of that place encodes it."""
    quoted = urllib.parse.quote(text, safe="")
    if where == "header":
        return _har(_entry(request_headers=[{"name": "X-Debug-State", "value": text}]))
    if where == "cookie":
        return _har(_entry(request_headers=[{"name": "Cookie", "value": f"state={quoted}"}],
                           cookies=[{"name": "state", "value": quoted}]))
    if where == "query":
        return _har(_entry(url=f"https://app.example/cb?state={quoted}&x=1"))
    if where == "post":
        return _har(_entry(post={"mimeType": "application/x-www-form-urlencoded", "text": f"a=1&state={quoted}"}))
    if where == "post-plus":  # as a browser encodes a form: spaces as `+`
        return _har(_entry(post={"mimeType": "application/x-www-form-urlencoded",
                                 "text": f"a=1&state={urllib.parse.quote_plus(text)}"}))
    if where == "body":
        return _har(_entry(content={"size": len(text), "mimeType": "text/plain", "text": text}))
    if where == "body-base64":
        return _har(_entry(content={"size": len(text), "mimeType": "application/octet-stream",
                                    "text": base64.b64encode(text.encode()).decode(), "encoding": "base64"}))
    if where == "body-gzip":
        packed = gzip.compress(text.encode())
        return _har(_entry(content={"size": len(text), "mimeType": "application/octet-stream",
                                    "text": base64.b64encode(packed).decode(), "encoding": "base64"},
                           response_headers=[{"name": "Content-Encoding", "value": "gzip"}]))
    if where == "body-deflate":
        packed = zlib.compress(text.encode())
        return _har(_entry(content={"size": len(text), "mimeType": "application/octet-stream",
                                    "text": base64.b64encode(packed).decode(), "encoding": "base64"},
                           response_headers=[{"name": "Content-Encoding", "value": "deflate"}]))
    if where == "body-utf16be":
        wide = ("\ufeff" + text).encode("utf-16-be")
        return _har(_entry(content={"size": len(wide), "mimeType": "text/plain; charset=utf-16",
                                    "text": base64.b64encode(wide).decode(), "encoding": "base64"}))
    if where == "data-url":
        html = f'<a href="data:application/octet-stream;base64,{base64.b64encode(text.encode()).decode()}">k</a>'
        return _har(_entry(content={"size": len(html), "mimeType": "text/html", "text": html}))
    if where == "header-hex":
        return _har(_entry(request_headers=[{"name": "X-Debug-State", "value": text.encode().hex()}]))
    raise AssertionError(where)


PLACES = ["header", "cookie", "query", "post", "post-plus", "body", "body-base64", "body-gzip", "body-deflate",
          "body-utf16be", "data-url", "header-hex"]


def _escape_all(raw: str) -> str:
    """Every character of every string value as a \\uXXXX escape (legal JSON)."""
    def escape(match: re.Match[str]) -> str:
        value = json.loads(match.group(0))
        return '"' + "".join(f"\\u{ord(c):04x}" if ord(c) < 0x10000 else json.dumps(c)[1:-1] for c in value) + '"'
    return re.sub(r'"(?:[^"\\]|\\.)*"', escape, raw)


def _write(path: Path, document: dict[str, Any], escapes: str = "plain") -> Path:
    text = json.dumps(document, indent=1)
    if escapes == "slash":  # PHP's json_encode
        text = text.replace("/", "\\/")
    elif escapes == "unicode":
        text = _escape_all(text)
    path.write_text(text)
    return path


# ---- the independent recoverer: standard library decoders, then cryptography's loaders -----

PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.DOTALL)
B64_RUN = re.compile(rb"[A-Za-z0-9+/_-]{40,}={0,2}")


def _layers(data: bytes, depth: int = 0) -> Iterator[bytes]:
    yield data
    if depth >= 4:
        return
    if data[:2] == b"\x1f\x8b":
        try:
            yield from _layers(zlib.decompressobj(31).decompress(data, 1 << 24), depth + 1)
        except zlib.error:
            pass
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        yield from _layers(data.decode("utf-16", "replace").encode(), depth + 1)
    if data[:1] == b"\x78":
        try:
            yield from _layers(zlib.decompressobj().decompress(data, 1 << 24), depth + 1)
        except zlib.error:
            pass
    for run in re.findall(rb"[0-9a-fA-F]{64,}", data):
        yield from _layers(bytes.fromhex(run[:len(run) // 2 * 2].decode()), depth + 1)
    for unquoted in {urllib.parse.unquote_to_bytes(data), urllib.parse.unquote_to_bytes(data.replace(b"+", b" "))}:
        if unquoted != data:
            yield from _layers(unquoted, depth + 1)
    for run in [data.strip()] + [m.group(0) for m in B64_RUN.finditer(data)]:
        compact = re.sub(rb"\s", b"", run).rstrip(b"=")
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                decoded = decode(compact + b"=" * (-len(compact) % 4))
            except (binascii.Error, ValueError):
                continue
            if decoded:
                yield from _layers(decoded, depth + 1)


def _keys_in(data: bytes) -> Iterator[Any]:
    for block in PEM_BLOCK.finditer(data):
        for load in (ser.load_pem_private_key, ser.load_ssh_private_key):
            try:
                yield load(block.group(0), None)
            except (ValueError, TypeError):
                pass
    try:
        yield ser.load_der_private_key(data, None)
    except (ValueError, TypeError):
        pass
    for start in (m.start() for m in re.finditer(rb"\{", data)):
        try:
            jwk, _ = json.JSONDecoder().raw_decode(data[start:].decode("utf-8", "replace"))
        except ValueError:
            continue
        if isinstance(jwk, dict) and jwk.get("kty") == "EC" and isinstance(jwk.get("d"), str):
            try:
                scalar = int.from_bytes(base64.urlsafe_b64decode(jwk["d"] + "=="), "big")
                yield ec.derive_private_key(scalar, ec.SECP256R1())
            except (ValueError, binascii.Error):
                pass


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for name, value in node.items():
            yield name
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
    elif isinstance(node, str):
        yield node


def recoverable(path: Path, key: Any) -> bool:
    """Can the private half of `key` be loaded from anything a HAR reader decodes at `path`?"""
    wanted = _public(key)
    document = json.loads(path.read_bytes())
    for text in _strings(document):
        for data in _layers(text.encode("utf-8", "surrogatepass")):
            if any(_public(found) == wanted for found in _keys_in(data)):
                return True
    return False


def _sanitized(source: Path, tmp_path: Path) -> Path | None:
    """The certified output, or None when sanitize refused (then no output may exist)."""
    out = tmp_path / "out.har"
    try:
        result = sanitize(source, out, Home(tmp_path / "home"))
    except DumpRefused:
        assert not out.exists()
        return None
    assert result.status == "clean"
    har.check_still_har(out.read_bytes())  # still JSON, still a HAR
    return out


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("where", PLACES)
def test_a_key_in_any_layer_is_found_and_cannot_be_recovered_after_sanitize(form: str, where: str,
                                                                            tmp_path: Path) -> None:
    key, text = FORMS[form]
    source = _write(tmp_path / "in.har", _placed(where, text))
    assert recoverable(source, key)  # the recoverer sees the key in the input
    assert [f for f in scan_path(source).findings if not f.advisory]
    out = _sanitized(source, tmp_path)
    assert out is None or not recoverable(out, key)


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("escapes", ["slash", "unicode"])
def test_json_escapes_of_every_form_hide_nothing(form: str, escapes: str, tmp_path: Path) -> None:
    key, text = FORMS[form]
    source = _write(tmp_path / "in.har", _placed("body", text), escapes)
    assert recoverable(source, key)
    assert [f for f in scan_path(source).findings if not f.advisory]
    out = _sanitized(source, tmp_path)
    assert out is None or not recoverable(out, key)


PEM_PKCS8 = FORMS["pem-pkcs8-ec"][1]


@pytest.mark.parametrize("case,escapes", [("body-base64", "plain"), ("body", "slash"), ("body", "unicode"),
                                          ("body-gzip", "plain")])
def test_issue_32_cases_scan_exit_1_and_the_whole_string_is_redacted(case: str, escapes: str,
                                                                    tmp_path: Path) -> None:
    """The issue's HARs: base64 body, PHP's `\\/`, every char `\\uXXXX`, a gzip body. `dumps scan`
    exits 1; the finding in the decoded view is the WHOLE raw string (never a prefix), and the
    sanitized HAR holds that string as nothing but the redaction character."""
    source = _write(tmp_path / "in.har", _placed(case, PEM_PKCS8), escapes)
    done = subprocess.run([sys.executable, "-m", "signward", "dumps", "scan", "--json", str(source)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    raw = source.read_bytes()
    _, strings = har.parse(raw)
    body = next(s for s in strings if "PRIVATE" in s.value or s.value.startswith("H4sI") or
                s.value.startswith("LS0t"))
    found = json.loads(done.stdout)["files"][0]["findings"]
    assert any(f["offset"] == body.start and f["length"] == body.end - body.start and "decoded view" in
               f.get("detail", "") for f in found), found
    out = _sanitized(source, tmp_path)
    assert out is not None
    cleaned = out.read_bytes()
    assert set(cleaned[body.start:body.end]) == {ord(har.REDACTED_CHAR)}
    assert not recoverable(out, EC_KEY)


def _refused_reason(source: Path, tmp_path: Path) -> DumpRefused:
    with pytest.raises(DumpRefused) as refusal:
        sanitize(source, tmp_path / "out.har", Home(tmp_path / "home"))
    assert not (tmp_path / "out.har").exists()
    return refusal.value


def _br_har(tmp_path: Path, body: bytes) -> Path:
    return _write(tmp_path / "in.har", _har(_entry(
        content={"size": 1024, "mimeType": "application/octet-stream", "text": base64.b64encode(body).decode(),
                 "encoding": "base64"}, response_headers=[{"name": "Content-Encoding", "value": "br"}])))


def test_a_br_body_is_decoded_its_key_found_and_the_whole_body_redacted(tmp_path: Path) -> None:
    """brotli is a dependency of the dumps extra: a key in a br body is found in the decoded view,
    the whole raw body string is redacted, and the output is certified with no key recoverable."""
    source = _br_har(tmp_path, brotli.compress(b"config:\n" + PEM_PKCS8.encode()))
    found = [f for f in scan_path(source).findings if not f.advisory]
    assert found and all("br" in f.detail or "decoded view" in f.detail for f in found), found
    raw = source.read_bytes()
    _, strings = har.parse(raw)
    body = next(s for s in strings if len(s.value) > 200)
    assert any(f.offset == body.start and f.end == body.end for f in found)
    out = _sanitized(source, tmp_path)
    assert out is not None  # certified
    assert set(out.read_bytes()[body.start:body.end]) == {ord(har.REDACTED_CHAR)}
    assert not recoverable(out, EC_KEY)


def test_a_br_body_that_is_not_brotli_is_refused(tmp_path: Path) -> None:
    source = _br_har(tmp_path, bytes(range(256)) * 4)  # not text, not brotli; holds no key
    assert "br body" in " ".join(scan_path(source).incomplete) and "is corrupt" in " ".join(
        scan_path(source).incomplete)
    refusal = _refused_reason(source, tmp_path)
    assert refusal.reason == DumpReason.SCAN_INCOMPLETE and "br body" in refusal.detail


def test_a_truncated_br_body_is_refused_not_clean(tmp_path: Path) -> None:
    cut = brotli.compress(bytes(range(256)) * 64, quality=1)[:-10]
    source = _br_har(tmp_path, cut)
    assert "does not end" in " ".join(scan_path(source).incomplete)
    refusal = _refused_reason(source, tmp_path)
    assert refusal.reason == DumpReason.SCAN_INCOMPLETE and "does not end" in refusal.detail


def test_a_gzip_body_that_does_not_end_is_refused(tmp_path: Path) -> None:
    cut = gzip.compress(b"harmless text " * 500)[:-20]
    source = _write(tmp_path / "in.har", _har(_entry(
        content={"size": 7000, "mimeType": "text/plain", "text": base64.b64encode(cut).decode(),
                 "encoding": "base64"}, response_headers=[{"name": "Content-Encoding", "value": "gzip"}])))
    refusal = _refused_reason(source, tmp_path)
    assert refusal.reason == DumpReason.SCAN_INCOMPLETE and "truncated" in refusal.detail


def test_views_are_bounded_by_the_expansion_budget_and_depth(tmp_path: Path) -> None:
    """Over the byte budget or the nesting depth: incomplete, never a pass (checked on the views
    themselves with small bounds, the sanitizer refusing on `incomplete` is tested above)."""
    bomb = gzip.compress(bytes(1 << 20))
    raw = json.dumps(_har(_entry(content={"size": 1, "mimeType": "application/octet-stream",
                                          "text": base64.b64encode(bomb).decode(), "encoding": "base64"},
                                 response_headers=[{"name": "Content-Encoding", "value": "gzip"}]))).encode()
    document, strings = har.parse(raw)
    _, incomplete = har.scan_views(raw, document, strings, KnownKeys(), [],
                                   budget=views.Budget(max_bytes=1 << 20, max_view_bytes=1 << 19))
    assert any("more than" in item or "past" in item for item in incomplete), incomplete
    many = [{"name": f"X-Blob-{n}", "value": base64.b64encode(bytes(range(n, n + 200)) * 2).decode()}
            for n in range(20)]  # each view small, together over the budget
    raw = json.dumps(_har(_entry(request_headers=many))).encode()
    document, strings = har.parse(raw)
    _, incomplete = har.scan_views(raw, document, strings, KnownKeys(), [], budget=views.Budget(max_bytes=4096))
    assert any("exceed the expansion budget" in item for item in incomplete), incomplete
    nested = PEM_PKCS8.encode()
    for _ in range(views.MAX_DEPTH + 1):
        nested = base64.b64encode(nested)
    raw = json.dumps(_har(_entry(request_headers=[{"name": "X-State", "value": nested.decode()}]))).encode()
    document, strings = har.parse(raw)
    _, incomplete = har.scan_views(raw, document, strings, KnownKeys(), select("text,der"))
    assert any("nested deeper" in item for item in incomplete), incomplete


def test_plain_hars_have_no_views_to_refuse(tmp_path: Path) -> None:
    """An ordinary HAR (text bodies, plain URLs) decodes to nothing incomplete and certifies."""
    source = _write(tmp_path / "in.har", _har(_entry(
        url="https://app.example/search?q=hello%20world&page=2",
        content={"size": 30, "mimeType": "application/json", "text": json.dumps({"items": ["a/b", "c"]})})))
    assert scan_path(source).incomplete == []
    assert _sanitized(source, tmp_path) is not None


@st.composite
def _hostile_json_string(draw: st.DrawFn, text: str) -> str:
    """`text` as a JSON string literal, each character raw, \\uXXXX (upper or lower hex) or a
    short escape where one is legal: any mix a hostile writer may produce."""
    short = {"/": "\\/", "\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f"}
    out = []
    for char in text:
        choices = ["u-lower", "u-upper"] + (["short"] if char in short else []) + \
            (["raw"] if char not in '"\\' and ord(char) >= 0x20 else [])
        how = draw(st.sampled_from(choices))
        if how == "raw":
            out.append(char)
        elif how == "short":
            out.append(short[char])
        else:
            code = f"{ord(char):04x}"
            out.append("\\u" + (code.upper() if how == "u-upper" else code))
    return '"' + "".join(out) + '"'


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), form=st.sampled_from(["pem-pkcs8-ec", "openssh-ed25519", "jwk-ec"]))
def test_hostile_escapes_never_hide_a_key(data: st.DataObject, form: str, tmp_path_factory: pytest.TempPathFactory
                                          ) -> None:
    tmp_path = tmp_path_factory.mktemp("hostile")
    key, text = FORMS[form]
    literal = data.draw(_hostile_json_string(text))
    raw = json.dumps(_placed("body", "PLACEHOLDER"), indent=1).replace('"PLACEHOLDER"', literal)
    source = tmp_path / "in.har"
    source.write_text(raw)
    assert recoverable(source, key)
    assert [f for f in scan_path(source).findings if not f.advisory]
    out = _sanitized(source, tmp_path)
    assert out is None or not recoverable(out, key)


def test_any_json_document_has_its_views_scanned(tmp_path: Path) -> None:
    """A JSON file that is not a HAR (read by the raw scanner) still has its strings decoded: a
    base64 PEM in a config is found, and sanitize leaves nothing recoverable."""
    source = tmp_path / "config.json"
    source.write_text(json.dumps({"service": "x", "blob": base64.b64encode(PEM_PKCS8.encode()).decode()}))
    report = scan_path(source)
    assert report.format == "raw"
    assert any("decoded view" in f.detail for f in report.findings)
    out = tmp_path / "out.json"
    sanitize(source, out, Home(tmp_path / "home"))
    assert EC_KEY.private_numbers().private_value.to_bytes(32, "big") not in b"".join(
        _layers(out.read_bytes()))


def test_the_har_sniff_reads_the_first_name_decoded() -> None:
    assert har.looks_like_har(b'{"\\u006c\\u006F\\u0067": {"entries": []}}')
    assert har.looks_like_har(b"{" + b" " * 80)  # the head ends before the first name: a HAR candidate
    assert not har.looks_like_har(b'{"keys": []}')


def test_a_key_found_in_the_raw_bytes_of_a_string_takes_the_whole_string(tmp_path: Path) -> None:
    """A PEM the byte detectors find as it stands (escaped newlines) inside a longer body: the
    whole body string goes, not only the PEM's bytes; a token's signature elsewhere is still cut
    exactly (its header and claims readable)."""
    token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9." + "S" * 86
    text = "debug dump follows\n" + PEM_PKCS8 + "\nend of dump, node 7"
    document = _har(_entry(request_headers=[{"name": "Authorization", "value": f"Bearer {token}"}],
                           content={"size": len(text), "mimeType": "text/plain", "text": text}))
    source = _write(tmp_path / "in.har", document)
    out = _sanitized(source, tmp_path)
    assert out is not None
    cleaned = json.loads(out.read_bytes())["log"]["entries"][0]
    assert set(cleaned["response"]["content"]["text"]) == {har.REDACTED_CHAR}
    header = cleaned["request"]["headers"][0]["value"]
    assert header.startswith("Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.") and header.endswith("x" * 86)


def test_tokens_and_api_keys_in_decoded_views_are_found_and_the_string_goes(tmp_path: Path) -> None:
    """A token only in a base64 body and an AWS key only inside a gzip body (binary around it):
    the HAR token checks run on the views, each finding is its whole raw string."""
    token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJib2IifQ." + "T" * 86
    aws = "AKIA" + "Q" * 16
    packed = gzip.compress(bytes(range(256)) + f" key {aws} ".encode() + bytes(range(256)))
    document = _har(_entry(content={"size": 1, "mimeType": "application/octet-stream",
                                    "text": base64.b64encode(packed).decode(), "encoding": "base64"},
                           response_headers=[{"name": "Content-Encoding", "value": "gzip"}]))
    document["log"]["entries"].append(_entry(
        content={"size": 1, "mimeType": "application/json", "encoding": "base64",
                 "text": base64.b64encode(json.dumps({"note": token}).encode()).decode()}))
    source = _write(tmp_path / "in.har", document)
    kinds = {f.kind for f in scan_path(source).findings if f.detector == har.DETECTOR and "base64" in f.encoding}
    assert {"jws-signature", "aws-access-key-id"} <= kinds
    out = _sanitized(source, tmp_path)
    assert out is not None
    for entry in json.loads(out.read_bytes())["log"]["entries"]:
        assert set(entry["response"]["content"]["text"]) == {har.REDACTED_CHAR}


@pytest.mark.parametrize("name,key,der", [
    ("pkcs1-rsa", RSA_KEY, RSA_KEY.private_bytes(ser.Encoding.DER, ser.PrivateFormat.TraditionalOpenSSL,
                                                  ser.NoEncryption())),
    ("pkcs8-ed25519", ED_KEY, ED_KEY.private_bytes(ser.Encoding.DER, ser.PrivateFormat.PKCS8, ser.NoEncryption())),
], ids=["pkcs1-rsa", "pkcs8-ed25519"])
@pytest.mark.parametrize("compressed", [False, True])
def test_binary_der_in_a_base64_body_is_found_and_cannot_be_recovered(name: str, key: Any, der: bytes,
                                                                      compressed: bool, tmp_path: Path) -> None:
    body = gzip.compress(der) if compressed else der
    source = _write(tmp_path / "in.har", _har(_entry(
        content={"size": len(der), "mimeType": "application/octet-stream", "encoding": "base64",
                 "text": base64.b64encode(body).decode()},
        response_headers=[{"name": "Content-Encoding", "value": "gzip"}] if compressed else [])))
    assert recoverable(source, key)
    assert [f for f in scan_path(source).findings if not f.advisory]
    out = _sanitized(source, tmp_path)
    assert out is None or not recoverable(out, key)
