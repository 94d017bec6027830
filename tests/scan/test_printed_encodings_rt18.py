"""rt18 (issue #32, group E): printed encodings both readers missed, so `sanitize` certified a file
with the key recoverable: cp1252 mojibake whose line a console wrapped at 120 columns (CRLF inside;
PowerShell's transcript, in UTF-16LE with a BOM or in UTF-8), the same text in UTF-16BE without a
BOM, and base58 wrapped at 15 (or 12) columns. Every key here is fixed: where a line wraps and
which bytes cp1252 maps depend on it."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from signward.dumps import sanitize, scan_path
from signward.home import Home
from signward.scan import printed_encodings
from signward.scan.knownkeys import KnownKeys
from signward.scan.recheck import recheck_bytes
from signward.services import init_home
from tests.scan.material import known
from tests.scan.test_printed_encodings import base58

SCALAR = int("8180935e3bea697689a69531a2a57194d0784a2cc72ee2b8e3f5c6f56d044bc9", 16)
KEY = ec.derive_private_key(SCALAR, ec.SECP256R1())
DER = KEY.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption())
LOG = b"".join(b"2026-12-07T00:00:%02d INFO worker ready id=%d\n" % (n % 60, n) for n in range(50))


def _cp1252(data: bytes) -> str:
    return "".join(bytes([byte]).decode("cp1252", "ignore") or chr(byte) for byte in data)


_PREFIX = "2026-12-07T00:00:00.000Z INFO  [worker-1] material.loader: the key read as text is "


def _wrapped(columns: int, prefix: str = "") -> str:
    """PowerShell's transcript: the key's cp1252 text on one line (behind `prefix`, not returned),
    wrapped at the console's width."""
    text = prefix + _cp1252(DER)
    return "PS> Get-Content key.bin -Encoding Default\r\n" * (not prefix) + "\r\n".join(
        text[at:at + columns] for at in range(0, len(text), columns))[len(prefix):] + "\r\n"


def _b58_rows(columns: int) -> bytes:
    text = base58(DER)
    return LOG + b"\n".join(text[at:at + columns] for at in range(0, len(text), columns)) + b"\n" + LOG


# form -> (bytes, what the scanner's view says, what the reader's view says)
FORMS: dict[str, tuple[Callable[[], bytes], str, str]] = {
    "utf16le-bom-wrapped-120": (lambda: b"\xff\xfe" + _wrapped(120).encode("utf-16-le"),
                                "wrapped at 120 (UTF-16LE text)", "cp1252 mojibake@"),
    "utf8-wrapped-120": (lambda: LOG + _wrapped(120).encode() + LOG, "wrapped at 120", "cp1252 mojibake@"),
    "utf8-behind-a-log-prefix-wrapped-100": (lambda: LOG + (_PREFIX + _wrapped(100, _PREFIX)).encode() + LOG,
                                             "wrapped at 100", "cp1252 mojibake@"),
    "utf16be-no-bom": (lambda: ("PS> Get-Secret\r\n" + "log line\r\n" * 20 + _cp1252(DER) + "\r\n").encode("utf-16-be"),
                       "(UTF-16BE text)", "> utf-16be near cp1252@"),
    "base58-wrapped-15": (lambda: _b58_rows(15), "decoded base58 run", "> base58@"),
    "base58-wrapped-12": (lambda: _b58_rows(12), "decoded base58 run", "> base58@"),
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_each_rt18_form_is_read_by_both_readers(form: str, tmp_path: Path) -> None:
    make, scanner_view, reader_view = FORMS[form]
    data = make()
    views = [view for view in printed_encodings.encoding_views(data, len(data)) if DER in view[2]]
    assert views and all(scanner_view in view[4] for view in views), [view[4] for view in views]
    path = tmp_path / "transcript.txt"
    path.write_bytes(data)
    report = scan_path(path, known=known(KEY))
    assert any(f.kind == "pkcs8-ec" for f in report.findings), report.findings
    reading = recheck_bytes(data, KnownKeys())  # no known key: the DER itself
    assert any(reader_view in f.view for f in reading.findings), reading
    if "wrapped" in form and "base58" not in form:  # the rows joined found it, not the run as it stands
        # (the rule for a key cut short after its secret also reads the DER's head where a line break
        # spoils its tail, in the raw text and the run as it stands: the whole key is the joined rows')
        whole = [f for f in reading.findings if "cut short" not in f.key]
        assert whole and all("wrapped at" in f.view for f in whole), reading


def test_a_wrapped_cp1252_line_is_joined_at_its_width_only() -> None:
    plain = b"x" * 50 + b"\r\n" + b"\x80" * 50 + b"\r\n" + b"\x81" * 10 + b"\n"
    joined = dict(printed_encodings.unwrapped(plain, 0))
    assert joined[50] == b"x" * 50 + b"\x80" * 50 + b"\x81" * 10 + b"\n" and 114 not in joined
    assert list(printed_encodings.unwrapped(b"x" * 39 + b"\r\n" + b"\x80" * 39, 0)) == []  # narrower than a console
    assert list(printed_encodings.unwrapped(b"\x80" * 60 + b"\r\n" + b"abc", 0)) == []  # nothing key-like after


def test_sanitize_redacts_the_rt18_forms(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    init_home(home)
    source, out = tmp_path / "app.log", tmp_path / "clean.log"
    text = base58(DER)
    rows = b"\n".join(text[at:at + 15] for at in range(0, len(text), 15))
    source.write_bytes(LOG + _wrapped(120).encode() + LOG + rows + b"\n" + LOG)
    result = sanitize(source, out, home, known(KEY))
    cleaned = out.read_bytes()
    assert result.status == "clean" and result.redacted_bytes > 0, result
    assert _cp1252(DER)[:60].encode() not in cleaned and text[15:45] not in cleaned
    assert cleaned.startswith(LOG[:200])
    assert recheck_bytes(cleaned, KnownKeys()).clean


def _ordinary(size: int) -> bytes:
    """A Windows service log: console lines wrapped at 120 with CRLF, cp1252 typography (quotes,
    dashes, the euro sign, accents), ids of 12 and 15 base58 characters ending lines."""
    rng = random.Random(18)
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    words = ["“Zahlung” – erfolgreich", "Größe: 12 €", "naïve café — ok", "‘quoted’ • item", "tâche terminée…",
             "user", "request", "took", "ms", "Ärger™", "Œuvre", "€ 1.234,56"]
    lines: list[str] = []
    while sum(map(len, lines)) < size:
        text = f"2026-12-07 {rng.randrange(24):02d}:{rng.randrange(60):02d} " + " ".join(
            rng.choice(words) for _ in range(rng.randrange(3, 40)))
        lines += [text[at:at + 120] for at in range(0, len(text), 120)]
        lines.append("id " + "".join(rng.choice(alphabet) for _ in range(rng.choice((12, 15)))))
    return "\r\n".join(lines).encode()[:size]


def test_ordinary_text_with_typography_and_short_ids_is_certified(tmp_path: Path) -> None:
    """512 KiB here (seconds); 3 MB measured before/after in docs/dumps.md (rt18)."""
    data = _ordinary(1 << 19)
    path = tmp_path / "service.log"
    path.write_bytes(data)
    began = time.process_time()
    report = scan_path(path, known=known(KEY))
    assert report.findings == [] and report.incomplete == [], report
    reading = recheck_bytes(data, known(KEY))
    assert reading.clean and not reading.incomplete, reading
    assert time.process_time() - began < 120
