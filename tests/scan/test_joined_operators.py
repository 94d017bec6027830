"""Escaped-byte literals joined by other operators (issue #32, red team rt18 group C): a key's
escaped bytes split over literals joined by PHP/Perl `.`, SQL `||`, Lua `..`, Haskell `++`, OCaml
`^`, Ruby `<<`, VB `& _`, the `,` of a JS `[...].join('')` or Python `b''.join([...])` list, bash's
`$'..'$'..'`, were certified with the key recoverable (16- and 64-byte pieces). Both readers join
them now (the scanner's `printed_values.JOINED`, the reader's `recheck_values._JOINED`, each its
own code); pieces of decimal escapes (Lua, Haskell, OCaml) are read as decimal once joined. Each
form is found only at the joined view: no other view holds the key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from signward.dumps import sanitize
from signward.home import Home
from signward.scan.printed_values import value_views
from signward.scan.recheck import recheck_bytes
from tests.scan.material import EC, known

KNOWN = known(EC)
DER = EC.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
FILLER = b"".join(b"2026-12-07T05:00:%02d INFO worker ready id=%d\n" % (i % 60, i) for i in range(40))


def _x(piece: bytes) -> str:
    return "".join(f"\\x{b:02x}" for b in piece)


def _d(piece: bytes) -> str:
    return "".join(f"\\{b}" for b in piece)


def _o(piece: bytes) -> str:
    return "".join(f"\\{b:03o}" for b in piece)


def _joined(escape: Callable[[bytes], str], quote: str, join: str, lead: str, tail: str,
            prefix: str = "") -> Callable[[bytes, int], bytes]:
    def write(data: bytes, per: int) -> bytes:
        pieces = [prefix + quote + escape(data[i:i + per]) + quote for i in range(0, len(data), per)]
        return (lead + join.join(pieces) + tail).encode()
    return write


FORMS: dict[str, Callable[[bytes, int], bytes]] = {
    "php dot": _joined(_x, '"', " .\n    ", "$key = ", ";\n"),
    "php dot inline": _joined(_x, '"', ".", "$key = ", ";\n"),
    "php dot octal": _joined(_o, '"', " .\n    ", "$key = ", ";\n"),
    "perl dot": _joined(_x, '"', " . ", "my $key = ", ";\n"),
    "sql ||": _joined(_x, "'", " || ", "SELECT ", ";\n", prefix="E"),
    "lua ..": _joined(_d, '"', " ..\n  ", "local key = ", "\n"),
    "haskell ++": _joined(_d, '"', " ++\n  ", "key = ", "\n"),
    "ocaml ^": _joined(_d, '"', " ^\n  ", "let key = ", "\n"),
    "ruby <<": _joined(_x, '"', " <<\n  ", "key = +", "\n"),
    "vb & _": _joined(_x, '"', " & _\n  ", "Dim key = ", "\n"),
    "js join list": _joined(_x, "'", ",\n  ", "const key = [", "].join('');\n"),
    "python join list": _joined(_x, '"', ",\n    ", "KEY = b''.join([", "])\n", prefix="b"),
    "bash $''": _joined(_x, "'", "", "printf %s ", " > key.der\n", prefix="$"),
}
JOINED_DETAILS = ("decoded joined escaped literals", "decoded joined decimal literals")


@pytest.mark.parametrize("per", [16, 64])
@pytest.mark.parametrize("form", sorted(FORMS))
def test_the_scanner_joins_literals_across_the_operator(form: str, per: int) -> None:
    printed = FORMS[form](DER, per)
    data = FILLER + printed + FILLER
    holding = [view for view in value_views(data, 0, len(data)) if DER in view[2]]
    assert holding and all(detail in JOINED_DETAILS for *_, detail in holding), (form, holding)
    start = data.index(printed)
    assert any(low <= start + 16 and high >= start + len(printed) - 24 for low, high, *_ in holding), holding


@pytest.mark.parametrize("per", [16, 64])
@pytest.mark.parametrize("form", sorted(FORMS))
def test_the_reader_joins_literals_across_the_operator(form: str, per: int) -> None:
    report = recheck_bytes(FILLER + FORMS[form](DER, per) + FILLER, KNOWN, "app.log")
    assert report.incomplete == [], report.incomplete
    assert report.findings and all("> escaped (joined" in f.view for f in report.findings), report.findings
    assert any(f.kind == "known-key" for f in report.findings), report.findings


@pytest.mark.parametrize("form", ["php dot", "lua .."])
def test_sanitize_certifies_only_with_the_joined_literals_redacted(tmp_path: Path, form: str) -> None:
    printed = FORMS[form](DER, 16)
    path = tmp_path / "app.log"
    path.write_bytes(FILLER + printed + FILLER)
    result = sanitize(path, tmp_path / "out", Home(tmp_path / "home"), KNOWN)
    output = (tmp_path / "out").read_bytes()
    assert result.status == "clean", result
    assert printed not in output and len(output) == path.stat().st_size


PHP = b"""<?php
$greeting = "Hello, " . $name . "!\\n" . 'Welcome back' . "\\t(" . $count . ")\\n";
$sql = 'SELECT id, name FROM users WHERE id = ' . intval($id) . ' AND active = 1' . "\\r\\n";
$path = $base . "/" . "cache" . "/" . md5($key) . ".json";
echo "line one\\n" . "line two\\n" . "line three\\n" . "tab\\there\\n" . "quote \\"x\\"\\n";
$csv = implode(",", ["a\\tb", "c\\nd", "e\\\\f", "g\\x41h"]) . "\\n";
"""
JS = b"""const parts = ['<div class="row">\\n', '  <span>', name, '</span>\\n', '</div>\\n'].join('');
const msg = "Hello, " + user + "!\\n" + 'You have ' + n + " new messages\\t(" + when + ")\\n";
const esc = ['\\x1b[1m', '\\x1b[31m', 'error', '\\x1b[0m', '\\u00e9\\u00e8'].join('');
const re = new RegExp("^\\\\d+" + "\\\\." + "\\\\d+$");
"""


def test_ordinary_code_with_concatenations_is_certified_unchanged(tmp_path: Path) -> None:
    """A PHP and a JS file of string concatenations (escapes `\\n \\t \\x1b` joined by `.`, `+`,
    `,` lists) hold no key: both readers read their joins and certify them unchanged."""
    for name, text in (("app.php", PHP * 200), ("app.js", JS * 200)):
        path = tmp_path / name
        path.write_bytes(text)
        result = sanitize(path, tmp_path / (name + ".out"), Home(tmp_path / "home"), KNOWN)
        assert result.status == "clean", (name, result)
        assert (tmp_path / (name + ".out")).read_bytes() == text, name


def test_the_reader_counts_only_joined_runs_it_reads() -> None:
    """21,000 lines of `"\\n"."a";` (a join of one escape, read for nothing) against the reader's
    cap of 20,225 escaped runs in 231 KB: not counted, so the view is complete and clean (were they
    counted, ordinary code that `.` now joins would be refused)."""
    text = b'"\\n"."a";\n' * 21_000
    report = recheck_bytes(text, KNOWN, "app.php")
    assert report.incomplete == [] and report.findings == [], (report.incomplete, report.findings[:3])
