"""OpenSSL's text printout of a private key (`openssl pkey -text -noout`, `openssl rsa|ec -text`),
plain, behind each line prefix a log or a tool writes (`grep -n`, `grep -rn -A`, syslog, docker
timestamps, `cat -n`), collapsed onto one line (`echo $(...)`, `tr`) and re-wrapped by `fold`:
found by the scanner's keytext rule (detectors/keytext.py, in the text detector) with its kind,
only where the key is proven. Keys made by the real `openssl` binary, once per module."""

from __future__ import annotations

import functools
import json
import random
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from signward.dumps import KnownKeys, sanitize, scan_path
from signward.home import Home
from signward.scan.detectors import keytext
from signward.scan.detectors.keytext import keytext_hits

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl binary")

GENPKEY = {
    "rsa2048": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    "p256": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    "p384": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
    "secp256k1": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1"],
    "brainpoolP256r1": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:brainpoolP256r1"],
    "ed25519": ["-algorithm", "ED25519"],
    "x25519": ["-algorithm", "X25519"],
}
KINDS = {"rsa2048": "keytext-rsa-private", "ed25519": "keytext-ed25519-private",
         "x25519": "keytext-x25519-private"}
LOG_HEAD = b"".join(b"issuer: request %d served\n" % i for i in range(8))  # line numbers pass 10 and 100


def _run(args: list[str], data: bytes = b"") -> bytes:
    return subprocess.run(args, input=data, capture_output=True, check=True, timeout=60).stdout


@functools.cache
def _key(name: str) -> tuple[bytes, bytes]:
    """(PEM, `openssl pkey -text -noout` printout) of a fresh key made by openssl."""
    pem = _run(["openssl", "genpkey", *GENPKEY[name]])
    return pem, _run(["openssl", "pkey", "-text", "-noout"], pem)


@functools.cache
def _other(name: str) -> bytes:
    """The printout of a second key of the same kind (the near misses' parts)."""
    return _run(["openssl", "pkey", "-text", "-noout"], _run(["openssl", "genpkey", *GENPKEY[name]]))


def _private(pem: bytes) -> object:
    key = serialization.load_pem_private_key(pem, None)
    return key.private_numbers() if hasattr(key, "private_numbers") else key.private_bytes_raw()


def _numbers(key: object) -> object:
    return key.private_numbers() if hasattr(key, "private_numbers") else key.private_bytes_raw()


def _prefixed(text: bytes, prefix: Callable[[int], bytes]) -> bytes:
    return b"".join(prefix(i) + line for i, line in enumerate(text.splitlines(keepends=True)))


def _grep_rn(text: bytes, tmp: Path) -> bytes:
    folder = tmp / "logs"
    folder.mkdir(exist_ok=True)
    (folder / "issuer.log").write_bytes(text + b"request 9 served\n")
    return _run(["grep", "-rn", "-A", "400", "Private-Key", str(folder)])


PIDS = random.Random(21)
FORMS: dict[str, Callable[[bytes, Path], bytes]] = {
    "plain": lambda text, tmp: text,
    "grep_n": lambda text, tmp: _run(["grep", "-n", ""], LOG_HEAD + text),
    "grep_rn_A": _grep_rn,
    "syslog": lambda text, tmp: _prefixed(text, lambda i: b"Dec  7 19:23:%02d signhost issuer[%d]: " % (
        i % 60, PIDS.choice([7, 42, 913, 31337, 4194303]))),
    "docker": lambda text, tmp: _prefixed(text, lambda i: b"2026-12-07T19:23:22.%09dZ " % (i * 7919)),
    "cat_n": lambda text, tmp: _run(["cat", "-n"], LOG_HEAD + text),
    # docker's json-file log driver, one object a line, as `tail -n +1` of a bundle's logs shows it (a file of
    # JSON lines alone is not read as text: the scanner takes a file opening with `{` as one JSON document)
    "docker_json": lambda text, tmp: b"==> containers/issuer-json.log <==\n" + b"".join(json.dumps(
        {"log": line.decode(), "stream": "stdout", "time": f"2026-12-07T19:23:{i % 60:02d}.{i * 7919:09d}Z"},
        separators=(",", ":")).encode() + b"\n" for i, line in enumerate(text.splitlines(keepends=True))),
    "echo_collapsed": lambda text, tmp: _run(["bash", "-c", 'echo $(cat)'], text),
    "tr_collapsed": lambda text, tmp: _run(["tr", "\\n", " "], text),
    "fold40": lambda text, tmp: _run(["fold", "-w", "40"], text),
    "fold37": lambda text, tmp: _run(["fold", "-w", "37"], text),
}


def _found(data: bytes, tmp: Path) -> list[tuple[str, object]]:
    path = tmp / "ticket.txt"
    path.write_bytes(data)
    report = scan_path(path, "text", KnownKeys())
    assert not report.incomplete, report.incomplete
    return [(f.kind, f.detector) for f in report.findings]


@pytest.mark.parametrize("name", list(GENPKEY))
def test_a_plain_printout_is_found_and_proven(name: str) -> None:
    pem, text = _key(name)
    data = b"support ticket 4411, pasted output:\n" + text + b"thanks\n"
    ((start, end, kind, key),) = list(keytext_hits(data))
    assert kind == KINDS.get(name, "keytext-ec-private")
    assert _numbers(key) == _private(pem)
    assert (start, end) == (data.index(b"Private-Key"), data.index(b"thanks") - 1) or name.startswith(("ed", "x"))
    assert data[start:end].rstrip().endswith(text.rstrip().splitlines()[-1].strip())


@pytest.mark.parametrize("form", list(FORMS))
@pytest.mark.parametrize("name", list(GENPKEY))
def test_each_form_is_found_by_the_scanner_with_its_kind(tmp_path: Path, name: str, form: str) -> None:
    data = FORMS[form](_key(name)[1], tmp_path)
    assert b"-----BEGIN" not in data
    assert (KINDS.get(name, "keytext-ec-private"), "text") in _found(data, tmp_path), (name, form)


@pytest.mark.parametrize("tool", ["rsa", "ec"])
def test_the_rsa_and_ec_commands_printouts_with_their_pem_are_found(tool: str) -> None:
    pem = _run(["openssl", "genpkey", *GENPKEY["rsa2048" if tool == "rsa" else "p384"]])
    text = _run(["openssl", tool, "-text"], pem)
    kinds = [hit[2] for hit in keytext_hits(text)]
    assert kinds == ["keytext-rsa-private" if tool == "rsa" else "keytext-ec-private"]


def _blocks(text: bytes) -> dict[bytes, tuple[int, int]]:
    """label -> (start, end) of each block's lines in a plain printout."""
    spans: dict[bytes, tuple[int, int]] = {}
    for match in re.finditer(rb"^([A-Za-z0-9]+):\n((?:    [0-9a-f:]+\n)+)", text, re.M):
        spans[match.group(1)] = match.span(2)
    return spans


def _swap(text: bytes, label: bytes, other: bytes) -> bytes:
    start, end = _blocks(text)[label]
    other_start, other_end = _blocks(other)[label]
    return text[:start] + other[other_start:other_end] + text[end:]


def _without(text: bytes, label: bytes) -> bytes:
    start, end = _blocks(text)[label]
    return text[:start - len(label) - 2] + text[end:]


def _headless(text: bytes) -> bytes:
    """The printout without its `Private-Key:` header (under one, any private value is a finding)."""
    return re.sub(rb"(?:[A-Z0-9]+ )?Private-Key:[^\n]*\n", b"", text)


def _kinds(text: bytes) -> list[str]:
    return [hit[2] for hit in keytext_hits(text)]


def test_a_prime_that_does_not_divide_the_modulus_is_not_a_key() -> None:
    """Not proven (another key's primes and d): no key without the header; under it, the private
    values are still a finding, of the kind that says it is not proven."""
    _, text = _key("rsa2048")
    other = _other("rsa2048")
    mixed = _swap(_swap(_swap(text, b"prime1", other), b"prime2", other), b"privateExponent", other)
    assert not list(keytext_hits(_headless(mixed)))
    assert _kinds(mixed) == [keytext.UNPROVEN]
    assert [h[2] for h in keytext_hits(_swap(text, b"prime1", other))] == ["keytext-rsa-private"]  # prime2 divides


def test_rsa_with_no_prime_is_proven_by_its_exponent() -> None:
    pem, text = _key("rsa2048")
    alone = _without(_without(text, b"prime1"), b"prime2")
    ((_, _, kind, key),) = list(keytext_hits(alone))
    assert kind == "keytext-rsa-private" and key.private_numbers() == _private(pem)
    other = _other("rsa2048")
    assert not list(keytext_hits(_headless(_swap(alone, b"privateExponent", other))))
    assert _kinds(_swap(alone, b"privateExponent", other)) == [keytext.UNPROVEN]


@pytest.mark.parametrize("name", ["p256", "brainpoolP256r1", "ed25519", "x25519"])
def test_a_pub_that_the_priv_does_not_derive_is_not_a_key(name: str) -> None:
    _, text = _key(name)
    other = _other(name)
    assert not list(keytext_hits(_headless(_swap(text, b"pub", other))))
    assert _kinds(_swap(text, b"pub", other)) == [keytext.UNPROVEN]  # a pub changed: the priv is still there


@pytest.mark.parametrize("name", ["p256", "secp256k1", "ed25519", "x25519"])
def test_a_priv_with_no_pub_under_a_named_curve_is_unpaired(name: str) -> None:
    pem, text = _key(name)
    ((_, _, kind, key),) = list(keytext_hits(_without(text, b"pub")))
    assert kind == KINDS.get(name, "keytext-ec-private") + "-unpaired"
    assert _numbers(key) == _private(pem)


def test_an_ec_curve_not_named_is_found_by_its_pub() -> None:
    pem, text = _key("brainpoolP256r1")
    bare = re.sub(rb"ASN1 OID: \S+\n", b"", re.sub(rb"Private-Key: \(256 bit\)\n", b"", text))
    ((_, _, kind, key),) = list(keytext_hits(bare))
    assert kind == "keytext-ec-private" and key.private_numbers() == _private(pem)
    # a priv alone with neither header, curve nor pub is labelled hex, not a proven key
    assert not list(keytext_hits(_without(bare, b"pub")))


def test_a_config_with_many_priv_labels_and_no_key_is_read_quickly(tmp_path: Path) -> None:
    rng = random.Random(32)
    lines = [b"node-%d:\n  priv: %s\n  pub: 0x%s\n  modulus: %d\n" % (i, rng.randbytes(8).hex().encode(),
             rng.randbytes(4).hex().encode(), rng.getrandbits(64)) for i in range(10_000)]
    data = b"".join(lines)
    started = time.process_time()
    assert not list(keytext_hits(data, cut := []))
    assert not cut
    assert time.process_time() - started < 2.0
    assert not _found(data[:200_000], tmp_path)  # (the whole scanner: a part)


def test_past_the_proof_budget_the_scan_is_incomplete(tmp_path: Path) -> None:
    _, text = _key("p256")
    noise = _headless(_swap(text, b"pub", _other("p256")))
    data = noise * (keytext.PROOFS + 1)
    cut: list[str] = []
    assert not list(keytext_hits(data, cut)) and cut and "budget" in cut[0]
    path = tmp_path / "many"
    path.write_bytes(data)
    assert any("keytext" in item for item in scan_path(path, "text", KnownKeys()).incomplete)


def test_past_the_modular_exponentiation_budget_the_scan_is_incomplete(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keytext, "MODEXPS", 2)  # units of a 2048-bit modulus's exponentiation
    _, text = _key("rsa2048")
    alone = _headless(_swap(_without(_without(text, b"prime1"), b"prime2"), b"privateExponent", _other("rsa2048")))
    cut: list[str] = []
    assert not list(keytext_hits(alone * keytext.MODEXPS, cut)) and not cut
    assert not list(keytext_hits(alone * (keytext.MODEXPS + 1), cut)) and cut and "budget" in cut[0]


def test_past_the_block_bound_the_scan_is_incomplete(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keytext, "MAX_BLOCKS", 10)
    block = b"priv:\n" + b"    " + b":".join([b"ab"] * 24) + b"\n"
    data = block * 20  # the bound: 10 plus one per 256 bytes (6)
    cut: list[str] = []
    assert not list(keytext_hits(data, cut)) and cut and "blocks" in cut[0]
    assert not list(keytext_hits(block * 10, cut := []))
    assert not cut
    short = b"priv:\n    ab:cd:ef\npub: 12:34:56:78\n"  # not a block: counts for nothing
    assert not list(keytext_hits(short * 100, cut := []))
    assert not cut


def test_labels_whose_blocks_read_each_others_lines_are_cut_not_quadratic() -> None:
    """rt22: every line a label (after JSON's escaped newline) ending in a 1-character hex token:
    each label's block read the next 6,193 lines and, no block, counted for nothing (64 KiB took
    4 CPU s, 1 MiB about 300). The lines read are bounded per view (READ_WORK): cut, refused."""
    data = b'priv:\\n" 0a:0b:0c:0d: a\n' * (64 * 1024 // 26)
    cut: list[str] = []
    began = time.process_time()
    assert not list(keytext_hits(data, cut))
    assert cut and "read more than" in cut[0]
    assert time.process_time() - began < 2.0
    _, text = _key("rsa2048")  # a printout is read once: far from the bound
    assert list(keytext_hits(text * 50, cut := [])) and not cut


def test_a_block_longer_than_a_16384_bit_modulus_is_not_read() -> None:
    _, text = _key("rsa2048")
    start, end = _blocks(text)[b"modulus"]

    def padded(pairs: int) -> bytes:  # zeros in front of the modulus, 15 pairs a line as openssl writes
        zeros = b"".join(b"    " + b"00:" * min(15, pairs - at) + b"\n" for at in range(0, pairs, 15))
        return text[:start] + zeros + text[start:end] + text[end:]

    modulus = text[start:end].count(b":") + 1  # pairs, with its leading 00
    assert [h[2] for h in keytext_hits(padded(keytext.MAX_PAIRS - modulus))] == ["keytext-rsa-private"]
    # the modulus past the bound is not read: the private blocks left are the tail of a printout, not proven
    assert _kinds(padded(keytext.MAX_PAIRS + 1 - modulus)) == [keytext.UNPROVEN]


@pytest.mark.parametrize(("name", "form"), [("rsa2048", "syslog"), ("ed25519", "echo_collapsed")])
def test_sanitize_leaves_nothing_recoverable(tmp_path: Path, name: str, form: str) -> None:
    # (about 3 s each: the whole pipeline, so two forms; each form's span is the finding's above)
    _, text = _key(name)
    source = tmp_path / "ticket.txt"
    filler = b"issuer: request served\n" * 200
    source.write_bytes(filler + FORMS[form](text, tmp_path) + filler)
    sanitize(source, tmp_path / "out", Home(tmp_path / "home"), KnownKeys())
    out = (tmp_path / "out").read_bytes()
    assert not list(keytext_hits(out)) and out.startswith(filler[:-64]) and out.endswith(filler[64:])
    for label in (b"priv", b"prime1", b"privateExponent"):
        if label in _blocks(text):
            start, end = _blocks(text)[label]
            for line in text[start:end].split(b"\n"):
                assert not line.strip() or line.strip() not in out


@pytest.mark.parametrize("name", ["rsa2048", "p256", "ed25519"])
def test_public_key_and_certificate_printouts_are_not_keys(tmp_path: Path, name: str) -> None:
    pem, _ = _key(name)
    public = _run(["openssl", "pkey", "-pubout", "-text", "-noout"], pem)
    cert = _run(["openssl", "req", "-new", "-x509", "-key", "/dev/stdin", "-subj", "/CN=issuer", "-days", "9",
                 "-text", "-noout"], pem)
    assert not list(keytext_hits(public + cert))
    assert not _found(public + cert, tmp_path)


def test_a_priv_under_a_sized_header_with_no_curve_nor_pub_is_unpaired() -> None:
    _, text = _key("p256")
    bare = re.sub(rb"(ASN1 OID|NIST CURVE): \S+\n", b"", _without(text, b"pub"))
    assert [(h[2], h[3]) for h in keytext_hits(bare)] == [("keytext-ec-private-unpaired", None)]
    assert _kinds(bare.replace(b"Private-Key: (256 bit)", b"Private-Key: (384 bit)")) == [keytext.UNPROVEN]


def test_a_private_value_under_a_header_is_a_finding_whatever_the_curve_or_algorithm() -> None:
    """rt22: curves cryptography does not know (SM2, secp112r1, binary curves), DSA and DH printouts
    were certified by both readers. Under a `Private-Key:` header a private block is a finding,
    proven or not; without the header the same bytes are labelled hex, not read."""
    for tool in (["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2"],
                 ["openssl", "genpkey", "-algorithm", "DH", "-pkeyopt", "group:ffdhe2048"]):
        pem = _run(tool, b"")
        text = _run(["openssl", "pkey", "-text", "-noout"], pem)
        assert _kinds(text) == [keytext.UNPROVEN], text[:80]
        assert not list(keytext_hits(_headless(text)))
