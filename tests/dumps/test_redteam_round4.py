"""The fourth red team's cases (issue #32), each arranged so that only the rule under test can
find it: PEM armour whose lines a logger, a quote or markup rewrote (both readers: the whole
armour, whether or not it loads); hex dumps behind a line prefix (the reader's prefixed-lines
view); bounds that used to stop a read silently (now incomplete: refused); an RSA key's other
private values next to the prime the reader found; OpenBao/Vault tokens; `dumps scan` with the
independent reader; the attestation's counts of what only the reader found."""

from __future__ import annotations

import base64
import json
import random
import string
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from signward.dumps import sanitize, scan_path
from signward.home import Home
from signward.scan import recheck
from signward.scan.detectors import text as text_detector
from signward.scan.recheck import recheck_bytes, recheck_path
from signward.scan.recheck_codecs import MAX_CANDIDATES, MAX_PAIRS
from signward.scan.recheck_numbers import MAX_BLOCKS
from tests.scan.material import RSA, known
from tests.scan.test_recheck import _blind_scanner

PEM = RSA.private_bytes(Encoding.PEM, PrivateFormat.TraditionalOpenSSL, NoEncryption())
LINES = PEM.decode().splitlines()
BODY = "".join(LINES[1:-1])

# how loggers, quotes and markup write a PEM's lines (none of them loads as written)
REWRITTEN = {
    "docker compose": "".join(f"issuer-1  | {line}\n" for line in LINES),
    "kubectl --prefix": "".join(f"[pod/issuer-7d/issuer] {line}\n" for line in LINES),
    "mail quote": "".join(f"> {line}\n" for line in LINES),
    "commented out": "".join(f"# {line}\n" for line in LINES),
    "java concatenation": "".join(f'    "{line}\\n" +\n' for line in LINES),
    "xml entities": "&#xD;&#xA;".join(LINES),
    "html breaks": "<br>".join(LINES),
}


def _text_findings(path: Path) -> list[tuple[int, int, str]]:
    report = scan_path(path, "text")
    return [(f.offset, f.offset + f.length, f.kind) for f in report.findings]


@pytest.mark.parametrize("style", sorted(REWRITTEN))
def test_the_scanner_takes_the_whole_rewritten_armour(style: str, tmp_path: Path) -> None:
    """The body does not follow BEGIN as PEM text (a prefix, markup): the scanner's text detector
    takes BEGIN to END, the body between included, though the key does not load."""
    text = ("booting\n" + REWRITTEN[style] + "\nready\n").encode()
    path = tmp_path / "app.log"
    path.write_bytes(text)
    begin, end = text.index(b"-----BEGIN"), text.index(b"-----END RSA PRIVATE KEY-----") + 29
    assert [(s, e) for s, e, kind in _text_findings(path) if kind.startswith("pem-")] == [(begin, end)]


@pytest.mark.parametrize("style", sorted(REWRITTEN))
def test_the_reader_finds_the_rewritten_armour(style: str) -> None:
    text = ("booting\n" + REWRITTEN[style] + "\nready\n").encode()
    report = recheck_bytes(text, known(RSA))
    armour = [f for f in report.findings if f.kind == "pem" and "does not load as written" in f.key]
    begin, end = text.index(b"-----BEGIN"), text.index(b"-----END RSA PRIVATE KEY-----") + 29
    assert [f.span for f in armour] == [(begin, end)], report.findings


@pytest.mark.parametrize("style", sorted(REWRITTEN))
def test_sanitize_certifies_the_rewritten_armour_only_without_its_body(style: str, tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    source = tmp_path / "app.log"
    source.write_bytes(("booting\n" + REWRITTEN[style] + "\nready\n").encode())
    sanitize(source, tmp_path / "out.log", Home(tmp_path / "home"), known(RSA), workers=1)
    out = (tmp_path / "out.log").read_bytes()
    for line in LINES[1:-1]:
        assert line.encode() not in out


@pytest.mark.parametrize("fill", [b"x", b"REDACTED"])
def test_an_armour_whose_body_was_overwritten_is_not_a_key(fill: bytes) -> None:
    """What sanitize leaves (a body of one fill) is not a key's worth of base64: not a finding,
    so a sanitized file with the armour lines kept is certified."""
    body = (fill * 2000)[:1600]
    text = b"-----BEGIN RSA PRIVATE KEY-----\n" + body + b"\n-----END RSA PRIVATE KEY-----\n"
    assert recheck_bytes(text, known(RSA)).findings == []


def test_openssl_text_behind_a_log_prefix_is_read_without_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """`openssl pkey -text` logged through docker compose: 15 hex pairs a line behind the prefix
    (no hex run, no dump line at the line start): the lines without the prefix are a view."""
    pkcs8 = RSA.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    text = subprocess.run(["openssl", "pkey", "-text", "-noout"], input=pkcs8, capture_output=True,
                          check=True).stdout.decode()
    logged = "".join(f"issuer-1  | {line}\n" for line in text.splitlines()).encode()
    report = recheck_bytes(b"booting\n" + logged + b"done\n", known(RSA))
    assert any("lines after 12-byte prefix" in f.view for f in report.findings), report.findings


# ---- bounds that stopped a read silently: now the read is incomplete (refused)


def test_more_hex_dump_blocks_than_the_bound_is_incomplete() -> None:
    block = b"00000000: 3082 04bd 0201 0030 0d06 092a 8648 86f7  0..........*.H..\n\n"
    report = recheck_bytes(block * (MAX_BLOCKS + 1))
    assert any(f"more than {MAX_BLOCKS} hex dump blocks" in i for i in report.incomplete), report.incomplete


def test_more_zlib_headers_than_the_bound_is_incomplete() -> None:
    """A view made of zlib header pairs (more than 20,000 plus one a KiB): text made to hide what
    comes after them; random bytes hold one pair in 16 KiB."""
    data = b"x\x9c" * (MAX_CANDIDATES + 2_000)
    report = recheck_bytes(data)
    assert any("zlib headers" in i for i in report.incomplete), report.incomplete


def test_more_kty_members_than_the_bound_is_incomplete() -> None:
    data = b'{"kty":"EC"} ' * (10_000 + 200)
    report = recheck_bytes(data)
    assert any('"kty" members' in i for i in report.incomplete), report.incomplete


def test_more_member_pairs_than_the_bound_is_incomplete() -> None:
    """Objects whose adjacent members join like a split scalar, more than MAX_PAIRS of them."""
    half = base64.b64encode(bytes(range(1, 17))).decode().rstrip("=")  # 22 characters
    piece = "aB3" + half[3:]
    document = json.dumps([{"a": piece, "b": piece[::-1]} for _ in range(MAX_PAIRS + 10)]).encode()
    report = recheck_bytes(document)
    assert any("member pairs" in i for i in report.incomplete), report.incomplete


# ---- an RSA key's other values next to the prime


def test_every_private_value_of_a_known_rsa_key_is_found_once_a_prime_is() -> None:
    """p, then dp right behind it, in random bytes no scanner detector reads: the reader found p
    and redacted p alone, and dp factors n. Now dp (and every other value) is a finding too."""
    numbers = RSA.private_numbers()
    p = numbers.p.to_bytes(128, "big")
    dp = numbers.dmp1.to_bytes(128, "big")
    data = bytes(range(256)) * 16 + p + dp + bytes(range(255, -1, -1)) * 16
    report = recheck_bytes(data, known(RSA))
    spans = {f.span for f in report.findings if f.kind == "known-key"}
    assert (4096, 4224) in spans and (4224, 4352) in spans, report.findings


def test_the_prime_found_at_its_window_is_one_finding_and_its_other_copies_are_found() -> None:
    """The sibling search looks for the found prime too (other copies of it are private as well),
    but not again at the window where it was found: one finding there, not two."""
    p = RSA.private_numbers().p
    filler = bytes(range(256)) * 16
    data = filler + p.to_bytes(128, "big") + filler + p.to_bytes(128, "little") + filler
    spans = [f.span for f in recheck_bytes(data, known(RSA)).findings if f.kind == "known-key"]
    assert sorted(spans) == [(4096, 4224), (8320, 8448)], spans


def test_the_rsa_values_of_another_key_are_not_findings() -> None:
    other = rsa.generate_private_key(65537, 2048).private_numbers()
    numbers = RSA.private_numbers()
    data = bytes(range(256)) * 16 + numbers.p.to_bytes(128, "big") + other.dmp1.to_bytes(128, "big")
    spans = {f.span for f in recheck_bytes(data, known(RSA)).findings}
    assert (4096, 4224) in spans and not any(s and s[0] >= 4224 for s in spans)


# ---- OpenBao / Vault tokens: one table, both readers (each has its own pattern and rule, the same)

OPENBAO_BATCH = (b"b.AAAAAQJzIMmlLvuiGrA-RyOQtFoZ9xoqN6Ovy6a4xGcbtnrdBb3giQ_ExKSFaF7lYmJUL7IZ53hyvkKCpSLf7-Hymh0GEX0z6"
                 b"GWdYwoTIhMqBZznEexQO2HL7VRBnIo5Ji-QaFtZ")
VAULT_TOKENS = [  # (text, whether it is a token)
    (b"s.YBn2WxjcfBEMfNlhKRbX3r2H", True),  # OpenBao 2.7 `bao token create` (service)
    (OPENBAO_BATCH, True),  # OpenBao 2.7 `bao token create -type=batch` (base64url: - and _)
    (b"s.ClwbSgJBAxjrmAchpmdOnOxO", True),  # 24 characters without a digit (about 1 in 68 is)
    (b"hvs.CAESIJ1b2Xk7yQmZ4pQe8vRt3LwA9nGhUcFzKsDlEoYiTjMaGh4KHGh2cy5abE5zV0NqcU1hRmlPRzZrUEJWdEF3ZXQ", True),
    (b"hvs.Xk7yQmZ4pQe8vRt3LwA9nGhU", True),  # Vault's prefix + 24
    (b"hvb." + OPENBAO_BATCH[2:], True),  # Vault 1.10's batch form
    (b"s.something_in_prose", False),
    (b"s.something_in_prose_that_goes_on_" * 3, False),  # long enough for the batch form, but words
    (b"s.abcdefghijklmnopqrstuvwx", False),
    (b"s.ABCDEFGHIJKLMNOPQRSTUVWX", False),
    (b"r.requestWillBeSentPayload", False),  # identifiers of exactly 24 characters (Chrome's protocol,
    (b"s.getAnimatedStylesForNode", False),  # Windows' API) after a one-letter variable
    (b"b.GetProcessImageFileNameA", False),
    (b"obj.s.ClwbSg3JBAxjrmAchpmdO0xO", False),  # a member's member, not a token
    (b"this.getElementByIdAndValue1x", False),
]


@pytest.mark.parametrize("token,is_token", VAULT_TOKENS)
def test_openbao_and_vault_tokens_are_found_by_both_readers(token: bytes, is_token: bool, tmp_path: Path) -> None:
    text = b"POST /v1/transit/sign\nX-Vault-Token: " + token + b"\n"
    path = tmp_path / "t.log"
    path.write_bytes(text)
    start = text.index(token)
    found = [(s, e) for s, e, kind in _text_findings(path) if kind == "vault-token"]
    assert found == ([(start, start + len(token))] if is_token else []), found
    read = [f.span for f in recheck_bytes(text).findings if f.kind == "token"]
    # (the reader also decodes a Vault token's base64 body, which holds the 24-character inner
    # token `hvs.` + 24: a second finding, at the body's span inside the token's)
    inside = all(span is not None and start <= span[0] < span[1] <= start + len(token) for span in read)
    assert ((start, start + len(token)) in read and inside) if is_token else read == [], read


def test_both_token_rules_agree_and_miss_few_random_bodies() -> None:
    """The two readers' rules, written apart, give the same answer on random bodies and on code
    identifiers; and how often a random 24-character base62 body fails is measured (seeded):
    about 1 in 1,100 (no digit, and no two capitals side by side)."""
    chance = random.Random(558)
    base62 = string.ascii_letters + string.digits
    bodies = [''.join(chance.choice(base62) for _ in range(24)).encode() for _ in range(20_000)]
    identifiers = [b"requestWillBeSentPayload", b"getAnimatedStylesForNode", b"GetProcessImageFileNameA",
                   b"setRequestHeaderForProxy", b"pushNodeByPathToFrontend", b"getFullAXTreeReturnValue",
                   b"something_in_prose_that_goes_on", b"PytestRemovedIn10Warning"]
    for body in bodies + identifiers:
        assert text_detector._random_token_body(body) == recheck._token_like(body), body
    missed = sum(1 for body in bodies if not recheck._token_like(body))
    assert missed < 60, missed  # 20,000 / 1,100 is about 18
    assert [i for i in identifiers if recheck._token_like(i)] == [b"getFullAXTreeReturnValue",
                                                                  b"PytestRemovedIn10Warning"]


# ---- the CLI's scan reads with both, the attestation counts what the reader found


def _octal_dump_of_the_key(tmp_path: Path) -> Path:
    """The key as `od -t d1` prints it (signed decimal bytes after octal offsets): read by the
    independent reader, not by the scanner (an xxd dump served here until the scanner learnt to
    read dumps, session 13; `od -b` until it learnt octal rows, session 15)."""
    der = RSA.private_bytes(Encoding.DER, PrivateFormat.TraditionalOpenSSL, NoEncryption())
    path = tmp_path / "key.od"
    path.write_bytes(subprocess.run(["od", "-t", "d1"], input=der, capture_output=True, check=True).stdout)
    return path


def test_dumps_scan_is_not_clean_when_only_the_independent_reader_finds(tmp_path: Path) -> None:
    path = _octal_dump_of_the_key(tmp_path)
    run = [sys.executable, "-m", "signward", "dumps", "scan", str(path), "--json"]
    done = subprocess.run(run, capture_output=True, text=True)
    document = json.loads(done.stdout)
    assert [f for r in document["files"] for f in r["findings"]] == []  # the scanner alone: nothing
    assert done.returncode == 1 and not document["reader"][0]["clean"], done.stdout
    skipped = subprocess.run([*run, "--no-reader"], capture_output=True, text=True)
    assert skipped.returncode == 0 and "reader" not in json.loads(skipped.stdout)


def test_the_attestation_counts_what_only_the_reader_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _blind_scanner(monkeypatch, "signward.dumps.sanitize")
    (tmp_path / "home").mkdir()
    path = _octal_dump_of_the_key(tmp_path)
    result = sanitize(path, tmp_path / "out", Home(tmp_path / "home"), known(RSA), workers=1)
    assert result.counts.get("independent-reader", 0) >= 1, result.counts
    assert recheck_path(tmp_path / "out", known(RSA)).clean
