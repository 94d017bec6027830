"""JSON lines (NDJSON, journald's `-o json`, a log of JSON records) are parsed for their strings'
views by the scanner (on main a raw file of JSON values one after another had no views: not one
JSON document); the independent reader reads every JSON string literal of a text. Docker's
json-file log (first member `log`, a string) is no HAR: it is read as JSON lines with its records'
messages joined as printed (`scan/log_records.py`, tests/scan/test_log_records.py); a `log` object
is still a HAR. A HAR whose first member is not `log` keeps the HAR's token checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ec

from signward.dumps import scan_path
from signward.scan import har
from signward.scan.recheck import recheck_bytes

KEY = ec.generate_private_key(ec.SECP256R1())
PEM = KEY.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption()).decode()


def docker_line(message: str, second: int) -> str:
    """One line of docker's json-file log, as dockerd writes it (Go's encoding/json, no spaces)."""
    return json.dumps({"log": message, "stream": "stdout", "time": f"2026-12-07T10:00:{second:02d}.000000000Z"},
                      separators=(",", ":")) + "\n"


def ndjson_line(message: str, second: int) -> str:
    """One record of an application's JSON log (one object a line, its message first)."""
    return json.dumps({"msg": message, "level": "info", "ts": f"2026-12-07T10:00:{second:02d}Z"},
                      separators=(",", ":")) + "\n"


def escaped(text: str) -> str:
    """`text` as a JSON string with every character a \\u escape (legal JSON: what a hostile writer
    may choose; no reader of JSON sees a difference)."""
    return '"' + "".join(f"\\u{ord(c):04x}" for c in text) + '"'


def test_a_docker_json_file_log_is_read_with_its_records_joined(tmp_path: Path) -> None:
    """`{"log":...}` a line is no HAR (its `log` is a string): the scan reads it as JSON lines and
    finds the PEM printed one line per record in the records joined (on main: refused, exit 2)."""
    log = tmp_path / "0123abcd-json.log"
    log.write_text(docker_line("starting\n", 0) + "".join(docker_line(line, i + 1)
                                                           for i, line in enumerate(PEM.splitlines(True))))
    report = scan_path(log)
    assert report.format == "raw"
    assert any(f.encoding.startswith("log-records+") and f.kind == "pem-private-key" for f in report.findings)


def test_the_scanner_reads_the_strings_of_json_lines_unescaped(tmp_path: Path) -> None:
    """A key whose JSON string is all \\u escapes is seen only once JSON lines are parsed: a
    finding in a `json` layer, where on main the lines had no views (not one JSON document)."""
    log = tmp_path / "app.ndjson"
    log.write_text(ndjson_line("starting", 0) + '{"msg":' + escaped(PEM) + ',"level":"info"}\n'
                   + ndjson_line("done", 2))
    report = scan_path(log)
    assert report.format == "raw"
    assert any(f.encoding.startswith("json") and "private" in f.kind for f in report.findings), report.findings


def test_the_independent_reader_reads_the_strings_of_json_lines(tmp_path: Path) -> None:
    """The reader needs no JSON document for this: it reads every JSON string literal of a text
    (its `json-string` views), one line or many."""
    data = (docker_line("starting\n", 0) + '{"log":' + escaped(PEM) + ',"stream":"stdout"}\n'
            + docker_line("done\n", 2)).encode()
    report = recheck_bytes(data, name="app.ndjson")
    assert any(f.view == "app.ndjson > json-string" and f.kind == "pem" for f in report.findings), report.findings


def test_a_har_whose_first_member_is_not_log_keeps_the_har_token_checks(tmp_path: Path) -> None:
    """`{"comment":..,"log":{...}}`: sniffed as no HAR by its first member, but a reader of HARs
    sees one: its Authorization header is still a finding (on main the raw JSON path skipped the
    HAR's token checks)."""
    entry = {"request": {"method": "GET", "url": "https://mail.example/api",
                         "headers": [{"name": "Authorization", "value": "Basic YWxpY2U6czNjcmV0LXBhc3N3b3Jk"}]},
             "response": {"status": 200, "headers": [], "content": {"size": 0, "text": ""}}}
    path = tmp_path / "session.har"
    path.write_text('{"comment":"exported","log":' + json.dumps({"version": "1.2", "entries": [entry]}) + "}")
    report = scan_path(path)
    assert report.format == "raw"
    assert "authorization" in {f.kind for f in report.findings}


def test_past_the_bound_json_lines_have_no_views_and_the_raw_bytes_are_still_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """More values than MAX_JSON_VALUES (lowered to 8 here; 1,000,000 as shipped): no JSON parse
    (bounded memory and time), but the file is not refused and its raw bytes are scanned (the
    armour of the key found), while the key written in \\u escapes, which only the JSON views
    decode, is not: the bound is what cut them."""
    monkeypatch.setattr(har, "MAX_JSON_VALUES", 8)
    path = tmp_path / "many.ndjson"
    path.write_text("{}\n" * 8 + ndjson_line(PEM, 0) + '{"msg":' + escaped(PEM) + "}\n")
    assert har._json_lines(path.read_text()) is None
    report = scan_path(path)
    assert "pem-private-key" in {f.kind for f in report.findings}
    assert not any(f.encoding.startswith("json") for f in report.findings)
    path.write_text("{}\n" * 6 + ndjson_line(PEM, 0) + '{"msg":' + escaped(PEM) + "}\n")  # 8 values: read
    assert any(f.encoding.startswith("json") for f in scan_path(path).findings)
