"""The independent reader's "records joined" view (issue #32, rt22 row 1): a program's output kept
by a log driver as one JSON record a line is read as the program printed it. Docker's json-file
driver (`{"log":"a line\\n","stream":...}`; a line over 16 KiB split into records, all but the last
without `\\n`), `journalctl -o json` / `-o json-pretty` (`MESSAGE`, no newline; a message that is
not UTF-8 a JSON array of byte values), fluent-bit/fluentd (`log`, `message`), GCP (`textPayload`,
`jsonPayload.message`), ECS/logstash (`message`), pino/bunyan/zap (`msg`).

A view that starts with `{` and is not one JSON document is read as JSON values one after another
(whitespace between; a line that does not parse is taken as printed text, a line of its own); a
JSON document that is a list of records (`gcloud logging read --format=json`) is read the same.
Each object's message is the first of `MESSAGE_KEYS` present in a form of a message (a string; for
`MESSAGE` also a list of integers 0-255, bytes); the messages are joined: a `log` value verbatim,
any other with `\\n` appended unless it ends in one. The joined text is one child view, read by
every reader; it is no single run of the artifact, so a finding there has no span (refused). Where
a `log` value does not end in `\\n` (docker's pieces of a long line; fluent-bit's tail and docker's
fluentd driver strip every newline: an RSA printout glued into one line is not read), the messages
each a line of their own are a second view (`records joined line by line`).

Bounds: the view is read up to `MAX_VIEW` bytes; values (and lines that do not parse) up to
`MAX_RECORDS` or one per `RECORD_BYTES` of the view when that is more; characters parsed (each value
from a slice of its line, failed attempts included) up to `SPENT_TIMES` the view's; a value nested
deeper than the json module reads (RecursionError) hides its message: past any of these,
`Oversized` (the read is incomplete, refused). The joined text is never longer than the view.
Its own code, written apart from the scanner's JSON-lines reading (`har.py`).
"""

from __future__ import annotations

import json
import mmap
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from .recheck_codecs import Oversized

if TYPE_CHECKING:
    from .recheck import _Reader

MAX_VIEW = 256 << 20  # a view read as records, at most (a larger one that opens like records: incomplete)
MAX_RECORDS = 1_000_000  # values and unparsed lines of one view, at least ...
RECORD_BYTES = 32  # ... and one per this many bytes of the view (a docker record is about 100)
SPENT_TIMES = 8  # characters parsed (slices, failed attempts included) at most this many times the view's
FIRST_SLICE = 512  # characters of a record parsed first (a docker record's line is about 100 to 16 KiB)
MESSAGE_KEYS = ("log", "MESSAGE", "message", "msg", "textPayload", "jsonPayload.message")
_BLANK = re.compile(r"[ \t\r\n]*")
_DECODER = json.JSONDecoder()



def _blank_end(text: str, position: int) -> int:
    """Where the blanks from `position` end (the pattern matches the empty string: always a match)."""
    blank = _BLANK.match(text, position)
    return blank.end() if blank is not None else position

def _message(record: dict[str, object]) -> tuple[str, bytes] | None:
    """(the key, the message's bytes) of one record: the first key of `MESSAGE_KEYS` present in a
    message's form; None when there is none."""
    for key in MESSAGE_KEYS:
        if key == "jsonPayload.message":
            payload = record.get("jsonPayload")
            value = payload.get("message") if isinstance(payload, dict) else None
        else:
            value = record.get(key)
        if isinstance(value, str):
            return key, _utf8(value)
        if key == "MESSAGE" and isinstance(value, list) and value and \
                all(type(item) is int and 0 <= item <= 255 for item in value):
            return key, bytes(value)
    return None


def _utf8(text: str) -> bytes:
    """A JSON string's text as bytes: bytes that were not UTF-8 in the view come back as they were."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a \\ud800 escape: kept as written
        return text.encode("utf-8", "surrogatepass")


def joined_records(data: bytes | mmap.mmap) -> bytes | None:
    """The messages of the JSON records in `data` joined as printed (module docstring); None when
    `data` is no sequence of records (it does not open with `{`, or no record has a message).
    Past a bound: `Oversized`."""
    views = record_views(data)
    return views[0] if views else None


def record_views(data: bytes | mmap.mmap) -> list[bytes]:
    """The records joined (`joined_records`) and, where a `log` value does not end in `\n`, the
    records joined line by line (`_joined`); none when `data` is no sequence of records."""
    if bytes(data[:64]).lstrip(b" \t\r\n\xef\xbb\xbf")[:1] != b"{":
        return []
    if len(data) > MAX_VIEW:
        raise Oversized(f"JSON records of more than {MAX_VIEW} bytes: not joined")
    text = bytes(data).decode("utf-8", "surrogateescape").lstrip("\ufeff")
    return _joined(_values(text, max(MAX_RECORDS, len(text) // RECORD_BYTES)))


def _values(text: str, cap: int) -> Iterator[object]:
    """The JSON values of `text` one after another; a line that does not parse as bytes (printed
    text). More than `cap` of them, one nested too deep, or parsing past `SPENT_TIMES` the text
    (failed attempts included): `Oversized`."""
    position, count, spent, line_end = 0, 0, 0, 0
    most = SPENT_TIMES * len(text) + (1 << 20)
    while (position := _blank_end(text, position)) < len(text):
        count += 1
        if count > cap:
            raise Oversized(f"more than {cap:,} JSON records in a view of {len(text)} bytes")
        if position >= line_end:  # (values one after another on a line: its end is found once)
            line_end = text.find("\n", position)
            line_end = len(text) if line_end < 0 else line_end + 1
        found, used = _value_at(text, position, line_end)
        spent += used
        if spent > most:
            raise Oversized(f"JSON records parsed past {SPENT_TIMES} times the view's {len(text)} bytes")
        if found is None:  # not JSON: a line of printed text
            yield _utf8(text[position:line_end])
            position = line_end
            continue
        value, position = found
        yield value


def _value_at(text: str, position: int, line_end: int) -> tuple[tuple[object, int] | None, int]:
    """The JSON value at `position` and where it ends, or None (it does not parse), and the bytes
    parsed to know. Parsed from a slice, not the whole text (a JSONDecodeError counts the lines
    before its position: from the text's start, lines that do not parse cost their offset each):
    the rest of its line up to `FIRST_SLICE` characters, then twice as many, to a line's end (no
    JSON string, number or literal spans lines) while the value goes on past the slice
    (json-pretty's records)."""
    spent, end = 0, min(position + FIRST_SLICE, line_end)
    while True:
        piece = text[position:end]
        spent += len(piece)
        try:
            value, used = _DECODER.raw_decode(piece)
        except RecursionError:
            raise Oversized(f"a JSON record at {position} nested deeper than the json module reads") from None
        except json.JSONDecodeError as exc:
            if end < len(text) and (end < line_end or exc.pos >= len(piece)):
                width = 2 * max(end - position, 64)  # cut inside a line, or the value goes on past the slice
                end = position + width
                if end >= line_end:  # to the end of the line the slice ends in
                    newline = text.find("\n", end - 1)
                    end = len(text) if newline < 0 else newline + 1
                continue
            return None, spent
        return (value, position + used), spent


def _joined(values: Iterable[object]) -> list[bytes]:
    """The records' messages joined: a `log` verbatim, any other with `\n` unless it ends in one;
    bytes (printed lines between records) as they are. Where a `log` value does not end in `\n`
    (docker's 16 KiB pieces, or a driver that strips the newline: fluent-bit's tail, docker's
    fluentd and gelf drivers), also every message a line of its own (a printout glued into one
    line is not always read). Empty when no record has a message."""
    out: list[bytes] = []
    lines: list[bytes] = []
    found = cut = False
    for value in values:
        if isinstance(value, bytes):
            out.append(value)
            lines.append(value)
            continue
        message = _message(value) if isinstance(value, dict) else None
        if message is None:
            continue
        key, printed = message
        found = True
        line = printed if printed.endswith(b"\n") else printed + b"\n"
        cut = cut or line is not printed and key == "log"
        out.append(printed if key == "log" else line)
        lines.append(line)
    if not found:
        return []
    return [b"".join(out), b"".join(lines)] if cut else [b"".join(out)]


def joined_list(document: object) -> list[bytes]:
    """A JSON document that is a list of records (`gcloud logging read --format=json`): their
    messages joined (`_joined`); none for any other document (a list of one record: its strings
    are views)."""
    if not isinstance(document, list) or len(document) < 2 or not isinstance(document[0], dict):
        return []
    return _joined(document)


def read_records(reader: _Reader, data: bytes | mmap.mmap, name: str, depth: int, document: object = None) -> None:
    """The records joined of a view (not one JSON document; or the list `document` it parsed
    to) as a child view without a span; line by line too where a `log` does not end a line."""
    views = joined_list(document) if document is not None else record_views(data)
    # (no run is being decoded at this level: a finding in the plain artifact's joined records has
    # no span, it refuses; below a run, an archive member, the span is that whole run)
    for view, how in zip(views, ("records joined", "records joined line by line"), strict=False):
        reader.child(view, f"{name} > {how}", depth + 1)


__all__ = ["MAX_RECORDS", "MAX_VIEW", "MESSAGE_KEYS", "joined_list", "joined_records", "read_records", "record_views"]
