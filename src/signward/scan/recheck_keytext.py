"""The reader's rule for private keys printed as text (`openssl pkey -text`, `openssl rsa -text`,
`openssl ec -text`: issue #32 "nothing certified while a key can be recovered").

Its own code (standard library and `cryptography`; nothing from the scanner's detectors/keytext.py).
OpenSSL prints a key as labelled blocks of colon-separated hex pairs (`modulus:`, `privateExponent:`,
`prime1:`..., `priv:`, `pub:`) with `publicExponent: 65537 (0x10001)`, `ASN1 OID:` and `NIST CURVE:`
lines and a `Private-Key:` header. A label's block is the hex pairs after it up to the next label:

- on the label's own line, the pairs after it (the whole printout on one line, `echo $(...)`,
  `tr '\\n' ' '`: blanks after the colons), up to the next label on that line;
- on each following line, the line's last run of hex digits and colons (whatever stands in front
  of it: `grep -n` numbers, `path:12:`/`path-13-`, a syslog head, a timestamp, `cat -n`, `&nbsp;`,
  `cat -A`'s `^I`; and after it: `cat -A`'s `$`, `<o:p></o:p></p>`, a quote), while the block is
  open (it ends with a colon, or a pair cut in two by `fold`). A line ends at a line break, an HTML
  break (`<br>`, `<br/>`, `&#10;`) or the `', '` between the items of a one-line Python list (or
  tuple, `", "` JSON) of the printout's lines; a label's line may end in such decoration too (rt22);
- `fold` of the one-line form (labels cut in two): each window of 64 KiB or less around a long
  colon-hex run is read again with its line breaks taken out (`_joined`).

The labels between two `Private-Key:` headers (or a label met twice) are one printout. A finding
only where the key is proven: RSA, a printed prime dividing the modulus, or else d (or dp, dq)
with pow(2, e*d, n) == 2 (a modular exponentiation: budgeted); EC, Ed25519, X25519, Ed448, X448,
the private value derives the printed public one (the named curve, or every curve `cryptography`
knows of the sizes printed: kind `keytext`); a private value with no public one (cut off, or
never printed) is `keytext-unpaired` when it is a valid private value of the named curve, or,
with no name, of a curve of its size. What no proof covers is still refused when it gives a key
away (rt22): under a `Private-Key:` header (`DH `, `DSA `... before it), a `priv:`,
`privateExponent:` or DH `private-key:` block of UNPROVEN_BYTES or more (`keytext-unproven`: DSA,
DH, curves the reader does not know, explicit parameters, a pub that is not the priv's); with no
modulus, header or not, an RSA private value of TAIL_BYTES or more (`keytext-rsa-unproven`: the
tail of a printout; a prime, or dp and the public modulus, give the key). The span runs from the
header (or the first label) to the end of the last block, so that redaction takes all of it.

Bounds: labels with a hex block under them per view (`recheck_codecs.candidates`; labels with no
hex, a YAML of `priv:` keys, cost a search and count nothing), pairs per block (`MAX_PAIRS`: a
16,384-bit modulus; a longer private block is incomplete), modular exponentiations per recheck
(`Budget.max_modexps`, weighted by the modulus' size; past it incomplete), derivations against
the budget's scalar checks, MAX_RESULTS findings a view (past it the rest is not proven: refused).
"""

from __future__ import annotations

import bisect
import math
import mmap
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, x448, x25519

from . import recheck_zeros as zeros
from .recheck_codecs import candidates

if TYPE_CHECKING:
    from .recheck import _Reader

MAX_PAIRS = 2 + 16_384 // 8  # a 16,384-bit modulus with its leading 00, and one to spare
LINE_HEAD = 200  # characters in front of a block's first pair on the line after its label, at most
MIN_BYTES = 8  # a shorter block is no key's value (and is not counted against the bound)
MAX_SEGMENT = 4 * MAX_PAIRS + 256  # characters of a label's own line read (blanks after colons)
GROUP_GAP = 4096  # bytes between one block's end and the next label of the same printout, at most
JOIN_WINDOW = 64 << 10  # bytes around a colon-hex run read again with its line breaks taken out
MAX_RESULTS = 256  # findings of one view, at most (its report keeps 100: recheck.MAX_FINDINGS)
MODEXP_BITS = 2048  # a modular exponentiation up to this size is one unit of the budget (about 20 ms)
RSA_PRIVATE = ("privateExponent", "prime1", "prime2", "exponent1", "exponent2", "coefficient")
PRIVATE = (*RSA_PRIVATE, "priv", "private-key")
TAIL_BYTES = 64  # an RSA private value this long with no modulus is refused unproven (RSA-1024's dp)
UNPROVEN_BYTES = 20  # a private block this long under a header is refused unproven (DSA's 160-bit x)
_ANCHORS = (b"odulus:", b"priv:", b"prime1:", b"prime2:", b"rivateExponent:", b"exponent1:", b"exponent2:",
            b"coefficient:", b"rivate-key:")
_HEADER = rb"(?:RSA |DSA |DHX? |ED25519 |X25519 |ED448 |X448 )?Private-Key:"
_BLOCK_LABELS = rb"modulus|Modulus|privateExponent|prime[1-9]|exponent[1-9]|coefficient|priv|pub|private-key|public-key"
# where a line ends: a line break; in decorated text an HTML break (`<br>`, `<br/>`, `&#10;`) or the
# separator of a one-line Python list (or tuple) of lines, `', '` (each alternative starts with one of
# four bytes: a search six times as fast as with an optional group first)
_SOFT_EOL = rb"(?:<[bB][rR][ \t]{0,3}/?>|&#(?:13;&#10|10|x0?[dD];&#x0?[aA]|x0?[aA]);|['\"], ?['\"])"
# what may stand after a label on its line: blanks, `cat -A`'s `$` (`^M`), a list item's quote and
# comma, HTML tags and non-breaking spaces (`<o:p></o:p></p>`, `&nbsp;`); blank runs possessive
_JUNK = rb"(?:[ \t\r]*+(?:[$',\"]|\^M|<[^<>\n]{0,48}>|&(?:nbsp|#160);)){0,32}[ \t\r]*+"
# a colon-hex pair near the next line's start, after a non-alphanumeric byte (`&nbsp;`, `^I` of `cat -A`)
_HEAD_PAIR = rb"[^\n]{0,%d}?(?:(?<![0-9A-Za-z])|(?<=\^I))[0-9a-fA-F]{2}:" % LINE_HEAD
# a header, a label with a value on its line, or a block's label followed by a colon-hex pair (on its
# line, or the next: the regex passes over a config's `priv:` keys with no hex under them)
_LABELS = (rb"(?:(" + _HEADER + rb")|(publicExponent|ASN1 OID|NIST CURVE):|(" + _BLOCK_LABELS + rb"):"
           rb"(?=[ \t]*(?:[0-9a-fA-F]{2}:|" + _JUNK + rb"(?:\r?\n|" + _SOFT_EOL + rb")" + _HEAD_PAIR + rb")))")
_LABEL = re.compile(rb"(?<![A-Za-z0-9_])" + _LABELS)
# once line breaks are taken out, a label follows the last pair of the block before it directly, and
# a header whatever ended the line before it
_JOINED_LABEL = re.compile(rb"(?:(?<![G-Zg-z_])|(?=" + _HEADER + rb"))" + _LABELS)
_ANY_LABEL = re.compile(rb"(?<![A-Za-z0-9_])(?:Private-Key|publicExponent|ASN1 OID|NIST CURVE|"
                        + _BLOCK_LABELS + rb"):")
_SOFT = re.compile(_SOFT_EOL)
_REST = re.compile(_JUNK + rb"(?:(" + _SOFT_EOL + rb")|$)")  # what ends a label's line after its pairs
_SEGMENT = re.compile(rb"[ \t]*((?:[0-9a-fA-F]{2}:[ \t]*)*[0-9a-fA-F]{0,2})")
# a line's hex: its last colon-hex run (a non-alphanumeric byte, or `^I`, either side; a colon in it,
# or one pair or half of one that `fold` cut), whatever decorates the line after it
_TAIL = re.compile(rb"(?s:.*)(?:(?<![0-9A-Za-z:])|(?<=\^I))((?=[0-9a-fA-F:]*[0-9a-fA-F])"
                   rb"(?:[0-9a-fA-F]{0,2}:[0-9a-fA-F:]*|[0-9a-fA-F]{1,2}))(?![0-9A-Za-z:])")
_BLOCK = re.compile(rb"(?:[0-9a-fA-F]{2}:)*[0-9a-fA-F]{2}:?")
_DECIMAL = re.compile(rb"[ \t]*([0-9]{1,20})\b")
_RUN = re.compile(rb"(?:[0-9a-fA-F]{2}:[ \t]*){8}")  # where a printout may be: a long colon-hex run
_BREAK = re.compile(rb"\r?\n")
_CURVES: dict[bytes, ec.EllipticCurve] = {
    b"prime256v1": ec.SECP256R1(), b"secp256r1": ec.SECP256R1(), b"P-256": ec.SECP256R1(),
    b"secp384r1": ec.SECP384R1(), b"P-384": ec.SECP384R1(), b"secp521r1": ec.SECP521R1(), b"P-521": ec.SECP521R1(),
    b"secp224r1": ec.SECP224R1(), b"P-224": ec.SECP224R1(), b"prime192v1": ec.SECP192R1(),
    b"secp192r1": ec.SECP192R1(), b"P-192": ec.SECP192R1(), b"secp256k1": ec.SECP256K1(),
    b"brainpoolP224r1": ec.BrainpoolP224R1(), b"brainpoolP256r1": ec.BrainpoolP256R1(),
    b"brainpoolP320r1": ec.BrainpoolP320R1(), b"brainpoolP384r1": ec.BrainpoolP384R1(),
    b"brainpoolP512r1": ec.BrainpoolP512R1()}
_CURVE_NAME = re.compile(rb"[ \t]*(" + b"|".join(re.escape(n) for n in sorted(_CURVES, key=len, reverse=True)) + rb")")
_UNIQUE = list({type(curve): curve for curve in _CURVES.values()}.values())
# the curves without a point format: (its name, its size, public key from a private value)
_EDWARDS: list[tuple[str, int, Any]] = [
    ("Ed25519", 32, lambda v: ed25519.Ed25519PrivateKey.from_private_bytes(v).public_key().public_bytes_raw()),
    ("X25519", 32, lambda v: x25519.X25519PrivateKey.from_private_bytes(v).public_key().public_bytes_raw()),
    ("Ed448", 57, lambda v: ed448.Ed448PrivateKey.from_private_bytes(v).public_key().public_bytes_raw()),
    ("X448", 56, lambda v: x448.X448PrivateKey.from_private_bytes(v).public_key().public_bytes_raw())]


@dataclass
class _Printout:
    """The labelled values of one printout: label -> bytes (None: a block too long), its span."""

    start: int
    end: int
    header: bytes = b""
    values: dict[str, bytes | None] = field(default_factory=dict)
    curve: ec.EllipticCurve | None = None
    exponent: int = 0
    joined: bool = False  # read with its line breaks taken out (a label after a letter is lost there)


def read_keytext(reader: _Reader, data: bytes | mmap.mmap, name: str) -> None:
    """Private keys printed as text in one view (module docstring); findings at their spans. A
    printout both readings find is one finding: proven pairs first, then the unpaired values that
    lie outside them (a line's reading of a folded printout may miss its pub, the joined one not)."""
    if not any(data.find(anchor) >= 0 for anchor in _ANCHORS):
        return
    results: list[tuple[str, str, tuple[int, int]]] = []
    for printout in _printouts(data, name, candidates(data)):
        _prove(reader, printout, name, results)
    for low, high in _join_windows(data):
        for printout in _joined(data, low, high, name):
            _prove(reader, printout, name, results)
    chosen: list[tuple[int, int]] = []
    for kind, what, span in sorted(results, key=lambda result: result[0] != "keytext"):
        if not _overlaps(span, chosen):
            chosen.append(span)
            reader.found(kind, name, what, span)


def _overlaps(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(start < span[1] and span[0] < end for start, end in spans)


def _joined(data: bytes | mmap.mmap, low: int, high: int, name: str) -> list[_Printout]:
    """The window [low, high) read again with its line breaks taken out (`fold` of a one-line
    printout: labels and pairs cut by a break); its printouts' spans mapped back to the view."""
    window = bytes(data[low:high])
    breaks: list[int] = []  # where each line break was, in the joined window
    removed: list[int] = []  # bytes taken out up to and with it
    for match in _BREAK.finditer(window):
        breaks.append(match.start() - (removed[-1] if removed else 0))
        removed.append((removed[-1] if removed else 0) + len(match.group(0)))
    if not breaks:
        return []  # no line break: the view's own reading read it

    def back(offset: int) -> int:  # a byte of the joined window -> its offset in the view
        before = bisect.bisect_right(breaks, offset)
        return low + offset + (removed[before - 1] if before else 0)

    joined = _BREAK.sub(b"", window)
    printouts = _printouts(joined, name, candidates(joined), _JOINED_LABEL)
    for printout in printouts:
        printout.start, printout.end = back(printout.start), back(printout.end - 1) + 1
        printout.joined = True
    return printouts


def _join_windows(data: bytes | mmap.mmap) -> list[tuple[int, int]]:
    """Windows of at most JOIN_WINDOW bytes around long colon-hex runs, merged (each byte read once)."""
    windows: list[tuple[int, int]] = []
    for match in zeros.finditer(_RUN, data):
        if windows and match.start() < windows[-1][1]:
            continue
        low = max(0, match.start() - JOIN_WINDOW // 4, windows[-1][1] if windows else 0)
        windows.append((low, min(len(data), low + JOIN_WINDOW)))
    return windows


def _printouts(data: bytes | mmap.mmap, name: str, cap: int, labels: re.Pattern[bytes] = _LABEL) -> list[_Printout]:
    """The printouts in `data`: labels grouped between headers (a label met twice, or a gap of more
    than GROUP_GAP bytes, starts another)."""
    from .recheck import _Exhausted

    found: list[_Printout] = []
    current: _Printout | None = None
    counted = 0
    for match in zeros.finditer(labels, data):
        if match.group(1) is not None or current is None or match.start() - current.end > GROUP_GAP:
            if current is not None and current.values:
                found.append(current)
            current = _Printout(match.start(), match.end(), header=match.group(1) or b"")
            if match.group(1) is not None:
                continue
        label = (match.group(2) or match.group(3)).decode()
        if label in ("ASN1 OID", "NIST CURVE"):
            named = _CURVE_NAME.match(data, match.end())
            if named is not None:
                current.curve, current.end = _CURVES[named.group(1)], named.end()
            continue
        if label == "publicExponent" and (decimal := _DECIMAL.match(data, match.end())) is not None:
            current.exponent, current.end = int(decimal.group(1)), decimal.end()
            continue
        value, end = _block(data, match.end())
        if end == match.end():
            continue  # no hex under it (a YAML key, a word in text): not counted
        counted += 1
        if counted > cap:
            raise _Exhausted(f"{name}: more than {cap} labelled hex blocks")
        label = label.lower() if label == "Modulus" else label
        if label in current.values:  # a second printout with no header between
            found.append(current)
            current = _Printout(match.start(), end)
        current.values[label], current.end = value, end
    if current is not None and current.values:
        found.append(current)
    return found


def _line(data: bytes | mmap.mmap, start: int) -> tuple[bytes, int, int]:
    """The line starting at `start` (at most MAX_SEGMENT bytes of it), where it ends and where the
    next one starts: at a line break, or first at an HTML break or a list's separator (`_SOFT_EOL`)."""
    limit = min(len(data), start + MAX_SEGMENT)
    end = data.find(b"\n", start, limit)
    end = limit if end < 0 else end
    soft = _SOFT.search(data, start, end)
    if soft is not None:
        return bytes(data[start:soft.start()]), soft.start(), soft.end()
    return bytes(data[start:end]), end, end + 1


def _open(text: bytes) -> bool:
    """A block that goes on on the next line: nothing yet, a colon last, or a pair cut in two."""
    return not text or text.endswith(b":") or len(text) - text.rfind(b":") - 1 == 1


def _colon_next(data: bytes | mmap.mmap, start: int) -> bool:
    """The line at `start` has a run that starts with a colon (`fold` cut a pair from its colon)."""
    following = _TAIL.match(_line(data, start)[0])
    return following is not None and following.group(1).startswith(b":")


def _block(data: bytes | mmap.mmap, start: int) -> tuple[bytes | None, int]:
    """The hex block after a label ending at `start`: its bytes (None: longer than MAX_PAIRS) and
    where it ends (`start`: no block). With nothing but decoration after the label (or its pairs)
    on its line, each following line's last colon-hex run (`_TAIL`) while the block is open."""
    limit = min(len(data), start + MAX_SEGMENT)
    line_end = data.find(b"\n", start, limit)
    line = bytes(data[start:limit if line_end < 0 else line_end])
    cut = _LABEL.search(line)
    segment = _SEGMENT.match(line, 0, cut.start() if cut is not None else len(line))
    assert segment is not None  # (it matches the empty string)
    text = re.sub(rb"[ \t]", b"", segment.group(1))
    end = start + segment.end() if text else start
    rest = _REST.match(line, segment.end())  # (anchored: no search of a long line for each label)
    if rest is not None and (cut is None or cut.start() >= rest.end()):
        next_start = start + rest.end() if rest.group(1) is not None else start + len(line) + 1
        while next_start < len(data) and len(text) <= 3 * MAX_PAIRS and (_open(text) or _colon_next(data, next_start)):
            line_start = next_start
            line, _, next_start = _line(data, line_start)
            tail = _TAIL.match(line)
            if tail is None or _ANY_LABEL.search(line) is not None:
                break
            text += tail.group(1)
            end = line_start + tail.end(1)
    if not text:
        return None, start
    if len(text) > 3 * MAX_PAIRS:
        return None, end
    whole = _BLOCK.match(text)
    if whole is None or len(whole.group(0)) < 3 * MIN_BYTES - 1:
        return None, start  # (a few pairs are no key: `priv: 12` in a config is not counted)
    return bytes.fromhex(whole.group(0).replace(b":", b"").decode()), end


def _prove(reader: _Reader, printout: _Printout, name: str, results: list[tuple[str, str, tuple[int, int]]]) -> None:
    """One printout's key proven (or found unpaired) into `results`; one a proven key holds
    already is not checked again (no second modular exponentiation)."""
    values = printout.values
    if len(results) >= MAX_RESULTS or not any(label in values for label in PRIVATE):
        return  # (past MAX_RESULTS the view is refused whatever follows: no overlap checks for each)
    if any(values[label] is None for label in values):
        reader.incomplete(f"{name}: a printed key block longer than {MAX_PAIRS} pairs")
        return
    span = (printout.start, printout.end)
    if _overlaps(span, [found for kind, _, found in results if kind == "keytext"]):
        return
    what = _rsa(reader, printout, name) if "modulus" in values else _curve(reader, printout)
    what = what or _unproven(printout)
    if what is not None:
        results.append((what[0], what[1], span))


def _unproven(printout: _Printout) -> tuple[str, str] | None:
    """What no proof covers and still gives the key away (rt22). With no modulus, an RSA private
    value of TAIL_BYTES or more (`tail -n 30` of a printout: a prime, or dp and the public modulus,
    gcd(2^(e*dp) - 2, n) = p). Under a `Private-Key:` header, a private block of UNPROVEN_BYTES or
    more (DSA, DH, a curve the reader does not know, explicit parameters, a pub that is not its priv's).
    The first rule reads the view's own lines only: its joined reading loses a label after a letter."""
    values = printout.values
    if "modulus" not in values and not printout.joined:  # (joined, `...start-upmodulus:` is no label)
        for label in RSA_PRIVATE:
            if len(values.get(label) or b"") >= TAIL_BYTES:
                return "keytext-rsa-unproven", f"RSA private value printed as text with no modulus ({label})"
    if printout.header:
        for label in ("priv", "privateExponent", "private-key"):
            if len(values.get(label) or b"") >= UNPROVEN_BYTES:
                return "keytext-unproven", (f"private value printed as text under `{printout.header.decode()}` "
                                            f"that no proof covers ({label})")
    return None


def _number(printout: _Printout, label: str) -> int:
    value = printout.values.get(label)
    return int.from_bytes(value, "big") if value else 0


def _rsa(reader: _Reader, printout: _Printout, name: str) -> tuple[str, str] | None:
    """A prime that divides the modulus; else d, dp or dq with 2^(e*x) == 2 (mod n, or mod a prime
    that gcd finds), each such check one or more units of the modexp budget."""
    n = _number(printout, "modulus")
    if n < 1 << 64:
        return None
    for label in ("prime1", "prime2"):
        prime = _number(printout, label)
        if 1 < prime < n and n % prime == 0:
            return "keytext", f"RSA-{n.bit_length()} private key printed as text ({label} divides the modulus)"
    e = printout.exponent
    if e < 3:
        return None
    for label in ("privateExponent", "exponent1", "exponent2"):
        exponent = _number(printout, label)
        if exponent < 2:
            continue
        units = max(1, -(-n.bit_length() // MODEXP_BITS)) ** 3
        budget = reader.budget
        if budget.modexps + units > budget.max_modexps:
            reader.incomplete(f"{name}: more than {budget.max_modexps} units of modular exponentiation "
                              "(printed RSA keys)")
            return None
        budget.modexps += units
        residue = pow(2, e * exponent, n)
        if residue == 2 or (label != "privateExponent" and 1 < math.gcd(residue - 2, n) < n):
            return "keytext", f"RSA-{n.bit_length()} private key printed as text ({label} inverts e)"
    return None


def _fits(curve: ec.EllipticCurve, private: bytes, public: bytes | None) -> bool:
    """A curve of no name that the printed sizes allow: priv at its size (a leading 00 more or
    less: OpenSSL 1.1 printed a number), pub (when printed) a point of its size."""
    size = (curve.key_size + 7) // 8
    if public is not None:
        return len(public) in (1 + size, 1 + 2 * size) and len(private.lstrip(b"\0")) <= size
    return len(private) == size or (len(private) == size + 1 and private[0] == 0)


def _curve(reader: _Reader, printout: _Printout) -> tuple[str, str] | None:
    """priv derives pub on the named curve (or each curve the sizes printed allow); priv alone:
    unpaired (a valid private value of the named curve, or of the first curve its size allows)."""
    private = printout.values.get("priv")
    if not private or len(private) < 16:
        return None
    public = printout.values.get("pub")
    header = printout.header.split(b" ")[0].lower().decode() if b" " in printout.header else ""
    edwards = [(label, derive) for label, size, derive in _EDWARDS if printout.curve is None and len(private) == size
               and (public is None or len(public) == size) and header in ("", label.lower())]
    curves = [printout.curve] if printout.curve is not None else [] if header else \
        [curve for curve in _UNIQUE if _fits(curve, private, public)]
    budget = reader.budget
    budget.derivations += len(curves) + len(edwards)
    if budget.derivations > budget.max_derivations:
        reader.incomplete(f"more than {budget.max_derivations} derivations of printed EC keys")
        return None
    for curve in curves:
        try:
            point = ec.derive_private_key(int.from_bytes(private, "big"), curve).public_key()
        except (ValueError, TypeError):
            continue  # no private value of this curve (0, not below its order, or too long)
        if public is None:
            return "keytext-unpaired", f"{curve.name} private value printed as text, no public value"
        form = serialization.PublicFormat.UncompressedPoint if public[:1] == b"\x04" \
            else serialization.PublicFormat.CompressedPoint
        if point.public_bytes(serialization.Encoding.X962, form) == public:
            return "keytext", f"{curve.name} private key printed as text (priv derives pub)"
    for label, derive in edwards:
        if public is None:
            return "keytext-unpaired", f"{label} private value printed as text, no public value"
        if derive(private) == public:
            return "keytext", f"{label} private key printed as text (priv derives pub)"
    return None


__all__ = ["read_keytext"]
