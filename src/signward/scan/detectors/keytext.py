"""Private keys in OpenSSL's text printout (`openssl pkey|rsa|ec -text`), read by the text detector
(issue #32, keytext): labelled colon-hex blocks (`modulus:`, `prime1:`, `priv:`, `pub:` ...) under
a `Private-Key:` header, found only where the key is proven:

RSA        a printed prime (prime1 or prime2) dividing the printed modulus; or, with no prime, the
           modulus and privateExponent with pow(2, e*d, n) == 2 (a budgeted modular exponentiation)
EC         the priv scalar derives the printed pub point on the named curve (ASN1 OID / NIST
           CURVE), or on each curve `cryptography` knows of the pub's size when none is named
Ed/X25519  (and Ed448/X448) the priv derives the printed pub
unpaired   a priv with no pub, proven a valid scalar of the curve that is named, or of one curve of
           the header's `(N bit)` size: kind `...-unpaired` (a `priv:` with no header, name nor pub
           is not read: any labelled hex would be)

RSA tail   no modulus (`tail -n 30` of a printout: exponent1, exponent2, coefficient), a block of
           MIN_TAIL bytes or more under an RSA-private label: unproven, a finding all the same

A block is the hex pairs after its label up to the next label, read in two ways: on the label's
own line (the printout collapsed onto one line: `echo $(...)`, `tr '\\n' ' '`), or, when the label
ends its line, the hex of each following line joined: its last token (any line prefix: `grep -n`,
`cat -n`, syslog, docker timestamps; lines re-wrapped by `fold`) or, when that is no hex, its last
colon-hex run between non-alphanumeric bytes (decorated lines: `cat -A`'s `$`, HTML's
`&nbsp;..<o:p></o:p></p>`, a Python list's quotes). A line also ends at HTML's `<br>`, `&#10;`,
`</p>` and `</div>`, at the `', '` (`", "`) between the items of a one-line Python list of lines,
and at the `\\n` escape of a Python repr. Bounds: pairs per block (a 16,384-bit modulus), lines
per block, bytes per line, blocks per view, proofs per view, bytes the line reads go through per view.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa, x448, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

MAX_PAIRS = 2064  # pairs in one block: a 16,384-bit modulus is 2,049 (a leading 00)
MIN_PAIRS = 20  # shorter blocks hold no key (secp192r1's scalar is 24 octets)
MAX_LINE = 512  # bytes of one line of a block (a long log prefix and 15 pairs)
MAX_GAP = 512  # bytes between two items of one printout (a line's prefix)
MAX_BLOCKS = 50_000  # labelled blocks of MIN_PAIRS or more read per view, plus one per 256 bytes
PROOFS = 256  # scalar multiplications per view, plus one per 256 KiB
# modular exponentiations (RSA without a printed prime) per view, plus one per 256 KiB, in units of a 2048-bit
# modulus's (a k-bit one costs (k / 2048) ** 3 rounded up: 16,384 bits, 512 units, about 2 s)
MODEXPS = 64
# the blocks that hold a private value: under a `Private-Key:` header one is a finding even unproven (a curve
# cryptography does not know: SM2, secp112r1, binary curves; DSA; DH's `private-key:`; a pub changed by a byte)
PRIVATE_BLOCKS = frozenset({"priv", "privateExponent", "private-key"})
# RSA's private blocks: with no modulus (the tail of a printout) one of MIN_TAIL bytes or more is a finding unproven
# (with the public modulus of any certificate or JWKS, exponent1 alone gives p: gcd(2^(e*dp) - 2, n))
RSA_PRIVATE = ("prime1", "prime2", "exponent1", "exponent2", "coefficient", "privateExponent")
MIN_TAIL = 64
UNPROVEN = "keytext-private-unproven"
MEMO = 1 << 16  # lines whose hex is kept for the next label's read of them
READ_WORK = 16  # bytes the blocks' line reads go through, per byte of the view (plus 1 MiB): past it, cut

# where a printout's line ends besides `\n`: HTML's line breaks and the end of a paragraph or a `<div>` a line (a
# mail's HTML), the items of a one-line Python list (or tuple) of its lines, the `\n` escape of a Python repr (not
# the `\n"` that ends a JSON log line's string: JSON_END)
SEPARATORS = (rb"<[bB][rR][ \t]?/?>", rb"</(?:[pP]|[dD][iI][vV])>\r?\n?", rb"&#10;|&#x0?[aA];", rb"', '", rb'", "',
              rb'(?:\\r)?\\n(?!")')
LINE_END = re.compile(b"|".join((rb"\n", *SEPARATORS)))
# what follows a label on its line before the line ends: `cat -A`'s `$` (`^M$`), HTML tags (`<o:p></o:p></p>`),
# a JSON array's quote and comma (`"modulus:",`)
DECOR = (rb"[ \t\r$\"',]{0,512}"
         rb"(?:(?:\^M|</?[A-Za-z][A-Za-z0-9:]{0,16}(?:[ \t][^<>\n]{0,64})?/?>)[ \t\r$\"',]{0,512}){0,32}")
TAIL = re.compile(DECOR + rb"(?:\n|" + b"|".join(SEPARATORS) + rb")")
# a block label with 4 pairs after it (on its line, or on the next line after the label's line ends, also after
# a JSON log line's escaped newline; the next line only, up to its separator): a label with no hex under it (a
# YAML `priv:` key) is passed over by the regex engine, not counted nor read
LABEL = re.compile(rb"(modulus|privateExponent|prime1|prime2|exponent1|exponent2|coefficient|private-key|priv|pub):"
                   rb"(?=[ \t]*(?:[0-9a-fA-F]{2}:){4}"
                   rb"|(?:%s(?:\n|%s)|(?:\\r)?\\n\"[^\n]{0,%d}\n)"
                   rb"(?:(?:(?!%s)[^\n]){0,%d}?(?:[^0-9A-Za-z]|\^I))?(?:[0-9a-fA-F]{2}:){4})"
                   % (DECOR, b"|".join(SEPARATORS), MAX_LINE, b"|".join(SEPARATORS), MAX_LINE))
SPACE = rb"(?:[ \t]|&nbsp;|&#160;)"  # (HTML's no-break spaces: an Outlook mail's printout)
HEADER = re.compile(rb"(?:(RSA|ED25519|X25519|ED448|X448)[ \t])?Private-Key:"
                    rb"(?:%s?\((\d{1,5})%sbit[^)\n]{0,40}\))?" % (SPACE, SPACE))
VALUE = re.compile(rb"(publicExponent|ASN1 OID|NIST CURVE):%s?([A-Za-z0-9_-]{1,40})" % SPACE +
                   rb"(?:[ \t]\(0x[0-9a-fA-F]{1,16}\))?")
NAME_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
INLINE = re.compile(rb"[ \t]*((?:[0-9a-fA-F]{2}:[ \t\r\n]*){0,%d}[0-9a-fA-F]{2})" % MAX_PAIRS)
JOINED = re.compile(rb"(?:[0-9a-fA-F]{2}:){0,%d}[0-9a-fA-F]{2}" % MAX_PAIRS)
HEX_TOKEN = re.compile(rb"[0-9a-fA-F:]{1,%d}" % MAX_LINE)
# a decorated line's hex: its last run of whole pairs between non-alphanumeric bytes (or after `cat -A`'s `^I`),
# with a colon (a block's first line) or any (after a line that ended in a colon); matched from the line's end
_RUN = rb"(?s:.*)(?:(?<![0-9A-Za-z_:])|(?<=\^I))(%s)(?![0-9A-Za-z_:])"
RUN_FIRST = re.compile(_RUN % rb"(?:[0-9a-fA-F]{2}:)+(?:[0-9a-fA-F]{2})?")
RUN_NEXT = re.compile(_RUN % rb"(?:[0-9a-fA-F]{2}:)*[0-9a-fA-F]{2}:?")
# a JSON log line (docker's json-file, `{"log":"    00:bb:..\n","stream":..}`): the escaped newline ends the
# label's line, the pairs are the start of the message's string
JSON_END = re.compile(rb'(?:\\r)?\\n"')
JSON_LINE = re.compile(rb'"(?:log|MESSAGE|message|msg)":"[ \t]*([0-9a-fA-F:]{1,%d})(?:\\r)?(?:\\n)?"' % MAX_LINE)

_CURVE_LIST: list[ec.EllipticCurve] = [
    ec.SECP192R1(), ec.SECP224R1(), ec.SECP256R1(), ec.SECP384R1(), ec.SECP521R1(), ec.SECP256K1(),
    ec.BrainpoolP224R1(), ec.BrainpoolP256R1(), ec.BrainpoolP320R1(), ec.BrainpoolP384R1(), ec.BrainpoolP512R1()]
CURVES: dict[str, ec.EllipticCurve] = {c.name: c for c in _CURVE_LIST}
CURVES.update({"prime192v1": ec.SECP192R1(), "prime256v1": ec.SECP256R1(), "P-192": ec.SECP192R1(),
               "P-224": ec.SECP224R1(), "P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()})
# OKP: header word -> (private bytes, loader)
OKP: dict[str, tuple[int, Any]] = {
    "ED25519": (32, ed25519.Ed25519PrivateKey.from_private_bytes),
    "X25519": (32, x25519.X25519PrivateKey.from_private_bytes),
    "ED448": (57, ed448.Ed448PrivateKey.from_private_bytes),
    "X448": (56, x448.X448PrivateKey.from_private_bytes)}


@dataclass
class _Record:
    """One printout's items: blocks (label -> octets), values (label -> text), its header."""

    start: int
    end: int
    header: str | None = None  # "RSA", "ED25519" ... or "" for a bare `Private-Key:`
    bits: int = 0
    blocks: dict[str, bytes] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class _Reads:
    """The bytes one view's block reads went through (READ_WORK bounds them), and the lines read:
    (start * 3 + state) -> (hex, end, next line's start), up to MEMO lines (then forgotten)."""

    work: int = 0
    lines: dict[int, tuple[bytes | None, int, int]] = field(default_factory=dict)


@dataclass
class _Budget:
    proofs: int
    modexps: int
    cut: list[str] | None
    size: int
    spent: bool = False

    def take(self, modexp: int = 0) -> bool:
        """One proof (a scalar multiplication, or a modular exponentiation of `modexp` units) if the
        view has it left; the first refusal says in `cut` that the view was not read in full."""
        if modexp:
            self.modexps -= modexp
        else:
            self.proofs -= 1
        if self.proofs >= 0 and self.modexps >= 0:
            return True
        if not self.spent and self.cut is not None:
            self.cut.append(f"keytext: proofs past their budget in {self.size} bytes")
        self.spent = True
        return False


def _in_name(text: bytes, start: int) -> bool:
    """Whether the label at `start` ends another name (`mypriv:`); not after a repr's `\\n` escape."""
    return start > 0 and text[start - 1] in NAME_CHARS and text[start - 2:start] not in (b"\\n", b"^I")


def _inline_block(text: bytes, at: int) -> tuple[bytes | None, int]:
    """The pairs on the label's own line and after (the printout collapsed onto one line)."""
    match = INLINE.match(text, at)
    if match is None:
        return None, at
    return bytes.fromhex(re.sub(rb"[: \t\r\n]", b"", match.group(1)).decode()), match.end()


def _line_hex(line: bytes, parts: list[bytes]) -> bytes | None:
    """A block line's hex: its last token when that is hex, a JSON log line's message, or its last
    colon-hex run between non-alphanumeric bytes (decorations around it); a run only on a block's
    first line or after a line that ended in a colon (a block's last line ends with no colon)."""
    token = line[max(line.rfind(b" "), line.rfind(b"\t")) + 1:]
    if token and HEX_TOKEN.fullmatch(token) is not None:
        return token
    json = JSON_LINE.search(line) if b'":"' in line else None
    if json is not None:
        return json.group(1)
    if parts and not parts[-1].endswith(b":"):
        return None
    run = (RUN_NEXT if parts else RUN_FIRST).match(line)
    return None if run is None else run.group(1)


def _line(text: bytes, position: int, parts: list[bytes]) -> tuple[bytes | None, int, int]:
    """(hex, end, next line's start) of the line starting at `position`: it ends at `\\n` or a
    separator no more than MAX_LINE bytes on (or at the text's end)."""
    line_end = LINE_END.search(text, position, position + MAX_LINE + 1)
    if line_end is None and len(text) - position > MAX_LINE:
        return None, position, position
    stop, after = line_end.span() if line_end is not None else (len(text), len(text))
    line = text[position:stop].rstrip(b" \t\r")
    return _line_hex(line, parts), position + len(line), after


def _line_block(text: bytes, at: int, reads: _Reads) -> tuple[bytes | None, int]:
    """The hex of each line from the one starting at `at` (any prefix before it, decorations
    around it), joined: the pairs as openssl wrote them, whatever prefixes each line or where the
    lines were broken. The bytes gone through are added to `reads.work` (a label whose block is
    no block reads lines another label reads again: the view's READ_WORK bounds the sum; the lines
    read are kept, the next label's read of them is a look-up)."""
    position, total = at, 0
    parts: list[bytes] = []
    ends: list[tuple[int, int]] = []
    while position < len(text) and total <= 3 * MAX_PAIRS:
        key = 3 * position + (0 if not parts else 1 if parts[-1].endswith(b":") else 2)
        line = reads.lines.get(key)
        if line is None:
            if len(reads.lines) >= MEMO:
                reads.lines.clear()
            line = reads.lines[key] = _line(text, position, parts)
        if not line[0]:
            break
        parts.append(line[0])
        total += len(line[0])
        ends.append((total, line[1]))
        position = line[2]
    reads.work += position - at
    match = JOINED.match(b"".join(parts))
    if match is None:
        return None, at
    # the block ends with the line its last pair is on (a hex word on the next line, `done 0`, is not in it)
    end = next(line_end for length, line_end in ends if length >= match.end())
    return bytes.fromhex(match.group(0).replace(b":", b"").decode()), end


def _block(text: bytes, at: int, reads: _Reads) -> tuple[bytes | None, int]:
    """(octets, end) of the block after a label ending at `at`; None past MAX_PAIRS (no key is longer)."""
    tail = TAIL.match(text, at)
    if tail is not None:
        value, end = _line_block(text, tail.end(), reads)
    elif JSON_END.match(text, at) is not None:
        stop = text.find(b"\n", at, at + MAX_LINE)
        value, end = _line_block(text, stop + 1, reads) if stop >= 0 else (None, at)
    else:
        value, end = _inline_block(text, at)
    return (None, end) if value is not None and len(value) > MAX_PAIRS else (value, end)


def _records(text: bytes, cut: list[str] | None) -> Iterator[_Record]:
    """The printouts in `text`: labelled blocks no more than MAX_GAP apart (a label seen already
    starts the next), each with the header before it and the values (publicExponent, curve names)
    among or just after its blocks."""
    cap = MAX_BLOCKS + len(text) // 256
    blocks, record, at, floor, reads = 0, None, 0, 0, _Reads()
    most = READ_WORK * len(text) + (1 << 20)
    while (match := LABEL.search(text, at)) is not None:
        at = match.end()
        if _in_name(text, match.start()):
            continue  # `mypriv:`, `sub_modulus:`: another name
        value, end = _block(text, match.end(), reads)
        if reads.work > most:
            if cut is not None:
                cut.append(f"keytext: block lines read more than {READ_WORK} times over in {len(text)} bytes")
            break
        if value is None:
            continue
        blocks += 1
        if blocks > cap:
            if cut is not None:
                cut.append(f"keytext: more than {cap} labelled hex blocks in {len(text)} bytes")
            break
        if len(value) < MIN_PAIRS:
            continue  # no key's worth of hex
        at = max(at, end)
        name = match.group(1).decode()
        if record is None or match.start() - record.end > MAX_GAP or name in record.blocks:
            if record is not None:
                floor = _finish(text, record, match.start())
                yield record
            record = _Record(match.start(), end)
            _header(text, record, max(floor, match.start() - MAX_GAP))
        record.blocks[name] = value
        record.end = end
    if record is not None:
        _finish(text, record, len(text))
        yield record


def _header(text: bytes, record: _Record, low: int) -> None:
    """The last `Private-Key:` header in the MAX_GAP bytes before the record's first block."""
    for match in HEADER.finditer(text, low, record.start):
        record.start, record.header, record.bits = match.start(), (match.group(1) or b"").decode(), int(
            match.group(2) or 0)


def _finish(text: bytes, record: _Record, limit: int) -> int:
    """The values among the record's blocks and in the MAX_GAP bytes after (up to `limit`, the next
    record's first label); the record's end moved past them. Returns the end."""
    for match in VALUE.finditer(text, record.start, min(limit, record.end + MAX_GAP)):
        if _in_name(text, match.start()):
            continue
        record.values.setdefault(match.group(1).decode(), match.group(2).decode())
        record.end = max(record.end, match.end())
    return record.end


def _rsa(record: _Record, budget: _Budget) -> tuple[str, Any] | None:
    """A key when a printed prime divides the printed modulus, or pow(2, e*d, n) == 2."""
    n = int.from_bytes(record.blocks.get("modulus", b""), "big")
    e_text = record.values.get("publicExponent", "65537")
    e = int(e_text) if e_text.isdigit() else 65537
    if n < 3 or e < 3:
        return None
    for name in ("prime1", "prime2"):
        p = int.from_bytes(record.blocks.get(name, b""), "big")
        if 1 < p < n and n % p == 0:
            return "keytext-rsa-private", _rsa_key(n, e, p)
    d = int.from_bytes(record.blocks.get("privateExponent", b""), "big")
    if 1 < d < n and budget.take(modexp=-(-n.bit_length() // 2048) ** 3) and pow(2, e * d, n) == 2:
        try:
            p, _ = rsa.rsa_recover_prime_factors(n, e, d)
        except ValueError:
            return "keytext-rsa-private", None
        return "keytext-rsa-private", _rsa_key(n, e, p)
    return None


def _rsa_key(n: int, e: int, p: int) -> Any:
    q = n // p
    try:
        d = rsa.rsa_recover_private_exponent(e, p, q)
    except (ValueError, ZeroDivisionError):
        return None
    return rsa.RSAPrivateNumbers(p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q),
                                 rsa.RSAPublicNumbers(e, n)).private_key(unsafe_skip_rsa_key_validation=True)


def _okp(record: _Record, budget: _Budget) -> tuple[str, Any] | None:
    """An Ed25519/X25519/Ed448/X448 key whose priv derives the printed pub (any of the four of
    the priv's size when no header names it); with no pub, under its header: unpaired."""
    priv, pub = record.blocks["priv"], record.blocks.get("pub")
    names = [record.header] if record.header in OKP else [n for n, (size, _) in OKP.items() if size == len(priv)]
    for name in names:
        size, load = OKP[name]
        if len(priv) != size or (pub is None and name != record.header) or not budget.take():
            continue
        key = load(priv)
        public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        if pub is None:
            return f"keytext-{name.lower()}-private-unpaired", key
        if pub.startswith(public):
            return f"keytext-{name.lower()}-private", key
    return None


def _ec(record: _Record, budget: _Budget) -> tuple[str, Any] | None:
    """An EC key whose priv derives the printed pub on the named curve (or each of the pub's size);
    a valid priv with no pub on a named curve (or one of the header's size): unpaired."""
    scalar, pub = int.from_bytes(record.blocks["priv"], "big"), record.blocks.get("pub")
    named = record.values.get("ASN1 OID") or record.values.get("NIST CURVE")
    if named in CURVES:
        curves = [CURVES[named]]
    else:
        size = (len(pub) - 1 if pub[:1] in (b"\x02", b"\x03") else (len(pub) - 1) // 2) if pub else 0
        curves = [c for c in _CURVE_LIST if (pub and (c.key_size + 7) // 8 == size)
                  or (not pub and c.key_size == record.bits and len(record.blocks["priv"]) == (c.key_size + 7) // 8)]
    for curve in curves:
        if not budget.take():
            return None
        try:
            key = ec.derive_private_key(scalar, curve)
        except (ValueError, UnsupportedAlgorithm):
            continue
        if pub is None:
            return "keytext-ec-private-unpaired", key if named in CURVES else None
        form = PublicFormat.CompressedPoint if pub[:1] in (b"\x02", b"\x03") else PublicFormat.UncompressedPoint
        if pub.startswith(key.public_key().public_bytes(Encoding.X962, form)):
            return "keytext-ec-private", key
    return None


def _proven(record: _Record, budget: _Budget) -> tuple[str, Any] | None:
    if "modulus" in record.blocks:
        return _rsa(record, budget)
    if "priv" not in record.blocks:
        return None
    if record.header in OKP or ("pub" in record.blocks and len(record.blocks["priv"]) in (32, 56, 57)
                                and len(record.blocks["pub"]) == len(record.blocks["priv"])):
        return _okp(record, budget)
    if "pub" in record.blocks or record.values.get("ASN1 OID") or record.values.get("NIST CURVE") or record.bits:
        return _ec(record, budget)
    return None


def keytext_hits(text: bytes, cut: list[str] | None = None) -> Iterator[tuple[int, int, str, Any]]:
    """(start, end, kind, key) of each proven private key in OpenSSL's text printout, the span
    from its header (or first label) to the end of its last block. Past the proof budget or the
    block bound the rest is not read and `cut` says so (the scan is incomplete: refused)."""
    if not any(word in text for word in (b"priv", b"modulus", b"prime", b"exponent", b"coefficient")):
        return
    budget = _Budget(PROOFS + len(text) // (256 << 10), MODEXPS + len(text) // (256 << 10), cut, len(text))
    for record in _records(text, cut):
        if budget.spent:
            return
        found = _proven(record, budget)
        if found is None and record.header is not None and PRIVATE_BLOCKS & record.blocks.keys():
            found = UNPROVEN, None  # a private value under a `Private-Key:` header: a key, proven or not
        if found is None and "modulus" not in record.blocks and any(
                len(record.blocks.get(name, b"")) >= MIN_TAIL for name in RSA_PRIVATE):
            found = UNPROVEN, None  # RSA's private values with no modulus: the tail of a printout
        if found is not None:
            yield record.start, record.end, found[0], found[1]


__all__ = ["keytext_hits"]
