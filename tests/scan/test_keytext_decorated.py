"""OpenSSL's text printout of a private key in decorated lines (rt22, issue #32): `cat -A` (`$` at
each line's end, tabs as `^I`), an Outlook mail's HTML (`<p class=MsoNormal>&nbsp;.. <o:p></o:p></p>`),
a printout joined by `<br>` forms or `&#10;` on one line, a mail's `<div>` a line, a Python list or
tuple of its lines logged on one line, a Python bytes/str repr (`b'..\\n    00:..'`); and the tail of
an RSA printout (`tail -n 30`: exponent1, exponent2, coefficient, no modulus). Found by the scanner's
keytext rule (detectors/keytext.py) with its kind; each transformation is written here, on real
`openssl` output."""

from __future__ import annotations

import html
import json
import math
import random
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from signward.dumps import KnownKeys, sanitize
from signward.home import Home
from signward.scan.detectors import keytext
from signward.scan.detectors.keytext import keytext_hits
from tests.scan.test_keytext import KINDS, _blocks, _found, _key, _kinds, _numbers, _private, _run

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl binary")


def _lines(text: bytes) -> list[str]:
    return text.decode().splitlines()


def _outlook(text: bytes) -> bytes:
    """Outlook's HTML body: a `<p class=MsoNormal>` a line, spaces as `&nbsp;`."""
    return ("<html><body>" + "".join(f"<p class=MsoNormal>{html.escape(line).replace(' ', '&nbsp;')}<o:p></o:p></p>\n"
                                     for line in _lines(text)) + "</body></html>\n").encode()


def _joined(separator: str, space: str = "&nbsp; ") -> Callable[[bytes], bytes]:
    """The printout on one HTML line, its lines joined by `separator`, runs of two spaces as `space`."""
    return lambda text: ("<div>" + separator.join(html.escape(line).replace("  ", space) for line in _lines(text))
                         + "</div>\n").encode()


DECORATED: dict[str, Callable[[bytes], bytes]] = {
    "cat_A": lambda text: _run(["cat", "-A"], text),
    # lines indented by a tab (`unexpand -t 4`), shown by `cat -A` as `^I00:..$`
    "cat_A_tabs": lambda text: _run(["cat", "-A"], _run(["unexpand", "-t", "4"], text)),
    "outlook_html": _outlook,
    "br": _joined("<br>"),
    "div": lambda text: "".join(f"<div>{html.escape(line).replace('  ', '&nbsp; ')}</div>" for line in _lines(text)
                                ).encode() + b"\n",  # a mail's HTML, a `<div>` a line, on one line
    "br_slash": _joined("<br/>"),
    "br_space_slash": _joined("<br />", "&#160;&#160;"),
    "nl_entity": _joined("&#10;"),
    "py_list": lambda text: f"DEBUG keytool lines={_lines(text)!r}\n".encode(),
    "py_list_dq": lambda text: ("DEBUG lines=[" + ", ".join(f'"{line}"' for line in _lines(text)) + "]\n").encode(),
    "py_tuple": lambda text: f"2026-12-07 10:00:00 INFO got {tuple(_lines(text))!r}\n".encode(),
    "py_bytes_repr": lambda text: f"2026-12-07 10:00:00 INFO keytool: output={text!r}\n".encode(),
    "py_str_repr": lambda text: f"keytool: stdout={text.decode().replace(chr(10), chr(13) + chr(10))!r}\n".encode(),
    # Ansible's registered result, pretty-printed: `"stdout_lines": [` then one JSON string a line
    "json_lines_array": lambda text: json.dumps({"stdout_lines": _lines(text)}, indent=4).encode() + b"\n",
}


@pytest.mark.parametrize("form", list(DECORATED))
@pytest.mark.parametrize("name", ["rsa2048", "p256", "ed25519"])
def test_each_decorated_form_is_found_and_proven_by_the_keytext_rule(tmp_path: Path, name: str, form: str) -> None:
    pem, text = _key(name)
    data = DECORATED[form](text)
    assert b"-----BEGIN" not in data
    kind = KINDS.get(name, "keytext-ec-private")
    ((_, _, found, key),) = list(keytext_hits(data))
    assert found == kind and _numbers(key) == _private(pem)
    assert (kind, "text") in _found(data, tmp_path), (name, form)  # the scanner's finding: keytext's kind


@pytest.mark.parametrize("form", ["cat_A", "outlook_html", "br_space_slash", "py_list", "py_bytes_repr"])
def test_a_decorated_printout_is_sanitized_leaving_no_private_line(tmp_path: Path, form: str) -> None:
    # (about 2 s each: the whole pipeline, so five forms; each form's finding is the test above's)
    _, text = _key("rsa2048")
    source = tmp_path / "ticket.txt"
    filler = b"issuer: request served\n" * 100
    source.write_bytes(filler + DECORATED[form](text) + filler)
    sanitize(source, tmp_path / "out", Home(tmp_path / "home"), KnownKeys())
    out = (tmp_path / "out").read_bytes()
    assert not list(keytext_hits(out)) and out.startswith(filler[:-64]) and out.endswith(filler[64:])
    for label in (b"prime1", b"prime2", b"privateExponent", b"exponent1", b"coefficient"):
        start, end = _blocks(text)[label]
        for line in text[start:end].split(b"\n"):
            assert not line.strip() or line.strip() not in out


def test_the_last_colon_hex_run_of_a_line_is_its_hex_whatever_comes_before() -> None:
    """Noise runs before the hex (a MAC address, a syslog time) and decorations after it: the last
    run is the line's hex; a line whose last run is not the block's ends it (the proof decides)."""
    pem, text = _key("rsa2048")
    prefixed = b"".join(b"Dec  7 23:04:%02d 52:54:00:12:34:56 issuer: %s$\n" % (i % 60, line)
                        for i, line in enumerate(text.splitlines()))
    assert [(h[2], _numbers(h[3])) for h in keytext_hits(prefixed)] == [("keytext-rsa-private", _private(pem))]
    tail = b"".join(b"%s 23:04:44$\n" % line for line in text.splitlines())  # the time last: no block is read
    assert not list(keytext_hits(tail))


def _tail(text: bytes, lines: int = 30) -> bytes:
    return _run(["tail", "-n", str(lines)], text)


def test_the_tail_of_an_rsa_printout_is_a_finding_unproven(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`tail -n 30` of a 2048-bit printout: exponent1, exponent2, coefficient, no modulus nor header.
    With the public modulus (any certificate, JWKS) exponent1 gives p: a key; found unproven."""
    pem, text = _key("rsa2048")
    numbers = serialization.load_pem_private_key(pem, None).private_numbers()
    n, e, dp = numbers.public_numbers.n, numbers.public_numbers.e, numbers.dmp1
    assert math.gcd(pow(2, e * dp, n) - 2, n) == numbers.p  # the leak: p from exponent1 and the public n
    tail = _tail(text)
    assert b"modulus" not in tail and b"Private-Key" not in tail and b"exponent1:" in tail
    data = b"kubectl logs keygen-7f9c --tail=30:\n" + tail + b"pod keygen-7f9c exited 0\n"
    ((start, end, kind, key),) = list(keytext_hits(data))
    assert kind == keytext.UNPROVEN and key is None
    assert data[start:end].startswith(tail.split(b"\n")[0]) and data[start:end] == tail.rstrip(b"\n")
    assert (keytext.UNPROVEN, "text") in _found(data, tmp_path)
    for form in ("cat_A", "py_bytes_repr"):  # the tail decorated too
        assert _kinds(DECORATED[form](tail)) == [keytext.UNPROVEN], form
    monkeypatch.setattr(keytext, "MIN_TAIL", 1 << 20)  # the tail rule alone finds it
    assert not list(keytext_hits(data))


def test_the_tail_is_sanitized(tmp_path: Path) -> None:
    _, text = _key("rsa2048")
    source = tmp_path / "pod.log"
    filler = b"issuer: request served\n" * 100
    source.write_bytes(filler + _tail(text) + filler)
    sanitize(source, tmp_path / "out", Home(tmp_path / "home"), KnownKeys())
    out = (tmp_path / "out").read_bytes()
    assert not list(keytext_hits(out)) and out.startswith(filler[:-64]) and out.endswith(filler[64:])
    for label in (b"exponent1", b"exponent2", b"coefficient"):
        start, end = _blocks(text)[label]
        for line in text[start:end].split(b"\n"):
            assert not line.strip() or line.strip() not in out


def test_a_short_tail_or_decimal_values_are_no_finding() -> None:
    """Near misses: the tail of a 512-bit key's printout (blocks of 32 and 33 bytes, under MIN_TAIL),
    and the same labels with decimal values (a debug print of the numbers)."""
    small = _run(["openssl", "pkey", "-text", "-noout"],
                 _run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:512"]))
    assert not list(keytext_hits(small[small.index(b"prime2:"):]))  # prime2, exponent1, exponent2, coefficient
    text = _key("rsa2048")[1]
    assert _kinds(text[text.index(b"prime2:"):]) == [keytext.UNPROVEN]  # the same blocks of a 2048-bit key
    numbers = serialization.load_pem_private_key(_key("rsa2048")[0], None).private_numbers()
    decimal = (f"prime1: {numbers.p}\nprime2: {numbers.q}\nexponent1: {numbers.dmp1}\nexponent2: {numbers.dmq1}\n"
               f"coefficient: {numbers.iqmp}\n").encode()
    assert not list(keytext_hits(decimal))


def test_decorated_near_misses_are_no_finding(tmp_path: Path) -> None:
    """Benign HTML with MAC addresses under labels, `cat -A` of a benign config and a syslog, a
    Python list of hex strings with no label, decorated public key and certificate printouts."""
    rng = random.Random(22)
    macs = "".join(f"<p class=MsoNormal>{label}:<o:p></o:p></p>\n" + "".join(
        f"<p class=MsoNormal>&nbsp;&nbsp;eth{i}&nbsp;{rng.randbytes(6).hex(':')}<o:p></o:p></p>\n" for i in range(8))
        for label in ("pub", "modulus", "priv")).encode()
    config = _run(["cat", "-A"], b"".join(b"Dec  7 23:04:%02d host dhcpd: lease %s to %s\n\tpub: %s\n" % (
        i, rng.randbytes(6).hex(":").encode(), rng.randbytes(6).hex(":").encode(), rng.randbytes(20).hex(":").encode())
        for i in range(40)))
    hexes = repr([rng.randbytes(15).hex(":") + ":" for _ in range(40)]).encode()
    pem, _ = _key("rsa2048")
    public = _run(["openssl", "pkey", "-pubout", "-text", "-noout"], pem)
    cert = _run(["openssl", "req", "-new", "-x509", "-key", "/dev/stdin", "-subj", "/CN=issuer", "-days", "9",
                 "-text", "-noout"], pem)
    decorated = b"".join(DECORATED[form](public + cert) for form in ("cat_A", "outlook_html", "br", "py_list"))
    for data in (macs, config, hexes, decorated):
        assert not list(keytext_hits(data, cut := [])) and not cut, data[:60]
    assert not _found(macs + config + hexes + decorated, tmp_path)


def test_labels_over_decorated_lines_are_read_at_a_bounded_cost() -> None:
    """Every line a label after a colon-hex run (`0a:0b:0c:0d: priv:$`, and with each separator):
    each label's block would read the next 500 lines; the lines read are kept (a look-up for the next
    label) and READ_WORK cuts the reads: refused, in well under a second for 64 KiB."""
    for unit in (b"0a:0b:0c:0d: priv:$\n", b"0a:0b:0c:0d: priv:<br>", b"0a:0b:0c:0d: priv:\\n",
                 b"0a:0b:0c:0d: priv:', '"):
        data = unit * ((64 << 10) // len(unit))
        cut: list[str] = []
        began = time.process_time()
        assert not list(keytext_hits(data, cut))
        assert cut and "read more than" in cut[0], unit
        assert time.process_time() - began < 1.0, unit
