"""Long base64 / base64url runs in any text the scanner reads (issue #32, session 12): this module
owns decoding them in a chunk and running every detector over what they decode to.

A PEM or DER private key base64'd into a log line, an env file, YAML, XML or a core's heap text
was read by no scanner detector (only HAR/JSON strings were decoded), so `dumps scan` and the
debugging store's intake re-scan passed it. Each run of at least `MIN_RUN` base64 or base64url
characters (lines joined when wrapped, as YAML `!!binary`, MIME or pretty-printed XML wrap them;
`=` padding at its end) that starts in the chunk's own part and looks encoded (digits and both
letter cases: not prose, not an identifier) is decoded from each of its first four characters
(a glued prefix shifts the quanta: decoded from the first alone, a key base64'd behind `x` is
garbage, and a redaction next to the run, which moves its start, would uncover it); the decoded
bytes are searched once more the same way (a key base64'd twice), never deeper. All of the
chunk's decoded views are laid end to end, apart by zeros, in one buffer that every detector
scans as a chunk of its own (marked `decoded`: the known-key detector reads RSA primes in its
dense blocks too); a finding there is reported at the whole raw run that encodes it
(file offset and length of the run, encoding `base64+...`), so redaction takes the whole run.

Bounded: a run is read up to `MAX_RUN` characters (a longer one is cut there: its head is read),
and the decoded bytes of one chunk at most `budget_bytes` (4 times the chunk and 16 MiB: the four shifts of
one level decode to 3 times the text, so only text that is mostly base64 of base64 reaches it;
past it the chunk's scan is incomplete). Candidate runs: one byte in 32 is looked up in the run's character class
(numpy); the regex (`RUN`) searches only around two neighbouring samples in it (`regions`).
Written apart from the independent reader (`recheck*.py`): nothing is imported from it.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from . import inflated
from .chunks import Chunk
from .findings import Finding, merge_spans
from .formats import Layout, Region

if TYPE_CHECKING:
    from .detectors.base import Detector

MIN_RUN = 64  # characters: 48 bytes decoded; an EC or Ed25519 PKCS#8 key in base64 is 64 or more
MAX_RUN = 1 << 20  # characters of one run read (a base64'd key is a few KB)
MAX_LEVELS = 2  # a run, and runs inside what it decodes to
GAP = 64  # zero bytes between views in the batch (no detector's match spans two views)
# a wrapped line continues the run only when it ends the line (`PORT=8080` on the next line does not)
RUN = re.compile(rb"[A-Za-z0-9+/_-]{%d,}(?:(?:\r?\n|\\n)[ \t]*[A-Za-z0-9+/_-]{4,}(?=={0,2}(?:\s|\\n|[\"'<]|$)))*={0,2}"
                 % MIN_RUN)
_BREAKS = re.compile(rb"\r|\n|\\n|[ \t]")
_DIGIT, _UPPER, _LOWER = re.compile(rb"[0-9]"), re.compile(rb"[A-Z]"), re.compile(rb"[a-z]")
_URLSAFE = bytes.maketrans(b"-_", b"+/")
# hex of a compressed stream (`blob=1f8b0800...`, session 22): decoded only from a stream's head
_HEX_HEAD = re.compile(rb"1f8b08|78(?:01|5e|9c|da)|504b0304", re.IGNORECASE)
_HEX_DIGITS = re.compile(rb"[0-9A-Fa-f]+")
HEX_GLUE = 8
_BASE32 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
STRIDE = 32  # MIN_RUN // 2: every run covers two neighbouring samples
SAMPLED_FROM = 1 << 16
WRAP_ROOM = 128  # bytes searched past the last sample pair: a wrapped run's short last line
_CLASS = np.zeros(256, dtype=bool)
_CLASS[list(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-")] = True


def _decode(run: bytes) -> list[bytes]:
    """The bytes a run encodes (base64 and base64url alike), read from each of its first four
    characters (a prefix glued to it, `key=abc` or a path before it, shifts the quanta); none when
    it does not look encoded."""
    compact = _BREAKS.sub(b"", run).rstrip(b"=")
    if not (_DIGIT.search(compact) and _UPPER.search(compact) and _LOWER.search(compact)):
        return []
    compact = compact.translate(_URLSAFE)
    out = []
    for shift in range(4):
        piece = compact[shift:]
        piece = piece[:len(piece) - (len(piece) % 4 == 1)]
        try:
            out.append(base64.b64decode(piece + b"=" * (-len(piece) % 4), validate=True))
        except (binascii.Error, ValueError):
            continue
    return out


def regions(data: bytes, start: int, end: int) -> list[tuple[int, int]]:
    """Where in data[start:end] a run may lie, from one byte in `STRIDE`: a run of `MIN_RUN`
    characters covers two neighbouring samples, so only spans around neighbouring samples in the
    class are searched by the regex (with room for a wrapped last line); small data is one span."""
    if end - start < SAMPLED_FROM:
        return [(start, end)]
    samples = _CLASS[np.frombuffer(data, dtype=np.uint8, count=end - start, offset=start)[::STRIDE]]
    pairs = np.flatnonzero(samples[:-1] & samples[1:])
    spans: list[tuple[int, int]] = []
    for index in pairs.tolist():
        low, high = start + max(0, STRIDE * (index - 1)), min(end, start + STRIDE * (index + 2) + WRAP_ROOM)
        if spans and low <= spans[-1][1] + WRAP_ROOM:
            spans[-1] = (spans[-1][0], high)
        else:
            spans.append((low, high))
    return spans


def _hex_stream(raw: bytes) -> bytes | None:
    """The bytes a run of hex digits encodes when they start with a compressed stream's head
    (`1f8b08`, `789c`..., `504b0304`; within the run's first `HEX_GLUE` characters: a name glued
    before it), from that head to the last hex digit; None for any other run."""
    head = _HEX_HEAD.search(raw, 0, HEX_GLUE + 8)
    if head is None or head.start() > HEX_GLUE:
        return None
    digits = _HEX_DIGITS.match(raw, head.start())
    body = digits.group(0) if digits is not None else b""
    return binascii.unhexlify(body[:len(body) & ~1]) if len(body) >= MIN_RUN else None


def _base32(raw: bytes) -> bytes | None:
    """The bytes a run of base32 (RFC 4648: `A-Z2-7`, `=` padding) encodes; None for any other run."""
    compact = _BREAKS.sub(b"", raw).rstrip(b"=")
    if compact.translate(None, _BASE32) or not _DIGIT.search(compact):
        return None
    compact = compact[:len(compact) - (len(compact) % 8 in (1, 3, 6))]  # a last character with no whole byte
    try:
        return base64.b32decode(compact + b"=" * (-len(compact) % 8))
    except (binascii.Error, ValueError):
        return None


def runs(data: bytes, start: int = 0, end: int | None = None,
         others: list[tuple[int, int, bytes, str]] | None = None) -> Iterator[tuple[int, int, bytes]]:
    """(start, end, decoded bytes) of each run in data[start:end] that decodes, once per shift;
    when `others` is given, a run of hex digits that starts with a stream's head and a run of base32
    go there, decoded, with their layer (`hex`, `base32`)."""
    last = -1
    for low, high in regions(data, start, len(data) if end is None else end):
        for match in RUN.finditer(data, max(low, last), high):
            raw = match.group(0)[:MAX_RUN]
            last = match.start() + len(raw)
            for decoded in _decode(raw):
                yield match.start(), last, decoded
            if others is not None:
                for layer, read in (("hex", _hex_stream), ("base32", _base32)):
                    other = read(raw)
                    if other is not None:  # (base32's padding, up to 6 `=`, is the run's too)
                        pad = data[last:last + 4] if layer == "base32" else b""
                        others.append((match.start(), last + len(pad) - len(pad.lstrip(b"=")), other, layer))


# base64 split in source code or logs (issue #32, session 13): quoted pieces joined by `" +` lines or
# implicit concatenation, `\`-newline continuations, or groups of 4 apart by single spaces. Found
# from their joints (a quote or a backslash: `bytes.find`, faster than any regex over text; three
# groups of 4), each read from the start of the piece before it.
PIECES = re.compile(rb"[A-Za-z0-9+/_-]{4,}+(?:(?:[\"']\s{0,64}\+?\s{0,64}[\"']|\\\r?\n[ \t]{0,64})"
                    rb"[A-Za-z0-9+/_-]{4,}+)++={0,2}")
GROUPS = re.compile(rb"[A-Za-z0-9+/]{4}(?: [A-Za-z0-9+/]{4}){15,}+(?: [A-Za-z0-9+/]{2,3}={0,2})?")
_JOINT = re.compile(rb"[\"']\s{0,64}\+?\s{0,64}[\"'][A-Za-z0-9+/_-]|\\\r?\n")
_GROUP_JOINT = re.compile(rb" [A-Za-z0-9+/]{4} [A-Za-z0-9+/]{4} [A-Za-z0-9+/]{4} ")
_JOINER = re.compile(rb"[\"']\s*\+?\s*[\"']|\\\r?\n[ \t]*| ")
_BASE64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-"
_BASE64_SET = frozenset(_BASE64)
MAX_PIECE = 128  # characters of the piece before a joint


def _piece_start(data: bytes, at: int) -> int:
    """How many base64 characters (at most `MAX_PIECE`) end right before `at`."""
    window = data[max(0, at - MAX_PIECE):at]
    return len(window) - len(window.rstrip(_BASE64))


def _split_run(match: re.Match[bytes] | None) -> Iterator[tuple[int, int, bytes]]:
    if match is not None:
        joined = _JOINER.sub(b"", match.group(0)[:MAX_RUN])
        if len(joined) >= MIN_RUN:
            for decoded in _decode(joined):
                yield match.start(), match.end(), decoded


def split_runs(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int, bytes]]:
    """(start, end, decoded bytes) of each base64 run split into quoted pieces or backslash-continued lines
    (`PIECES`) whose first joint lies in data[start:end], its pieces joined and decoded as `runs`
    decodes a whole one (at least `MIN_RUN` characters joined), once per shift; read to its end."""
    end = len(data) if end is None else end
    joints = []
    for mark in (b'"', b"'", b"\\"):
        at = data.find(mark, start, end)
        while at >= 0:
            joints.append(at)
            at = data.find(mark, at + 1, end)
    last = start
    for at in sorted(joints):
        back = _piece_start(data, at) if at >= last and at and data[at - 1] in _BASE64_SET else 0
        if back >= 4 and _JOINT.match(data, at):
            match = PIECES.match(data, at - back)
            last = match.end() if match is not None else last
            yield from _split_run(match)


def grouped_runs(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int, bytes]]:
    """As `split_runs`, for base64 in groups of 4 apart by single spaces (`GROUPS`)."""
    last = start
    for joint in _GROUP_JOINT.finditer(data, start, len(data) if end is None else end):
        back = _piece_start(data, joint.start())
        if joint.start() >= last and back in (0, 4):  # the first group before the joint, or the joint's own
            match = GROUPS.match(data, joint.start() - back if back else joint.start() + 1)
            last = match.end() if match is not None else last
            yield from _split_run(match)


def scan_decoded_runs(chunk: Chunk, detectors: Sequence[Detector], incomplete: set[str],
                      budget_bytes: int | None = None, covered: Sequence[Finding] = ()) -> list[Finding]:
    """Every detector's findings in the base64 runs of `chunk` (module docstring), each at the
    whole raw run; a decoding past the budget is added to `incomplete`. A run inside a finding
    already made (`covered`: a PEM's body inside its armour) is not read again: that finding
    redacts it whole."""
    limit = 4 * len(chunk.data) + (16 << 20) if budget_bytes is None else budget_bytes
    spans = merge_spans([(f.offset, f.end) for f in covered if not f.advisory])
    starts = [low for low, _ in spans]
    used = 0
    views: list[tuple[int, int, bytes, tuple[str, ...]]] = []  # (raw start, raw end, decoded, layers)
    others: list[tuple[int, int, bytes, str]] = []  # hex of a stream, base32
    found = [(start, end, decoded, "base64") for start, end, decoded in runs(chunk.data, 0, chunk.own_end, others)]
    for start, end, decoded, layer in found + others:
        low = chunk.file_offset(start)
        index = bisect.bisect_right(starts, low) - 1
        if index >= 0 and low + (end - start) <= spans[index][1]:
            continue
        pending: list[tuple[bytes, tuple[str, ...]]] = [(decoded, (layer,))]
        while pending:
            data, layers = pending.pop()
            if used + len(data) > limit:
                incomplete.add(f"decoded-runs: base64 runs decode to more than {limit} bytes in one chunk")
                break
            used += len(data)
            views.append((start, end, data, layers))
            if layers[-1] not in ("base64", "hex", "base32"):
                continue  # a decompressed view is read as it is
            # the streams a decoded run holds (`inflated.py`): base64 of a gzip, a zlib stream, a zip
            streams = inflated.children(data, limit - used, incomplete)
            pending.extend((inner, layers + (layer,)) for layer, inner in streams)
            if len(layers) < MAX_LEVELS and len(data) - len(data.translate(None, _BASE64)) >= MIN_RUN:
                # (a run is MIN_RUN characters of the class at least: fewer in all, none in it)
                pending.extend((inner, layers + ("base64",)) for _, _, inner in runs(data))
    return scan_batch(chunk, detectors, [(start, end, data, "+".join(layers), _detail(layers))
                                         for start, end, data, layers in views])


def _detail(layers: tuple[str, ...]) -> str:
    level = layers.count("base64")
    streams = [layer for layer in layers[1:] if layer != "base64"]
    first = f"decoded base64 run ({level} level{'s' if level > 1 else ''})"
    first = first if layers[0] == "base64" else f"decoded {layers[0]} run"
    return first + (f", then {'+'.join(streams)} decompressed" if streams else "")


def scan_batch(chunk: Chunk, detectors: Sequence[Detector],
               views: Sequence[tuple[int, int, bytes, str, str]]) -> list[Finding]:
    """Every detector's findings in decoded `views` of `chunk`, each (raw start, raw end in chunk
    positions, decoded bytes, layers as `a+b`, detail): the views laid end to end, apart by zeros,
    in one buffer scanned as a chunk of its own; a finding is reported at its view's whole raw span,
    encoding `layers+<the detector's encoding>`. A detector that names its smallest find
    (`min_view_bytes`: an AES schedule, a prime pair with its modulus) scans only the views at
    least that long (a base64 run of a core's identifiers decodes to 48-75 bytes)."""
    found: set[Finding] = set()
    by_size: dict[int, list[Detector]] = {}
    for detector in detectors:  # a detector whose smallest find is longer than a view skips that view
        by_size.setdefault(getattr(detector, "min_view_bytes", 0), []).append(detector)
    for least, group in sorted(by_size.items()):
        chosen = [view for view in views if len(view[2]) >= least]
        if chosen:
            found |= _scan_views(chunk, group, chosen)
    return sorted(found)


def _scan_views(chunk: Chunk, detectors: Sequence[Detector],
                views: Sequence[tuple[int, int, bytes, str, str]]) -> set[Finding]:
    positions: list[int] = []
    parts: list[bytes] = []
    size = 0
    for _, _, data, _, _ in views:
        gap = GAP + (-size % 8)  # each view starts 8-aligned: what a view yields does not depend on its neighbours
        parts.append(bytes(gap))
        size += gap
        positions.append(size)
        parts.append(data)
        size += len(data)
    batch = b"".join(parts)
    layout = Layout(format="raw", size=len(batch), regions=[Region(0, len(batch), None)])
    inner_chunk = Chunk(batch, 0, len(batch), layout, chunk.known, chunk.learned, decoded=True)
    found: set[Finding] = set()
    for detector in detectors:
        for finding in detector.scan(inner_chunk):
            index = bisect.bisect_right(positions, finding.offset) - 1
            if index < 0 or finding.offset >= positions[index] + len(views[index][2]):
                continue  # in a gap: no view's bytes
            start, end, _, layers, detail = views[index]
            found.add(chunk.finding(start, end - start, finding.detector, finding.kind,
                                    f"{layers}+{finding.encoding}", kid=finding.kid,
                                    verified=finding.verified, advisory=finding.advisory, detail=detail))
    return found


__all__ = ["MIN_RUN", "runs", "scan_batch", "grouped_runs", "scan_decoded_runs", "split_runs"]
