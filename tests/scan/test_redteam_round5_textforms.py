"""Red team round 5 (issue #32), the text and structure forms: F7 indented base64, F8 PEM cut before
END behind a log prefix, F2 JWKs that are not JSON, F3 .NET RSAKeyValue XML, F5 BER with indefinite
lengths, F10 COSE_Key. Each artifact is written the way its writers write it (PyYAML, Kubernetes,
docker compose, Python's repr, .NET's ToXmlString, OpenSSL's BER reader, CBOR encoders that do not
canonicalise); each is read by the scanner's text detector and by the independent reader, with no
known keys (so no known-key window can find it): the rule named is the one that must."""

from __future__ import annotations

import base64
import textwrap
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import ECKey, OKPKey, RSAKey

from signward.dumps import KnownKeys, sanitize, scan_path
from signward.home import Home
from signward.scan.recheck import recheck_bytes
from tests.scan.material import EC, ED, RSA, known

NONE = serialization.NoEncryption()
PKCS8 = serialization.PrivateFormat.PKCS8
RSA_DER = RSA.private_bytes(serialization.Encoding.DER, PKCS8, NONE)
EC_DER = EC.private_bytes(serialization.Encoding.DER, PKCS8, NONE)
RSA_PEM = RSA.private_bytes(serialization.Encoding.PEM, PKCS8, NONE).decode()


def scanner(tmp_path: Path, data: bytes, keys: KnownKeys | None = None) -> list[tuple[str, bool]]:
    path = tmp_path / "artifact"
    path.write_bytes(data)
    return [(f.kind, f.verified) for f in scan_path(path, "text", keys).findings]


def reader(data: bytes) -> list[tuple[str, str]]:
    report = recheck_bytes(data, KnownKeys())
    assert not report.incomplete, report.incomplete
    return [(f.kind, f.key) for f in report.findings]


# ---- F7: base64 over indented lines
def _lines(blob: bytes, indents: list[str], width: int = 76, newline: str = "\n") -> str:
    rows = textwrap.wrap(base64.b64encode(blob).decode(), width)
    return newline.join(indents[i % len(indents)] + row for i, row in enumerate(rows)) + newline


INDENTED = {
    "yaml-binary": lambda b: "key: !!binary |\n" + _lines(b, ["    "]) + "next_key: value\n",
    "yaml-strip": lambda b: "data:\n  key: |-\n" + _lines(b, ["    "], 64) + "  other: 1\n",
    "tabs": lambda b: "key:\n" + _lines(b, ["\t\t"]),
    "crlf": lambda b: "key: !!binary |\r\n" + _lines(b, ["  "], 76, "\r\n") + "done: true\r\n",
    "xml-pretty": lambda b: "<config>\n  <key>\n" + _lines(b, ["      "]) + "  </key>\n</config>\n",
    "mixed-widths": lambda b: "key: |\n" + _lines(b, ["  ", "      ", "\t", "   "]),
    "after-a-word-line": lambda b: "  notes\n" + _lines(b, ["  "]) + "  trailer_words here\n",
}


@pytest.mark.parametrize("form", sorted(INDENTED))
@pytest.mark.parametrize("which", ["rsa", "ec"])
def test_f7_indented_base64_der_is_joined_by_both_readers(tmp_path: Path, form: str, which: str) -> None:
    blob = RSA_DER if which == "rsa" else EC_DER
    data = INDENTED[form](blob).encode()
    assert (f"base64-pkcs8-{which}", False) in scanner(tmp_path, data), scanner(tmp_path, data)
    kinds = reader(data)
    assert any(kind == "der" and label.startswith(("RSAPrivateKey", "ECPrivateKey", "ECPrivateKey"))
               for kind, label in kinds), kinds


# ---- F8: PEM cut before END behind a log prefix
def _cut_log(prefix: str, newline: str = "\n", lines: int = 17) -> bytes:
    kept = RSA_PEM.splitlines()[:lines]
    lead = [prefix.replace("%02d", f"{second:02d}") for second in range(lines + 3)]  # a timestamp ticks
    body = [f"{lead[0]}starting issuer", f"{lead[1]}loaded key:", *(lead[i + 2] + line for i, line in enumerate(kept)),
            f"{prefix}[log message truncated]", "proxy-1   | GET /healthz 200"]
    return (newline.join(body) + newline).encode()


@pytest.mark.parametrize("prefix,newline", [("issuer-1  | ", "\n"), ("[pod/issuer-7d9f/app] ", "\n"),
                                            ("2026-12-06T07:01:02Z issuer[812]: ", "\r\n"), ("", "\n"),
                                            ("Dec 06 07:01:%02d host issuer[812]: ", "\n")])
def test_f8_pem_cut_before_end_behind_a_prefix(tmp_path: Path, prefix: str, newline: str) -> None:
    data = _cut_log(prefix, newline)
    assert ("pem-private-key-cut", False) in scanner(tmp_path, data)
    kinds = reader(data)
    assert ("pem", "PRIVATE KEY armour cut before its END") in kinds, kinds


def test_f8_a_redacted_or_short_cut_armour_is_not_a_key(tmp_path: Path) -> None:
    redacted = "".join(f"app-1 | {line}\n" for line in ["-----BEGIN PRIVATE KEY-----", *["x" * 64] * 6, "[cut]"])
    short = "".join(f"app-1 | {line}\n" for line in RSA_PEM.splitlines()[:2])  # BEGIN + 64 characters
    for text in (redacted, short):
        assert scanner(tmp_path, text.encode()) == []
        assert reader(text.encode()) == []


def test_f8_sanitize_redacts_the_cut_key(tmp_path: Path) -> None:
    source = tmp_path / "issuer.log"
    source.write_bytes(_cut_log("issuer-1  | "))
    sanitize(source, tmp_path / "out.log", Home(tmp_path / "home"), KnownKeys())
    out = (tmp_path / "out.log").read_bytes()
    for line in RSA_PEM.splitlines()[1:16]:
        assert line.encode() not in out


# ---- F2: JWKs that are not JSON
def _jwks() -> dict[str, dict[str, Any]]:
    return {"EC": ECKey.import_key(EC).as_dict(private=True), "OKP": OKPKey.import_key(ED).as_dict(private=True),
            "RSA": RSAKey.import_key(RSA).as_dict(private=True)}


NOT_JSON = {
    "python-repr": lambda jwk: "DEBUG loaded signing key %r\n" % (jwk,),
    "yaml-block": lambda jwk: "signing:\n  jwk:\n" + "".join(f"    {k}: {v}\n" for k, v in jwk.items()) + "  n: 1\n",
    "yaml-flow": lambda jwk: "jwk: {" + ", ".join(f"{k}: {v}" for k, v in jwk.items()) + "}\n",
    "yaml-jwks": lambda jwk: "keys:\n" + "".join(("  - " if i == 0 else "    ") + f"{k}: {v}\n"
                                                 for i, (k, v) in enumerate(sorted(jwk.items()))),
    "ruby-hash": lambda jwk: "key = {" + ", ".join(f'"{k}" => "{v}"' for k, v in jwk.items()) + "}\n",
    "go-map": lambda jwk: "loaded map[" + " ".join(f"{k}:{v}" for k, v in sorted(jwk.items())) + "]\n",
    "toml": lambda jwk: "[jwk]\n" + "".join(f'{k} = "{v}"\n' for k, v in jwk.items()) + "\n",
    "js-literal": lambda jwk: "const key = {" + ", ".join(f"{k}: '{v}'" for k, v in jwk.items()) + "};\n",
    "json5": lambda jwk: "{\n" + "".join(f'  {k}: "{v}",\n' for k, v in jwk.items()) + "}\n",
}
LOADED = {"EC": "ECPrivateKey", "OKP": "Ed25519PrivateKey", "RSA": "RSAPrivateKey"}


@pytest.mark.parametrize("form", sorted(NOT_JSON))
@pytest.mark.parametrize("kty", ["EC", "OKP", "RSA"])
def test_f2_private_jwk_not_json_is_loaded_by_both_readers(tmp_path: Path, form: str, kty: str) -> None:
    jwks = _jwks()
    others = [NOT_JSON[form](jwks[other]) for other in sorted(jwks) if other != kty]
    data = (others[0] + NOT_JSON[form](jwks[kty]) + others[1]).encode()  # a neighbour on each side
    keys = known(EC, ED, RSA)
    assert (f"jwk-{kty.lower()}-private-not-json", True) in scanner(tmp_path, data, keys)  # loaded: verified
    kinds = reader(data)
    assert [label for kind, label in kinds if kind == "jwk"].count(LOADED[kty]) == 1, kinds


def test_f2_two_keys_on_one_line_stay_apart(tmp_path: Path) -> None:
    # a JWKS as a JS literal on one line, kty first: the first key's members sit right before the
    # second's kty, nearer than its own
    second = ec.generate_private_key(ec.SECP256R1())
    jwks = [ECKey.import_key(key).as_dict(private=True) for key in (EC, second)]
    data = ("const jwks = {keys: [" + ", ".join(
        "{" + ", ".join(f"{k}: '{v}'" for k, v in sorted(jwk.items(), key=lambda kv: kv[0] != "kty")) + "}"
        for jwk in jwks) + "]};\n").encode()
    assert scanner(tmp_path, data, known(EC, second)) == [("jwk-ec-private-not-json", True)] * 2
    assert reader(data) == [("jwk", "ECPrivateKey")] * 2


def test_f2_public_jwk_not_json_is_not_a_finding(tmp_path: Path) -> None:
    public = RSAKey.import_key(RSA.public_key()).as_dict()
    example = ("    jwk.thumbprint({\n        'kty': 'oct',\n"
               "        'k': 'sTBpI_oCHSyW-n0exSwhzNHwU9FGRioPauxWA84bnRU'\n")
    placeholder = "{'kty': 'EC', 'crv': 'P-256', 'd': '...', 'x': '...'}\n"  # documentation, not a key
    data = ("jwk:\n" + "".join(f"  {k}: {v}\n" for k, v in public.items()) + "%r\n" % (public,) + example +
            placeholder).encode()
    assert scanner(tmp_path, data) == []
    assert reader(data) == []


# ---- F3: .NET XML RSAKeyValue
def _b64(value: int, wrap: str | None) -> str:
    text = base64.b64encode(value.to_bytes((value.bit_length() + 7) // 8, "big")).decode()
    return text if wrap is None else "\n" + "\n".join(wrap + row for row in textwrap.wrap(text, 64)) + "\n  "


def _rsa_key_value(prefix: str, wrap: str | None, private: bool = True) -> bytes:
    numbers = RSA.private_numbers()
    fields = {"Modulus": numbers.public_numbers.n, "Exponent": numbers.public_numbers.e}
    if private:
        fields |= {"P": numbers.p, "Q": numbers.q, "DP": numbers.dmp1, "DQ": numbers.dmq1, "InverseQ": numbers.iqmp,
                   "D": numbers.d}
    space = "\n  " if wrap is not None else ""
    inner = "".join(f"{space}<{prefix}{tag}>{_b64(value, wrap)}</{prefix}{tag} >" for tag, value in fields.items())
    xmlns = f' xmlns:{prefix[:-1]}="http://www.w3.org/2000/09/xmldsig#"' if prefix else ""
    return (f'<?xml version="1.0"?>\n<configuration>\n<{prefix}RSAKeyValue{xmlns}>{inner}\n</{prefix}RSAKeyValue>\n'
            "</configuration>\n").encode()


@pytest.mark.parametrize("prefix", ["", "ds:"])
@pytest.mark.parametrize("wrap", [None, "    "])
def test_f3_xml_rsakeyvalue_is_loaded_by_both_readers(tmp_path: Path, prefix: str, wrap: str | None) -> None:
    data = _rsa_key_value(prefix, wrap)
    assert ("xml-rsakeyvalue-private", True) in scanner(tmp_path, data, known(RSA))
    assert ("xml", "RSAPrivateKey") in reader(data)


def test_f3_public_rsakeyvalue_is_not_a_finding(tmp_path: Path) -> None:
    data = _rsa_key_value("ds:", "  ", private=False)
    assert scanner(tmp_path, data) == []
    assert reader(data) == []


# ---- F5: BER with indefinite lengths
def _tlv(tag: int, body: bytes, indefinite: bool = False) -> bytes:
    if indefinite:
        return bytes([tag, 0x80]) + body + b"\x00\x00"
    size = len(body)
    head = bytes([size]) if size < 128 else bytes([0x81, size]) if size < 256 else b"\x82" + size.to_bytes(2, "big")
    return bytes([tag]) + head + body


def _ber_keys() -> dict[str, bytes]:
    scalar = EC.private_numbers().private_value.to_bytes(32, "big")
    point = EC.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    p256, ec_oid = bytes.fromhex("06082a8648ce3d030107"), bytes.fromhex("06072a8648ce3d0201")
    sec1 = _tlv(0x30, _tlv(0x02, b"\x01") + _tlv(0x04, scalar) + _tlv(0xA0, p256, True) +
                _tlv(0xA1, _tlv(0x03, b"\x00" + point), True), True)
    inner = _tlv(0x30, _tlv(0x02, b"\x01") + _tlv(0x04, scalar) + _tlv(0xA1, _tlv(0x03, b"\x00" + point), True), True)
    pkcs8 = _tlv(0x30, _tlv(0x02, b"\x00") + _tlv(0x30, ec_oid + p256, True) + _tlv(0x04, inner), True)
    outer_definite = _tlv(0x30, _tlv(0x02, b"\x01") + _tlv(0x04, scalar) + _tlv(0xA0, p256) +
                          _tlv(0xA1, _tlv(0x03, b"\x00" + point), True))
    return {"sec1": sec1, "pkcs8": pkcs8, "definite-outside": outer_definite}


@pytest.mark.parametrize("form", ["sec1", "pkcs8", "definite-outside"])
def test_f5_ber_with_nested_indefinite_lengths(tmp_path: Path, form: str) -> None:
    data = b"\x00" * 512 + _ber_keys()[form] + b"\x00" * 512
    assert ("ber-indefinite-private-key", True) in scanner(tmp_path, data, known(EC))
    assert ("ber", "ECPrivateKey") in reader(data)


# ---- F10: COSE_Key, canonical and not
def _cose(label: bytes, length: bytes, count: bytes, okp: bool = False) -> bytes:
    if okp:
        x = ED.public_key().public_bytes_raw()
        d = ED.private_bytes_raw()
        return count + b"\x01\x01" + b"\x20\x06" + b"\x21" + length + x + label + length + d
    numbers = EC.private_numbers()
    x, y = numbers.public_numbers.x.to_bytes(32, "big"), numbers.public_numbers.y.to_bytes(32, "big")
    d = numbers.private_value.to_bytes(32, "big")
    return count + b"\x01\x02" + b"\x20\x01" + b"\x21" + length + x + b"\x22" + length + y + label + length + d


@pytest.mark.parametrize("label,length,count", [(b"\x23", b"\x58\x20", b"\xa5"), (b"\x38\x03", b"\x58\x20", b"\xa5"),
                                                (b"\x39\x00\x03", b"\x59\x00\x20", b"\xb8\x05"),
                                                (b"\x3a\x00\x00\x00\x03", b"\x5a\x00\x00\x00\x20", b"\xa5")])
def test_f10_cose_key_in_any_integer_encoding(tmp_path: Path, label: bytes, length: bytes, count: bytes) -> None:
    data = b"\xd9\xd9\xf7" + _cose(label, length, count) + b"\x00" * 64
    assert ("cose-key-private", True) in scanner(tmp_path, data, known(EC))
    assert ("cose", "ECPrivateKey") in reader(data)


def test_f10_cose_okp_key(tmp_path: Path) -> None:
    data = b"\x00" * 16 + _cose(b"\x23", b"\x58\x20", b"\xa4", okp=True)
    assert ("cose-key-private", True) in scanner(tmp_path, data, known(ED))
    assert ("cose", "Ed25519PrivateKey") in reader(data)


def test_f5_plain_der_is_left_to_the_der_rules(tmp_path: Path) -> None:
    data = b"\x00" * 64 + EC_DER + b"\x00" * 64
    assert not [kind for kind, _ in scanner(tmp_path, data) if kind.startswith("ber")]
    kinds = reader(data)
    assert ("der", "ECPrivateKey") in kinds and not [kind for kind, _ in kinds if kind == "ber"], kinds


def test_f10_cose_public_key_is_not_a_finding(tmp_path: Path) -> None:
    numbers = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    x, y = numbers.x.to_bytes(32, "big"), numbers.y.to_bytes(32, "big")
    data = b"\xa4\x01\x02\x20\x01\x21\x58\x20" + x + b"\x22\x58\x20" + y
    assert scanner(tmp_path, data) == []
    assert reader(data) == []
