"""The independent reader finds private keys printed as text by the real `openssl` (pkey/rsa/ec
-text: recheck_keytext.py, issue #32): plain, behind line prefixes (grep, syslog, docker, cat -n),
on one line and folded; proven keys only (a prime that divides the modulus, d, a priv deriving its
pub), unpaired private values; near misses certify; every bound is incomplete, not a pass. Keys are
made by `openssl` for each run: the assertions hold for any key."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from signward.scan import recheck_keytext
from signward.scan.recheck import Budget, recheck_bytes

KEYS = {"rsa2048": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        "p256": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "p384": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
        "secp256k1": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1"],
        "brainpoolP256r1": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:brainpoolP256r1"],
        "ed25519": ["-algorithm", "ed25519"], "x25519": ["-algorithm", "x25519"]}
PRE, POST = b"support ticket 4711: the service logged this at start-up\n", b"end of the paste\n"


def _run(args: list[str], data: bytes = b"", cwd: Path | None = None) -> bytes:
    return subprocess.run(args, input=data, capture_output=True, check=True, cwd=cwd).stdout


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Each key's PEM, made by openssl."""
    return {name: _run(["openssl", "genpkey", *args]) for name, args in KEYS.items()}


def _text(pem: bytes, *extra: str) -> bytes:
    return _run(["openssl", "pkey", "-text", *extra], pem)


def _grep_rn(text: bytes) -> bytes:
    """`grep -rn -A200 Private-Key dir`: `dir/key.txt:1:` on the matching line, `dir/key.txt-2-` after."""
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        (Path(directory) / "logs").mkdir()
        (Path(directory) / "logs" / "key.txt").write_bytes(text)
        return _run(["grep", "-rn", "-A200", "Private-Key", "logs"], cwd=Path(directory))


FORMS: dict[str, Callable[[bytes], bytes]] = {
    "plain": lambda text: text,
    "grep-n": lambda text: _run(["grep", "-n", ""], b"x\n" * 5 + text),  # line numbers 6.. then 10.., 100..
    "grep-rn-A": _grep_rn,
    "syslog": lambda text: b"".join(b"Dec  7 10:11:12 host signer[%d]: %s\n" % (7 + i * 37, line)
                                    for i, line in enumerate(text.splitlines())),
    "docker": lambda text: b"".join(b"2026-12-07T10:11:%02d.%09dZ %s\n" % (i % 60, i * 7919, line)
                                    for i, line in enumerate(text.splitlines())),
    "cat-n": lambda text: _run(["cat", "-n"], text),
    "echo": lambda text: b" ".join(text.split()) + b"\n",  # echo $(openssl pkey -text ...)
    "tr": lambda text: text.replace(b"\n", b" "),
    "fold": lambda text: _run(["fold", "-w", "40"], text),
    "echo-fold": lambda text: _run(["fold", "-w", "40"], b" ".join(text.split()) + b"\n"),
    # `grep -n | fold -w 40`: lines 6-9 cut inside a pair, lines 100 and on between a pair and its colon
    "grep-n-fold": lambda text: _run(["fold", "-w", "40"], _run(["grep", "-n", ""], b"x\n" * 5 + text)),
    "grep-n-fold-100": lambda text: _run(["fold", "-w", "40"], _run(["grep", "-n", ""], b"x\n" * 95 + text)),
}


def _ours(report: object) -> list[object]:
    return [f for f in report.findings if f.kind.startswith("keytext")]  # type: ignore[attr-defined]


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("key", sorted(KEYS))
def test_a_printed_key_is_refused_by_the_reader_and_redacting_its_span_leaves_nothing(
        keys: dict[str, bytes], key: str, form: str) -> None:
    printed = FORMS[form](_text(keys[key], "-noout"))
    data = PRE + printed + POST
    report = recheck_bytes(data, name="ticket.txt")
    ours = _ours(report)
    assert [f.kind for f in ours] == ["keytext"], (report.findings, report.incomplete)  # type: ignore[attr-defined]
    start, end = ours[0].span  # type: ignore[attr-defined]
    assert len(PRE) <= start and not re.search(rb"Private|modulus|priv", data[:start])  # from the header on
    assert len(PRE) + len(printed.rstrip()) - 40 < end <= len(PRE) + len(printed)  # to the last block's end
    redacted = data[:start] + b"x" * (end - start) + data[end:]
    assert recheck_bytes(redacted, name="ticket.txt").clean


def test_the_printout_with_its_pem_and_from_openssl_rsa_and_ec(keys: dict[str, bytes]) -> None:
    for printed in (_text(keys["p384"]), _run(["openssl", "rsa", "-text", "-noout"], keys["rsa2048"]),
                    _run(["openssl", "ec", "-text", "-noout"], keys["secp256k1"])):
        assert [f.kind for f in _ours(recheck_bytes(PRE + printed + POST))] == ["keytext"]  # type: ignore[attr-defined]


def _blocks(text: bytes) -> dict[bytes, bytes]:
    """label -> its block (the label's line and the indented lines under it)."""
    return {m.group(1): m.group(0) for m in re.finditer(rb"^([A-Za-z0-9]+):\n(?:    .*\n)+", text, re.M)}


def _only(text: bytes, labels: list[bytes]) -> bytes:
    blocks = _blocks(text)
    return b"".join(blocks[label] for label in labels) + b"publicExponent: 65537 (0x10001)\n"


@pytest.mark.parametrize("labels", [["modulus", "prime2"], ["modulus", "privateExponent"], ["modulus", "exponent1"]],
                         ids=["prime", "d", "dp"])
def test_each_rsa_proof_alone(keys: dict[str, bytes], labels: list[str]) -> None:
    text = _only(_text(keys["rsa2048"], "-noout"), [label.encode() for label in labels])
    ours = _ours(recheck_bytes(PRE + text + POST))
    assert [f.kind for f in ours] == ["keytext"], ours  # type: ignore[attr-defined]
    assert labels[1] in ours[0].key  # type: ignore[attr-defined]


def test_near_misses_certify(keys: dict[str, bytes]) -> None:
    """A modulus with another key's private values; certificates printed with `openssl x509 -text`
    (a pub and a modulus, no private value). A priv with another key's pub under its header is
    unproven (rt22)."""
    rsa, other = _text(keys["rsa2048"], "-noout"), _text(_run(["openssl", "genpkey", *KEYS["rsa2048"]]), "-noout")
    mixed = _blocks(rsa)[b"modulus"] + b"publicExponent: 65537 (0x10001)\n" + b"".join(
        block for label, block in _blocks(other).items() if label != b"modulus")
    ec_key, ec_other = _text(keys["p256"], "-noout"), _text(_run(["openssl", "genpkey", *KEYS["p256"]]), "-noout")
    wrong_pub = ec_key.replace(_blocks(ec_key)[b"pub"], _blocks(ec_other)[b"pub"])
    ed, ed_other = _text(keys["ed25519"], "-noout"), _text(_run(["openssl", "genpkey", *KEYS["ed25519"]]), "-noout")
    ed_wrong = ed.replace(_blocks(ed)[b"pub"], _blocks(ed_other)[b"pub"])
    certs = [_run(["openssl", "req", "-new", "-x509", "-key", "/dev/stdin", "-subj", "/CN=t", "-days", "1", "-text",
                   "-noout"], keys[name]) for name in ("p256", "rsa2048")]
    for data in (mixed, *certs):
        report = recheck_bytes(PRE + data + POST)
        assert not _ours(report) and not report.incomplete, (report.findings, report.incomplete)
    for data in (wrong_pub, ed_wrong):  # not proven, but a private block under its header: refused (rt22)
        assert [f.kind for f in _ours(recheck_bytes(PRE + data + POST))] == ["keytext-unproven"]  # type: ignore[attr-defined]


def test_a_private_value_without_its_public_one_is_unpaired(keys: dict[str, bytes]) -> None:
    text = _text(keys["brainpoolP256r1"], "-noout")
    no_pub = text.replace(_blocks(text)[b"pub"], b"")
    alone = _blocks(text)[b"priv"]  # no curve name either: a valid scalar of a 32-byte curve
    x = _text(keys["x25519"], "-noout")
    for data in (no_pub, alone, x.replace(_blocks(x)[b"pub"], b"")):
        assert [f.kind for f in _ours(recheck_bytes(PRE + data + POST))] == ["keytext-unpaired"]  # type: ignore[attr-defined]


def test_a_config_of_many_priv_keys_certifies_quickly() -> None:
    config = b"".join(b"peer%d:\n  priv: true\n  pub: 12:34\n  note: b0:0b\n" % i for i in range(40_000))
    started = time.process_time()
    report = recheck_keytext_only(config)
    assert report == ([], []) and time.process_time() - started < 5


def recheck_keytext_only(data: bytes, budget: Budget | None = None) -> tuple[list[str], list[str]]:
    """read_keytext alone over one view: (finding kinds, incomplete reasons)."""
    from signward.scan.knownkeys import KnownKeys
    from signward.scan.recheck import _Exhausted, _Reader

    reader = _Reader(KnownKeys(), budget or Budget.for_size(len(data)))
    try:
        recheck_keytext.read_keytext(reader, data, "view")
    except _Exhausted as exc:
        reader.incomplete(str(exc))
    return [f.kind for f in reader.report.findings], reader.report.incomplete


def test_past_each_bound_the_reader_is_incomplete(keys: dict[str, bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    rsa_d = _only(_text(keys["rsa2048"], "-noout"), [b"modulus", b"privateExponent"])
    assert recheck_keytext_only(rsa_d, Budget(max_modexps=0))[1]  # the modexp budget
    ec_key = _text(keys["p256"], "-noout")
    assert recheck_keytext_only(ec_key, Budget(max_derivations=0))[1]  # the derivations
    long = b"priv:\n" + b"\n".join(b"    " + bytes(range(15)).hex(":").encode() + b":"
                                   for _ in range(recheck_keytext.MAX_PAIRS // 15 + 1)) + b"\n    01\n"
    assert recheck_keytext_only(long)[1]  # a private block longer than a 16,384-bit key
    monkeypatch.setattr(recheck_keytext, "candidates", lambda data: 3)
    assert recheck_keytext_only(ec_key * 2)[1]  # labelled hex blocks


def test_a_hostile_view_is_read_at_a_bounded_cost() -> None:
    """256 KiB of printouts whose priv does not derive its pub (no curve named: each curve of the
    sizes tried): past the derivations, incomplete (refused), within seconds."""
    ec_unit = (b"priv:\n    " + bytes(range(1, 33)).hex(":").encode() + b"\npub:\n    04:"
               + bytes(range(64, 128)).hex(":").encode() + b"\n")
    started = time.process_time()
    kinds, incomplete = recheck_keytext_only(ec_unit * ((256 << 10) // len(ec_unit)))
    assert not kinds and incomplete and time.process_time() - started < 5
