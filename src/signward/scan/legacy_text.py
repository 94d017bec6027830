"""Keys in the text forms of older systems: uuencoded files and EBCDIC PEM (issue #32, session
22): this module owns finding them in a chunk and running every detector over what they decode to.

A DER key uuencoded into a mail or a log (`begin 644 key.der` ... `end`), and a PEM written in
EBCDIC (code pages 500 and 037: a mainframe's dataset copied as bytes) were read only by the
independent reader. Here:

- uuencode: every `begin <mode> <name>` line at a line start (found with `bytes.find`) is
  followed by its lines, each decoded (`binascii.a2b_uu`) until the `` ` `` or `end` line, a line
  that does not decode, or `MAX_UU_LINES` lines; the view is the bytes decoded, its raw span from
  `begin` to the end of the last line read (encoding `uuencode+...`); the next `begin` is
  searched after it.
- EBCDIC PEM: every `-----BEGIN ` in EBCDIC (the same bytes in both code pages) is decoded as
  cp500 from there to the end of its `-----END ...-----` line (at most `MAX_PEM` bytes on; a PEM cut
  short is decoded to that bound), NEL and LF as newlines (encoding `ebcdic+...`).

Each is a view for every detector in one batch (`decoded_runs.scan_batch`); a finding covers the
whole raw span. Written apart from the independent reader (`recheck*.py`): nothing is imported from it.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from .chunks import Chunk
from .decoded_runs import scan_batch
from .findings import Finding

if TYPE_CHECKING:
    from .detectors.base import Detector

MAX_UU_LINES = 1 << 14  # lines of one uuencoded file read (a key is a few dozen; 1 MiB of text)
MAX_BEGINS = 4096  # `begin ` / EBCDIC armour candidates per chunk
MAX_PEM = 64 << 10  # bytes of one EBCDIC PEM read from its armour
_UU_HEAD = re.compile(rb"begin [0-7]{3,4} [^\r\n]{1,255}\r?\n")
_EBCDIC_BEGIN = "-----BEGIN ".encode("cp500")
_EBCDIC_END = "-----END ".encode("cp500")
_EBCDIC_DASHES = "-----".encode("cp500")
View = tuple[int, int, bytes, str, str]


def _uu_body(data: bytes, at: int) -> tuple[bytes, int]:
    """(bytes decoded, end of the last line read) of the uuencoded lines from `at`."""
    parts: list[bytes] = []
    end = at
    for _ in range(MAX_UU_LINES):
        stop = data.find(b"\n", end)
        stop = len(data) if stop < 0 else stop
        line = data[end:stop].rstrip(b"\r")
        if not line or line in (b"`", b"end"):
            return b"".join(parts), min(len(data), stop + 1) if line else end
        try:
            parts.append(binascii.a2b_uu(line))
        except binascii.Error:
            break
        end = min(len(data), stop + 1)
    return b"".join(parts), end


def uu_views(data: bytes, start: int, end: int, incomplete: set[str]) -> Iterator[View]:
    """Every uuencoded file whose `begin` line starts in data[start:end] (module docstring); the
    next `begin` is searched after the lines read (each line is read once)."""
    at = data.find(b"begin ", start, end)
    for _ in range(MAX_BEGINS):
        if at < 0:
            return
        head = _UU_HEAD.match(data, at) if at == 0 or data[at - 1] in b"\r\n" else None
        stop = at + 1
        if head is not None:
            body, stop = _uu_body(data, head.end())
            if body:
                if data.startswith(b"end", stop):
                    stop += 3
                yield at, stop, body, "uuencode", "decoded uuencoded file"
        at = data.find(b"begin ", stop, end)
    if at >= 0:
        incomplete.add(f"legacy-text: more than {MAX_BEGINS} uuencode `begin` lines in one chunk")


def ebcdic_views(data: bytes, start: int, end: int, incomplete: set[str]) -> Iterator[View]:
    """Every EBCDIC PEM whose armour starts in data[start:end] (module docstring)."""
    at = data.find(_EBCDIC_BEGIN, start, end)
    for _ in range(MAX_BEGINS):
        if at < 0:
            return
        limit = min(len(data), at + MAX_PEM)
        close = data.find(_EBCDIC_END, at, limit)
        stop = data.find(_EBCDIC_DASHES, close + len(_EBCDIC_END), limit) if close >= 0 else -1
        stop = stop + len(_EBCDIC_DASHES) if stop >= 0 else limit
        text = data[at:stop].decode("cp500").replace("\x85", "\n")
        yield at, stop, text.encode("ascii", "replace"), "ebcdic", "decoded EBCDIC (cp500) text"
        at = data.find(_EBCDIC_BEGIN, stop, end)
    if at >= 0:
        incomplete.add(f"legacy-text: more than {MAX_BEGINS} EBCDIC PEM armours in one chunk")


def scan_legacy_text(chunk: Chunk, detectors: Sequence[Detector], incomplete: set[str]) -> list[Finding]:
    """Every detector's findings in the uuencoded files and EBCDIC PEM that start in `chunk`'s own
    part, each at its whole raw span; more candidates than `MAX_BEGINS` make the scan incomplete."""
    views = [*uu_views(chunk.data, 0, chunk.own_end, incomplete),
             *ebcdic_views(chunk.data, 0, chunk.own_end, incomplete)]
    return scan_batch(chunk, detectors, views) if views else []


__all__ = ["ebcdic_views", "scan_legacy_text", "uu_views"]
