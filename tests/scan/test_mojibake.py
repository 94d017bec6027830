"""rt14 F3: key bytes printed as text with non-ASCII characters: Latin-1 mojibake (the UTF-8 of
`key.decode('latin-1')`), Python's repr of that str, Go's `%q` with raw runes. Read by the scanner
(`mojibake.py`) and the independent reader (`recheck_mojibake.py`); both missed them before."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from signward.dumps import sanitize, scan_path
from signward.home import Home
from signward.scan import mojibake
from signward.scan.knownkeys import KnownKeys
from signward.scan.recheck import Budget, _Exhausted, _Reader, recheck_bytes
from signward.scan.recheck_mojibake import read_mojibake
from signward.services import init_home
from tests.scan.material import EC, ED, NUMBERS, RSA, known

DER = EC.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
SCALAR = EC.private_numbers().private_value.to_bytes(32, "big")
SEED = ED.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
PRIME = NUMBERS.p.to_bytes(128, "big")
LOG = b"".join(b"2026-12-06T14:00:%02d INFO worker ready id=%d\n" % (n % 60, n) for n in range(50))
SECRETS = {"der": DER, "scalar": SCALAR, "prime": PRIME}  # what the scanner's detectors read in any view
SCANNER_KINDS = {"der": "pkcs8-ec", "scalar": "ec-private-scalar", "prime": "rsa-prime"}


def go_quote(data: bytes) -> bytes:
    """Go's `strconv.Quote(string(b))` / `%q`: a valid UTF-8 sequence is its rune (raw when
    printable, else `\\u` or above U+FFFF `\\U`), an invalid byte `\\xNN` (rt14's gen.py)."""
    out, index = ['"'], 0
    named = {7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v"}
    while index < len(data):
        byte = data[index]
        if byte < 0x80:
            char = chr(byte)
            out.append("\\" + char if char in '"\\' else char if 0x20 <= byte < 0x7F else
                       named.get(byte, f"\\x{byte:02x}"))
            index += 1
            continue
        for width in (2, 3, 4):
            try:
                rune = data[index:index + width].decode("utf-8")
            except UnicodeDecodeError:
                continue
            if len(rune) == 1:
                out.append(rune if rune.isprintable() else f"\\u{ord(rune):04x}" if ord(rune) < 0x10000
                           else f"\\U{ord(rune):08x}")  # Go's \U above the BMP (CI drew a key with one)
                index += width
                break
        else:
            out.append(f"\\x{byte:02x}")
            index += 1
    return ("".join(out) + '"').encode("utf-8")


def latin1_utf8(data: bytes) -> bytes:
    return data.decode("latin-1").encode("utf-8")


def py_repr(data: bytes) -> bytes:
    return repr(data.decode("latin-1")).encode("utf-8")


def py_repr_double(data: bytes) -> bytes:
    """The same escapes in double quotes (what repr writes for a str holding `'` and no `"`, and
    JavaScript's and Java's literals): `'` raw, `"` escaped."""
    inner = repr(data.decode("latin-1"))[1:-1].replace("\\'", "'").replace('"', '\\"')
    return ('"' + inner + '"').encode("utf-8")


FORMS: dict[str, Callable[[bytes], bytes]] = {
    "latin1-utf8": lambda d: b"key=" + latin1_utf8(d),
    "latin1-utf8-json-ish": lambda d: b'{"event": "key", "raw": ' + latin1_utf8(d) + b"}",
    "latin1-utf8-crlf": lambda d: b"key:\r\n" + latin1_utf8(d) + b"\r\n",
    "py-repr": lambda d: b"key=" + py_repr(d),
    "py-repr-dict": lambda d: b"{'k': " + py_repr(d) + b", 'n': 1}",
    "py-repr-double": lambda d: b"key=" + py_repr_double(d),
    "go-q": lambda d: b"key=" + go_quote(d),
    "go-q-struct": lambda d: b"{Name:signer Key:" + go_quote(d) + b"}",
}


def _wrapped(body: bytes) -> bytes:
    return LOG + body + b"\n" + LOG


@pytest.mark.parametrize("secret", sorted(SECRETS))
@pytest.mark.parametrize("form", sorted(FORMS))
def test_each_form_is_found_by_both_readers(form: str, secret: str, tmp_path: Path) -> None:
    data = _wrapped(FORMS[form](SECRETS[secret]))
    if form.startswith("go-q") and not any(b >= 0x80 for b in go_quote(SECRETS[secret])):
        pytest.skip("no raw rune in this key's %q: the ASCII escape readers read it")
    path = tmp_path / "app.log"
    path.write_bytes(data)
    keys = known(EC, ED, RSA)
    report = scan_path(path, known=keys)
    layers = {f.encoding.split("+")[0] for f in report.findings if f.kind == SCANNER_KINDS[secret]}
    assert layers & {"latin-1", "escaped-utf8", "escaped-latin-1"}, (form, secret, report.findings)
    reading = recheck_bytes(data, keys)
    assert any("mojibake" in f.view or "escaped " in f.view for f in reading.findings), (form, secret, reading)


def test_a_go_q_literal_whose_raw_characters_all_come_first_is_read(tmp_path: Path) -> None:
    """Go's %q of this scalar starts `"\u0102\\xf3...`: its one raw rune (U+0102) comes before
    every byte escape; the scanner looked for literals only where an escape came first, so about 5 %
    of P-256 scalars printed so were missed by it (a fixed key: the session's key tests another case)."""
    key = ec.derive_private_key(int("c482f39ee91157ec7ade07d561c7577b0dad84ef04c55671e579c10191ad0437", 16),
                                ec.SECP256R1())
    scalar = key.private_numbers().private_value.to_bytes(32, "big")
    printed = go_quote(scalar)
    assert printed.index(b"\\x") > printed.index(b"\xc4\x82")  # the raw rune first
    path = tmp_path / "app.log"
    path.write_bytes(_wrapped(b"key=" + printed))
    views = [view for view in mojibake.escaped_literals(path.read_bytes(), len(path.read_bytes()))]
    assert any(view[2] == scalar for view in views), views
    report = scan_path(path, known=known(key))
    assert any(f.kind == "ec-private-scalar" and f.encoding.startswith("escaped-utf8") for f in report.findings)


@pytest.mark.parametrize("form", ["latin1-utf8", "py-repr", "go-q"])
def test_a_32_byte_seed_is_found_by_the_reader(form: str) -> None:
    """A bare 32-byte seed inside a text view: the reader's window search at every offset finds it
    (the scanner's Ed25519 search reads seeds aligned or kept by themselves: see the report)."""
    data = _wrapped(FORMS[form](SEED))
    if form == "go-q" and not any(b >= 0x80 for b in go_quote(SEED)):
        pytest.skip("no raw rune in this seed's %q")
    reading = recheck_bytes(data, known(ED))
    assert any(f.kind == "known-key" and ("mojibake" in f.view or "escaped " in f.view)
               for f in reading.findings), reading


def test_sanitize_redacts_the_mojibake_key_and_certifies_the_rest(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    init_home(home)
    source, out = tmp_path / "app.log", tmp_path / "clean.log"
    source.write_bytes(_wrapped(FORMS["latin1-utf8"](DER)) + _wrapped(FORMS["py-repr"](PRIME)))
    result = sanitize(source, out, home, known(EC, RSA))
    cleaned = out.read_bytes()
    assert result.status == "clean" and result.redacted_bytes > 0
    assert latin1_utf8(DER)[:64] not in cleaned and py_repr(PRIME)[1:60] not in cleaned
    assert cleaned.startswith(LOG[:200])


def _ordinary_log(lines: int) -> bytes:
    """Timestamps, MACs, UUIDs, versions, decimal tables, code with numeric arrays, and text
    and literals with accents (French, German, Spanish, escapes in repr'd strings)."""
    rng = random.Random(7)
    words = ["café", "naïve", "Größe", "Übergröße", "señal", "déjà", "élève", "façade", "Müller", "crème brûlée"]
    out = []
    for n in range(lines):
        kind = n % 8
        stamp = f"2026-12-06T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}.{n % 1000:03d}Z"
        if kind == 0:
            mac = ":".join(f"{rng.randrange(256):02x}" for _ in range(6))
            out.append(f"{stamp} link up {mac} id={uuid.UUID(int=rng.getrandbits(128))}")
        elif kind == 1:
            out.append(f"{stamp} version {rng.randrange(9)}.{rng.randrange(40)}.{rng.randrange(200)} loaded")
        elif kind == 2:
            out.append(f"{stamp} " + " ".join(f"{rng.random() * 1000:9.3f}" for _ in range(8)))
        elif kind == 3:
            numbers = ", ".join(str(rng.randrange(10_000)) for _ in range(12))
            out.append("    static const int table[] = {" + numbers + "};")
        elif kind == 4:
            out.append(f"{stamp} user={rng.choice(words)} note=" + " ".join(rng.choice(words) for _ in range(8)))
        elif kind == 5:
            out.append(f"{stamp} repr=" + repr(" ".join(rng.choice(words) for _ in range(5)) + "\x01\t\x7f"))
        elif kind == 6:
            out.append(f'{stamp} msg="{rng.choice(words)}\\x20\\x41 {rng.choice(words)}\\x42\\x43 é"')
        else:
            out.append(f"{stamp} title='Éléments » {rng.choice(words)} « {rng.choice(words)}' count={n}")
    return ("\n".join(out) + "\n").encode("utf-8")


def test_an_ordinary_log_with_accents_gives_no_finding(tmp_path: Path) -> None:
    data = _ordinary_log(3000)
    path = tmp_path / "ordinary.log"
    path.write_bytes(data)
    report = scan_path(path, known=known(EC, ED))
    assert report.findings == [] and report.incomplete == []
    assert recheck_bytes(data, known(EC, ED)).clean


HOSTILE = {
    # clusters of one pair fewer than a run needs, apart by more than a run's gap
    "short-clusters": (b"a" + b"\xc3\xa9" + b"x" * 20) * (mojibake.MIN_PAIRS - 1) + b" " * 40,
    # a quote, escaped quotes to walk back over, escapes followed by raw runes, no closing quote soon
    "escaped-quotes": b"'" + b"\\'" * 300 + b"\\x41\\x42\xd1\x8f\\x43" * 40,
    # short literals, each with a hint, tiling the text
    "tiled-literals": b"'\\x41\xd1\x8f aaaa' ",
    # one long literal of escapes and runes too sparse to be bytes
    "sparse-literal": b'"' + (b"\\x41\xd1\x8f" + b"b" * 40) * 300 + b'" ',
}


@pytest.mark.parametrize("form", sorted(HOSTILE))
def test_three_megabytes_of_near_misses_stay_bounded(form: str) -> None:
    """Measured on the shared machine (CPU s, this module's readers alone): see the report; the
    asserted bounds are wide (a loaded machine), the views and findings are exact."""
    unit = HOSTILE[form]
    data = (unit * ((3 << 20) // len(unit) + 1))[:3 << 20]
    began = time.process_time()
    views = [*mojibake.mojibake_runs(data, len(data)), *mojibake.escaped_literals(data, len(data))]
    scanner = time.process_time() - began
    assert views == []
    reader = _Reader(KnownKeys(), Budget())
    began = time.process_time()
    try:
        read_mojibake(reader, data, "hostile", 0)
    except _Exhausted:
        pass  # past the anchor bound: the reader's read is incomplete (refused), never clean
    elapsed = time.process_time() - began
    assert reader.report.findings == [] and reader.budget.views == 0
    assert scanner < 10 and elapsed < 10, (scanner, elapsed)


def test_past_the_view_bound_the_chunk_is_incomplete(tmp_path: Path) -> None:
    run = b"k=" + latin1_utf8(bytes(range(0x80, 0x90))) + b"\n" + b"." * 80 + b"\n"
    path = tmp_path / "many.log"
    path.write_bytes(run * (mojibake.MAX_VIEWS + 10))
    report = scan_path(path)
    assert any(why.startswith("mojibake: more than") for why in report.incomplete), report.incomplete
