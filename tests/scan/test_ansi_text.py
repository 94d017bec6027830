"""Text coloured with terminal escapes, read as a terminal shows it: the scanner's view
(scan/ansi_text.py, read by the text detector) and the reader's (recheck_codecs `_terminal_lines`),
on real `openssl` printouts and PEM coloured line by line as CI logs and `script` captures keep them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from signward.dumps import KnownKeys, sanitize, scan_path
from signward.home import Home
from signward.scan.ansi_text import ansi_regions
from signward.scan.detectors.keytext import keytext_hits
from signward.scan.recheck import recheck_bytes
from tests.scan.test_keytext import _key

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl binary")
LOG = b"\x1b[2m2026-12-08T00:01:02Z\x1b[0m \x1b[32mINFO\x1b[0m build step passed\n" * 30


def _coloured(text: bytes, style: bytes = b"\x1b[1;31m") -> bytes:
    return b"".join(style + line + b"\x1b[0m\n" for line in text.splitlines())


FORMS = {"printout-rsa": ("rsa2048", False, "keytext-rsa-private"),
         "printout-p256": ("p256", False, "keytext-ec-private"),
         "pem-p256": ("p256", True, "pem-private-key")}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_a_coloured_key_is_found_by_both_readers(tmp_path: Path, form: str) -> None:
    name, pem, kind = FORMS[form]
    key_pem, text = _key(name)
    coloured = _coloured(key_pem if pem else text)
    path = tmp_path / "ci.log"
    path.write_bytes(LOG + coloured + LOG)
    findings = [(f.kind, f.encoding) for f in scan_path(path, "text").findings]
    assert (kind, "ansi") in findings, findings
    views = [f.view for f in recheck_bytes(LOG + coloured + LOG).findings]
    assert any("terminal-colours" in view for view in views), views


def test_a_finding_maps_back_from_its_first_to_its_last_character() -> None:
    _, text = _key("p256")
    data = LOG + _coloured(text) + LOG
    [region] = list(ansi_regions(data))
    [(start, end, kind, _)] = list(keytext_hits(region.text))
    raw_start, raw_end = region.span(start, end)
    assert data[raw_start:raw_start + 12] == b"Private-Key:" and data[raw_end - 1] == region.text[end - 1]
    assert region.text[start:end].replace(b"\n", b"") in data[raw_start:raw_end].replace(b"\x1b[1;31m", b"").replace(
        b"\x1b[0m", b"").replace(b"\n", b"")


def test_a_coloured_printout_is_sanitized_and_a_coloured_log_certifies(tmp_path: Path) -> None:
    _, text = _key("rsa2048")
    source = tmp_path / "ci.log"
    source.write_bytes(LOG + _coloured(text) + LOG)
    result = sanitize(source, tmp_path / "out", Home(tmp_path / "home"), KnownKeys())
    out = (tmp_path / "out").read_bytes()
    assert result.status == "clean" and b"prime1" not in out and out.startswith(LOG[:-64])
    benign = tmp_path / "benign.log"
    benign.write_bytes(LOG * 50)
    report = scan_path(benign, "text")
    assert report.findings == [] and report.incomplete == []
    assert recheck_bytes(LOG * 50).findings == []
