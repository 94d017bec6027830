"""Log records joined as printed: a program's output kept one JSON record per line, read whole.

A log driver keeps each line a program prints as a JSON record of its own: docker's json-file log
(`{"log":"a line\\n","stream":..,"time":..}`, a line over 16 KiB split into records of which all
but the last lack the `\\n`), `journalctl -o json` (`MESSAGE`, without the newline; a message that
is not printable UTF-8 as an array of byte values), fluent-bit / fluentd and Kubernetes (`log`,
`message`), GCP (`textPayload`, `jsonPayload.message`), ECS / logstash (`message`), pino, bunyan
and zap (`msg`). A PEM key or an `openssl pkey -text` printout is then one line per record and no
detector sees it in any one string. This module joins the records' messages into the text the
program printed (`joined`), and the scanner reads that text as a raw file of its own, with every
detector and every decoded layer (`scan_joined`). A finding there is the WHOLE raw JSON string
literal of every record whose message it touches (a byte array: the whole array), and of every
other literal of the file with the same value (the same line, the same secret): never a prefix.

Bounds: the records are the JSON values of the file (`har.MAX_JSON_VALUES`); the joined text is
never longer than the file (a message is never longer than its literal plus the `\\n` added,
and a record is longer than that), so at most `har.MAX_HAR_BYTES`; it is read in the raw scanner's
chunks. Joins nest (a pino log inside docker's) at most `MAX_NESTING` deep; deeper is
`incomplete`, and so is a message whose literal is not found again in the file.
"""

from __future__ import annotations

import bisect
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .findings import Finding
from .har import JsonString
from .knownkeys import KnownKeys

MESSAGE_KEYS = ("log", "MESSAGE", "message", "msg", "textPayload")  # the first present is the message
VERBATIM = "log"  # docker and fluent keep the program's own newline (and a 16 KiB split has none)
BYTES_KEY = "MESSAGE"  # journald: a message that is not printable UTF-8 is a list of byte values
LAYER = "log-records"
MAX_NESTING = 2  # a JSON log printed inside a log driver's records (pino in docker) is joined again
BYTE_ARRAY = re.compile(rb"[ \t\r\n]*:[ \t\r\n]*(\[[0-9, \t\r\n]*\])")
NUMBER = b"-+.0123456789eE"  # a JSON number's bytes: one a finding covers is overwritten with `0`
NUMBER_RUN = re.compile(rb"-?[0-9][0-9.eE+-]*")
_depth = 0


def message_of(record: Any) -> tuple[str, str | bytes] | None:
    """(member, message) of one record: the first of `MESSAGE_KEYS` present with a string (for
    `MESSAGE` also a list of byte values), else `jsonPayload.message`; None when it has none."""
    if not isinstance(record, dict):
        return None
    for name in MESSAGE_KEYS:
        value = record.get(name)
        if isinstance(value, str):
            return name, value
        if name == BYTES_KEY and isinstance(value, list) and _byte_values(value):
            return name, bytes(value)
    payload = record.get("jsonPayload")
    if isinstance(payload, dict) and isinstance(payload.get("message"), str):
        return "jsonPayload.message", payload["message"]
    return None


def _byte_values(value: Any) -> bool:
    return isinstance(value, list) and all(type(item) is int and 0 <= item <= 255 for item in value)


def printed(name: str, message: str | bytes) -> bytes:
    """The bytes the program printed for one record: a `log` value verbatim, any other message
    with a `\\n` appended unless it ends in one."""
    data = message if isinstance(message, bytes) else message.encode("utf-8", "surrogatepass")
    if name == VERBATIM or data.endswith(b"\n"):
        return data
    return data + b"\n"


@dataclass
class Joined:
    """The joined text; where each record's message starts in it; the raw spans that encode it."""

    data: bytearray = field(default_factory=bytearray)
    starts: list[int] = field(default_factory=list)
    spans: list[list[tuple[int, int]]] = field(default_factory=list)


def joined(raw: bytes, document: Any, strings: list[JsonString]) -> tuple[Joined, list[str]]:
    """The messages of the records of `document` (JSON values one after another, a list) joined
    as printed, with each message's raw spans; and what could not be located (incomplete)."""
    messages = [message_of(record) for record in document] if isinstance(document, list) else []
    wanted = {found[1] for found in messages if found is not None}
    located: dict[str | bytes, list[tuple[int, int]]] = {}
    for string in strings:
        if string.value in wanted:
            located.setdefault(string.value, []).append((string.start, string.end))
    for value, span in _byte_arrays(raw, strings):
        if value in wanted:
            located.setdefault(value, []).append(span)
    out, missing = Joined(), []
    for index, found in enumerate(messages):
        if found is None:
            continue
        if found[1] not in located:
            missing.append(f"{LAYER}: the message of record {index} is not found in the file")
            continue
        out.starts.append(len(out.data))
        out.spans.append(located[found[1]])
        out.data += printed(*found)
    return out, missing[:1]


def _byte_arrays(raw: bytes, strings: list[JsonString]) -> Iterator[tuple[bytes, tuple[int, int]]]:
    """(bytes, raw span of the whole array) of every `"MESSAGE": [45, 45, ...]` of the file."""
    for string in strings:
        if string.value != BYTES_KEY:
            continue
        array = BYTE_ARRAY.match(raw, string.end + 1)
        if array is not None:
            items = [item.strip() for item in array.group(1)[1:-1].split(b",")]
            if all(0 < len(item) <= 3 and int(item) <= 255 for item in items if items != [b""]):
                yield bytes(int(item) for item in items if item), array.span(1)


def redact_records(raw: bytes, findings: Sequence[Finding]) -> bytes | None:
    """`raw`, a log of JSON records, with every literal a finding touches overwritten and every
    record still JSON of the same length: a string literal all `x`, a byte array all zeros
    (`[0 ,0 ]`); None (the caller overwrites the raw bytes) when `raw` is no log of records or a
    finding covers bytes outside literals other than JSON punctuation."""
    from ..errors import DumpFormatError
    from .har import REDACTED_CHAR, parse

    if all(finding.advisory for finding in findings):
        return raw  # nothing to overwrite: no second parse
    try:
        document, strings = parse(raw, require_har=False)
    except DumpFormatError:
        return None
    if not isinstance(document, list) or sum(message_of(record) is not None for record in document) < 2:
        return None
    arrays = {span for _, span in _byte_arrays(raw, strings)}
    pieces = sorted({(s.start, s.end) for s in strings} | arrays)
    starts = [start for start, _ in pieces]
    chosen: set[tuple[int, int]] = set()
    structure: set[tuple[int, int]] = set()  # between literals a finding covers: its numbers
    for finding in findings:
        if finding.advisory:
            continue
        position = finding.offset
        index = max(0, bisect.bisect_right(starts, finding.offset) - 1)
        while index < len(pieces) and pieces[index][0] < finding.end:
            start, end = pieces[index]
            if end > finding.offset:
                chosen.add((start, end))
                structure.add(_numbers(raw, position, start))
                position = max(position, end)
            index += 1
        structure.add(_numbers(raw, position, finding.end))
    data = bytearray(raw)
    for start, end in (chosen & arrays) | structure:  # each number a `0` of the same length
        data[start:end] = NUMBER_RUN.sub(lambda m: b"0".ljust(len(m.group(0))), raw[start:end])
    for start, end in chosen - arrays:
        data[start:end] = REDACTED_CHAR.encode() * (end - start)
    cleaned = bytes(data)
    try:
        if len(parse(cleaned, require_har=False)[0]) != len(document):
            return None
    except DumpFormatError:
        return None
    return cleaned


def _numbers(raw: bytes, start: int, end: int) -> tuple[int, int]:
    """[start, end) of structure widened to the whole numbers at its edges."""
    while start > 0 and raw[start - 1] in NUMBER:
        start -= 1
    while end < len(raw) and raw[end] in NUMBER:
        end += 1
    return start, max(start, end)


def _mapped(found: Finding, text: Joined) -> Iterator[Finding]:
    """The finding in the joined text as the whole raw literals of every message it touches."""
    first = max(0, bisect.bisect_right(text.starts, found.offset) - 1)
    last = max(first, bisect.bisect_right(text.starts, max(found.end, found.offset + 1) - 1) - 1)
    for index in range(first, last + 1):
        for start, end in text.spans[index]:
            yield Finding(start, end - start, found.detector, found.kind, f"{LAYER}+{found.encoding}",
                          kid=found.kid, verified=found.verified, advisory=found.advisory,
                          detail=f"{LAYER} joined as printed" + (f": {found.detail}" if found.detail else ""))


def scan_joined(raw: bytes, document: Any, strings: list[JsonString], known: KnownKeys,
                names: Sequence[str]) -> tuple[list[Finding], list[str]]:
    """Every chosen detector (`names`) over the records' messages joined as printed, read as a
    raw file of its own; findings as raw spans of this file, and what was cut short."""
    global _depth
    from .detectors import select
    from .formats import Layout, Region
    from .scanner import scan_plain
    from .scratch import Scratch

    text, incomplete = joined(raw, document, strings)
    if len(text.starts) < 2 or not names:
        return [], incomplete  # one message alone is its own string's view already
    if _depth >= MAX_NESTING:
        return [], [f"{LAYER}: records nested deeper than {MAX_NESTING}"]
    _depth += 1
    try:
        with Scratch(Path(tempfile.gettempdir())) as scratch:
            with open(scratch.path, "wb") as out:
                out.write(text.data)
            layout = Layout(format="raw", size=len(text.data), regions=[Region(0, len(text.data), None)])
            found, cut = scan_plain(scratch.path, layout, select(list(names)), known)
    finally:
        _depth -= 1
    findings = {mapped for finding in found for mapped in _mapped(finding, text)}
    return sorted(findings), incomplete + [f"{LAYER}: {item}" for item in cut]


__all__ = ["MESSAGE_KEYS", "Joined", "joined", "message_of", "printed", "redact_records", "scan_joined"]
