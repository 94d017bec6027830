"""The generative proof (issue #32 point 4): for every key type x form x encoding x container,
`sanitize` either refuses or writes an output from which no key is recoverable.

The judge is an independent recoverer written here, not the sanitizer's scanner nor
signward.scan.recheck: it decodes everything the standard library can (archives, gzip/zlib,
JSON strings, base64/base64url/hex/percent runs, UTF-16) and looks for the secret itself (the
private scalar, seed, primes, AES key, in either byte order) in every decoded view. CI runs a
few examples (SIGNWARD_GENERATIVE_EXAMPLES, default 10); bench/artifacts_generative.py runs many.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import json
import os
import re
import tarfile
import urllib.parse
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from signward.dumps import KnownKeys, sanitize
from signward.errors import DumpFormatError, DumpRefused
from signward.home import Home
from signward.scan.knownkeys import aes_key_id, known_key
from tests.scan.material import EC, ED, RSA

AES = bytes.fromhex("8d2f5c0e61a93b7d04e8f1c2a5b6d7e9f0a1b2c3d4e5f60718293a4b5c6d7e8f")
TYPES = ["rsa", "ec", "ed25519", "aes", "jwk"]
FORMS = ["pem-pkcs8", "pem-traditional", "der-pkcs8", "der-traditional", "openssh", "raw", "jwk"]
ENCODINGS = ["raw", "base64", "base64url", "hex", "json-php", "json-u-all", "json-u-some", "percent", "gzip",
             "utf16"]
CONTAINERS = ["har-header", "har-cookie", "har-query", "har-post", "har-response", "har-response-base64",
              "tar", "tar.gz", "zip", "zip-in-tar.gz", "image"]
MEMBER_NAMES = ["k.pem", "./k.pem", "./keys/a.pem", "a//b/./k.bin", "dir/../dir/k", "K E Y.txt", "ключ.pem"]


@dataclass(frozen=True)
class Case:
    kind: str
    form: str
    encoding: str
    container: str
    member: str = "k.pem"
    seed: int = 0

    def describe(self) -> str:
        return f"{self.kind}/{self.form}/{self.encoding}/{self.container}/{self.member!r}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def secret_bytes(kind: str, form: str) -> bytes:
    """The key in one of its forms (forms a key type does not have fall back to PKCS#8 PEM)."""
    if kind == "aes":
        return AES if form != "jwk" else json.dumps({"kty": "oct", "k": _b64url(AES)}).encode()
    if kind == "jwk" or form == "jwk":
        numbers = EC.private_numbers()
        return json.dumps({"kty": "EC", "crv": "P-256", "x": _b64url(numbers.public_numbers.x.to_bytes(32, "big")),
                           "y": _b64url(numbers.public_numbers.y.to_bytes(32, "big")),
                           "d": _b64url(numbers.private_value.to_bytes(32, "big"))}).encode()
    key = {"rsa": RSA, "ec": EC, "ed25519": ED}[kind]
    if form == "raw":
        if kind == "rsa":
            return RSA.private_numbers().p.to_bytes(128, "big")
        if kind == "ec":
            return EC.private_numbers().private_value.to_bytes(32, "big")
        return ED.private_bytes_raw()
    if form == "openssh":
        return key.private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption())  # type: ignore[attr-defined]
    encoding = Encoding.PEM if form.startswith("pem") else Encoding.DER
    private_format = PrivateFormat.PKCS8
    if form.endswith("traditional") and kind != "ed25519":
        private_format = PrivateFormat.TraditionalOpenSSL
    return key.private_bytes(encoding, private_format, NoEncryption())  # type: ignore[attr-defined, no-any-return]


def encode(data: bytes, encoding: str, seed: int) -> str:
    """The secret as text one writer or another puts into an artifact; binary as Latin-1."""
    if encoding == "base64":
        return base64.b64encode(data).decode()
    if encoding == "base64url":
        return _b64url(data)
    if encoding == "hex":
        return data.hex()
    if encoding == "percent":
        return urllib.parse.quote_from_bytes(data, safe="")
    if encoding == "gzip":
        return base64.b64encode(gzip.compress(data, mtime=0)).decode()  # gzip in text travels as base64
    if encoding == "utf16":
        return data.decode("latin-1").encode("utf-16-le").decode("latin-1")
    return data.decode("latin-1")  # raw, and the json-* forms (escaped when written into JSON)


def json_text(value: object, encoding: str, seed: int) -> bytes:
    """JSON as different writers write it: plain, PHP's `\\/`, every character `\\uXXXX`, some."""
    text = json.dumps(value)
    if encoding == "json-php":
        return text.replace("/", "\\/").encode()
    if encoding in ("json-u-all", "json-u-some"):  # re-escape string contents, never the structure
        def literal(match: re.Match[str]) -> str:
            tokens = re.findall(r"\\u[0-9a-fA-F]{4}|\\.|.", match.group(1), re.DOTALL)
            return '"' + "".join(f"\\u{ord(t):04x}" if len(t) == 1 and (encoding == "json-u-all" or
                                                                     (i * 7 + seed) % 3 == 0) else t
                                 for i, t in enumerate(tokens)) + '"'

        return re.sub(r'"((?:\\.|[^"\\])*)"', literal, text).encode()
    return text.encode()


def _har(entry: dict[str, object], encoding: str, seed: int) -> bytes:
    base = {"startedDateTime": "2026-11-01T00:00:00Z", "time": 1, "cache": {}, "timings": {"send": 0, "wait": 0,
                                                                                         "receive": 0},
            "request": {"method": "GET", "url": "https://app.example/api", "httpVersion": "HTTP/1.1", "headers": [],
                        "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},
            "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "headers": [], "cookies": [],
                         "content": {"size": 0, "mimeType": "text/plain", "text": ""}, "redirectURL": "",
                         "headersSize": -1, "bodySize": 0}}
    for part, values in entry.items():
        base[part].update(values)  # type: ignore[union-attr, attr-defined]
    return json_text({"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": [base]}},
                     encoding, seed)


def _tar(members: dict[str, bytes], gz: bool) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz" if gz else "w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def build(case: Case) -> bytes:
    """The artifact: the encoded secret placed in the container."""
    text = encode(secret_bytes(case.kind, case.form), case.encoding, case.seed)
    if case.container.startswith("har"):
        if case.container == "har-header":
            entry = {"request": {"headers": [{"name": "X-Key", "value": text}]}}
        elif case.container == "har-cookie":
            entry = {"request": {"cookies": [{"name": "k", "value": text}]}}
        elif case.container == "har-query":
            entry = {"request": {"queryString": [{"name": "k", "value": text}],
                                 "url": "https://app.example/api?k=" + urllib.parse.quote(text, safe="")}}
        elif case.container == "har-post":
            entry = {"request": {"method": "POST", "postData": {"mimeType": "text/plain", "text": text}}}
        elif case.container == "har-response":
            entry = {"response": {"content": {"size": len(text), "mimeType": "text/plain", "text": text}}}
        else:
            body = base64.b64encode(text.encode("latin-1")).decode()
            entry = {"response": {"content": {"size": len(text), "mimeType": "application/octet-stream",
                                              "encoding": "base64", "text": body}}}
        return _har(entry, case.encoding, case.seed)
    payload = text.encode("latin-1")
    if case.encoding.startswith("json"):
        payload = json_text({"config": {"key": text}}, case.encoding, case.seed)
    if case.container == "image":
        filler = bytes((i * 37 + 11) % 251 for i in range(8192))
        return filler + payload + filler
    members = {"notes.txt": b"support bundle\n", case.member: payload}
    if case.container == "zip":
        return _zip(members)
    if case.container == "zip-in-tar.gz":
        return _tar({"inner.zip": _zip(members), "README": b"nested\n"}, gz=True)
    return _tar(members, gz=case.container == "tar.gz")


# ---- the independent recoverer


def needles(kind: str, form: str = "") -> list[bytes]:
    """What a recovered key would contain, in either byte order (a JWK form is the EC key's)."""
    if form == "jwk" and kind != "aes":
        kind = "ec"
    if kind == "aes":
        values = [AES]
    elif kind == "rsa":
        numbers = RSA.private_numbers()
        values = [numbers.p.to_bytes(128, "big"), numbers.q.to_bytes(128, "big")]
    elif kind == "ed25519":
        values = [ED.private_bytes_raw()]
    else:
        values = [EC.private_numbers().private_value.to_bytes(32, "big")]
    return values + [v[::-1] for v in values]


_RUN64 = re.compile(rb"[A-Za-z0-9+/_-]{16,}(?:(?:\\n|\n|\r\n)[A-Za-z0-9+/_-]{4,})*")
_RUNHEX = re.compile(rb"[0-9a-fA-F]{32,}")
_JSON_LITERAL = re.compile(rb'(?=("(?:\\.|[^"\\\x00-\x1f\x7f-\xff])*"))')  # every string literal, overlapping
_RUNPCT = re.compile(rb"[^\s\"&?=]*%[0-9A-Fa-f]{2}[^\s\"&]*")


def recoverable(data: bytes, kind: str, depth: int = 0, seen: set[bytes] | None = None, form: str = "") -> bool:
    """True when the secret can be read out of `data` through the layers the stdlib decodes."""
    seen = set() if seen is None else seen
    if depth > 7 or data in seen or len(seen) > 20000:
        return False
    seen.add(data)
    if any(n in data for n in needles(kind, form)):
        return True
    views: list[bytes] = []
    if data[257:262] == b"ustar":
        try:
            with tarfile.open(fileobj=io.BytesIO(data)) as archive:
                views += [archive.extractfile(m).read() for m in archive if m.isfile()]  # type: ignore[union-attr]
        except tarfile.TarError:
            pass
    if data[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                views += [archive.read(i) for i in archive.infolist()]
        except zipfile.BadZipFile:
            pass
    for bits in (31, 15, -15):
        try:
            views.append(zlib.decompressobj(bits).decompress(data))
        except zlib.error:
            pass
    try:
        strings: list[str] = []
        stack = [json.loads(data)]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                stack += list(item.values())
            elif isinstance(item, list):
                stack += item
            elif isinstance(item, str):
                strings.append(item)
        for value in strings:
            views.append(value.encode("utf-8", "surrogatepass"))
            views.append(value.encode("latin-1", "ignore"))
    except (ValueError, RecursionError):
        pass
    for match in _JSON_LITERAL.finditer(data):  # JSON inside other bytes
        if b"\\" not in match.group(1):
            continue
        try:
            views.append(json.loads(match.group(1)).encode("latin-1", "ignore"))
        except ValueError:
            pass
    for match in _RUN64.finditer(data):
        run = re.sub(rb"\\n|\n|\r", b"", match.group(0))
        for alt in (b"+/", b"-_"):
            for shift in range(4):
                part = run[shift:]
                part = part[: len(part) // 4 * 4] if len(part) % 4 == 1 else part
                try:
                    views.append(base64.b64decode(part + b"=" * (-len(part) % 4), altchars=alt))
                except (binascii.Error, ValueError):
                    pass
    for match in _RUNHEX.finditer(data):
        views.append(binascii.unhexlify(match.group(0)[: len(match.group(0)) // 2 * 2]))
    for match in _RUNPCT.finditer(data):
        views.append(urllib.parse.unquote_to_bytes(match.group(0)))
    for codec in ("utf-16-le", "utf-16-be"):
        for start in (0, 1):
            views.append(data[start:].decode(codec, "ignore").encode("latin-1", "ignore"))
    return any(recoverable(v, kind, depth + 1, seen, form) for v in views if len(v) >= 16)


def known_keys() -> KnownKeys:
    return KnownKeys([k for k in (known_key(x.public_key()) for x in (RSA, EC, ED)) if k is not None],
                     secret_ids=[aes_key_id(AES)])


def judge(case: Case, directory: Path) -> str:
    """'refused:<reason>' or 'clean' (and then no key is recoverable: AssertionError otherwise)."""
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / "artifact"
    source.write_bytes(build(case))
    assert recoverable(source.read_bytes(), case.kind, form=case.form), (
        f"the recoverer cannot read its own case {case.describe()}")
    out = directory / "out"
    try:
        sanitize(source, out, Home(directory / "home"), known_keys())
    except DumpRefused as refusal:
        assert not out.exists()
        return f"refused:{refusal.reason}: {refusal.detail}"
    except DumpFormatError:
        assert not out.exists()
        return "refused:unreadable"
    assert not recoverable(out.read_bytes(), case.kind, form=case.form), (
        f"certified with the key inside: {case.describe()}")
    return "clean"


CASES = st.builds(Case, st.sampled_from(TYPES), st.sampled_from(FORMS), st.sampled_from(ENCODINGS),
                  st.sampled_from(CONTAINERS), st.sampled_from(MEMBER_NAMES), st.integers(0, 1000))
EXAMPLES = int(os.environ.get("SIGNWARD_GENERATIVE_EXAMPLES", "10"))


@settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=CASES)
def test_sanitize_refuses_or_no_key_is_recoverable(case: Case, tmp_path: Path) -> None:
    judge(case, tmp_path / f"case-{abs(hash(case))}")


@pytest.mark.parametrize("case", [
    Case("ec", "pem-pkcs8", "json-php", "har-response"),  # issue #32: PHP's json_encode
    Case("ec", "pem-pkcs8", "json-u-all", "har-post"),  # every character \uXXXX
    Case("rsa", "pem-pkcs8", "raw", "har-response-base64"),  # a base64 body
    Case("ed25519", "der-pkcs8", "raw", "tar.gz", "./keys/server.pem"),  # tar -C dir -czf x.tgz .
    Case("ec", "raw", "base64url", "har-cookie"),  # a bare scalar
    Case("aes", "raw", "hex", "image"),
    Case("jwk", "jwk", "percent", "har-query"),
    Case("rsa", "openssh", "gzip", "zip-in-tar.gz", "a//b/./k.bin"),
], ids=lambda case: case.describe())
def test_the_cases_of_issue_32_are_refused_or_clean(case: Case, tmp_path: Path) -> None:
    judge(case, tmp_path)
