"""Keys in less common text forms: uuencoded files, EBCDIC and UTF-32 PEM (issue #32, session
22): this module owns finding them in a chunk and running every detector over what they decode to.

A DER key uuencoded into a mail or a log (`begin 644 key.der` ... `end`), and a PEM written in
EBCDIC (code pages 500 and 037: a mainframe's dataset copied as bytes) or UTF-32 were read only by
the independent reader. Here:

- uuencode: every `begin <mode> <name>` line at a line start (found with `bytes.find`) is
  followed by its lines, each decoded (`binascii.a2b_uu`) until the `` ` `` or `end` line, a line
  that does not decode, or `MAX_UU_LINES` lines; the view is the bytes decoded, its raw span from
  `begin` to the end of the last line read (encoding `uuencode+...`); the next `begin` is
  searched after it.
- EBCDIC and UTF-32 PEM: every `-----BEGIN ` in EBCDIC (the same bytes in both code pages),
  UTF-32LE or UTF-32BE (wchar_t text, a UCS-4 string) is decoded from there to the end of its
  `-----END ...-----` line (at most `MAX_PEM` characters on; a PEM cut short is decoded to that
  bound), EBCDIC's NEL and LF as newlines (encoding `ebcdic+...`, `utf-32le+...`, `utf-32be+...`).

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
MAX_PEM = 64 << 10  # characters of one PEM read from its armour
_UU_HEAD = re.compile(rb"begin [0-7]{3,4} [^\r\n]{1,255}\r?\n")
CODECS = {"ebcdic": "cp500", "utf-32le": "utf-32-le", "utf-32be": "utf-32-be"}  # PEM armour read in each
_ARMOURS = {layer: tuple(text.encode(codec) for text in ("-----BEGIN ", "-----END ", "-----"))
            for layer, codec in CODECS.items()}
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


def armoured_views(data: bytes, start: int, end: int, layer: str, incomplete: set[str]) -> Iterator[View]:
    """Every PEM in the text encoding `layer` (`CODECS`) whose armour starts in data[start:end]
    (module docstring)."""
    codec = CODECS[layer]
    begin, close, dashes = _ARMOURS[layer]
    width = len(dashes) // 5  # bytes per character
    at = data.find(begin, start, end)
    for _ in range(MAX_BEGINS):
        if at < 0:
            return
        limit = min(len(data), at + MAX_PEM * width)
        after = data.find(close, at, limit)
        stop = data.find(dashes, after + len(close), limit) if after >= 0 else -1
        stop = stop + len(dashes) if stop >= 0 else limit
        stop -= (stop - at) % width
        text = data[at:stop].decode(codec, "replace").replace("\x85", "\n")
        yield at, stop, text.encode("ascii", "replace"), layer, f"decoded {codec} text"
        at = data.find(begin, stop, end)
    if at >= 0:
        incomplete.add(f"legacy-text: more than {MAX_BEGINS} {layer} PEM armours in one chunk")


def scan_legacy_text(chunk: Chunk, detectors: Sequence[Detector], incomplete: set[str]) -> list[Finding]:
    """Every detector's findings in the uuencoded files and EBCDIC PEM that start in `chunk`'s own
    part, each at its whole raw span; more candidates than `MAX_BEGINS` make the scan incomplete."""
    views = [*uu_views(chunk.data, 0, chunk.own_end, incomplete),
             *(view for layer in CODECS for view in armoured_views(chunk.data, 0, chunk.own_end, layer, incomplete))]
    return scan_batch(chunk, detectors, views) if views else []


__all__ = ["CODECS", "armoured_views", "scan_legacy_text", "uu_views"]
