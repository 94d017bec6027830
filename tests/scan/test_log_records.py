"""Log records joined as printed (issue #32, rt22 rows 1 and 13): a key a program printed, kept by
a log driver one JSON record per line (docker's json-file, journald's `-o json`, fluent-bit,
GCP, pino), is found in the records' messages joined (`scan/log_records.py`) and sanitize takes
the whole literal of every record it touches. On main a docker json-file log was refused (exit
2) and a journald or GCP log of a printout was certified with the key in it."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from signward.dumps import sanitize, scan_path
from signward.home import Home
from signward.scan import har, log_records

EC_PEM = ec.generate_private_key(ec.SECP256R1()).private_bytes(
    ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption()).decode()
RSA_PEM = rsa.generate_private_key(65537, 2048).private_bytes(
    ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption())
PRINTOUT = subprocess.run(["openssl", "pkey", "-text", "-noout"], input=RSA_PEM, capture_output=True,
                          check=True).stdout.decode()
ONE_LINE = subprocess.run(["sh", "-c", 'echo $(openssl pkey -text -noout)'], input=RSA_PEM, capture_output=True,
                          check=True).stdout.decode()  # the printout collapsed onto one line
SPLIT = 16 << 10  # docker splits a line longer than this into records without the `\n`
Record = Callable[[str, int], dict[str, object]]


def docker(line: str, index: int) -> dict[str, object]:
    return {"log": line, "stream": "stdout", "time": f"2026-12-07T23:04:44.{index:09d}Z"}


def journald(line: str, index: int) -> dict[str, object]:
    return {"__CURSOR": f"s=6f1c;i={index:x}", "__REALTIME_TIMESTAMP": str(1765148684000000 + index),
            "MESSAGE": line.rstrip("\n"), "_PID": "12", "_COMM": "app"}


def fluent_bit(line: str, index: int) -> dict[str, object]:
    return {"date": 1765148684.5 + index, "log": line, "stream": "stdout",
            "kubernetes": {"pod_name": "app-7d9c", "namespace_name": "default"}}


def gcp_text(line: str, index: int) -> dict[str, object]:
    return {"insertId": f"{index:08x}", "textPayload": line.rstrip("\n"), "resource": {"type": "k8s_container"},
            "timestamp": "2026-12-07T23:04:44Z"}


def gcp_json(line: str, index: int) -> dict[str, object]:
    return {"insertId": f"{index:08x}", "jsonPayload": {"message": line.rstrip("\n"), "level": "info"},
            "timestamp": "2026-12-07T23:04:44Z"}


def pino(line: str, index: int) -> dict[str, object]:
    return {"level": 30, "time": 1765148684000 + index, "pid": 12, "msg": line.rstrip("\n")}


def write(path: Path, form: Record, lines: list[str], framed: bool = True) -> Path:
    """`lines` as the program printed them (`framed`: between a first and a last line of its
    own), one record each, as the driver writes them (Go's encoding/json: no spaces)."""
    printed = ["starting\n", *lines, "done\n"] if framed else lines
    path.write_text("".join(json.dumps(form(line, index), separators=(",", ":")) + "\n"
                            for index, line in enumerate(printed)))
    return path


def secret_lines(text: str) -> list[str]:
    """The lines of a key's text that carry key material: base64 body lines, hex lines."""
    return [line.strip() for line in text.splitlines() if len(line.strip()) >= 20 and "-----" not in line
            and " " not in line.strip()]


def assert_certified_without(path: Path, out: Path, key_text: str, home: Home) -> None:
    """`dumps sanitize` certifies; the output is the same records, each still JSON, and no line of
    the key is left in it: not in its bytes, not in the message of any record."""
    result = sanitize(path, out, home)
    assert result.status == "clean"
    data = out.read_text(errors="replace")
    records = [json.loads(line) for line in data.splitlines()]  # every record still parses
    assert len(records) == len(path.read_text().splitlines())
    messages = [str(found[1]) for found in map(log_records.message_of, records) if found is not None]
    for secret in secret_lines(key_text):
        assert secret not in data
        assert not any(secret in message for message in messages)


CASES = {
    "docker-pem": (docker, "pem-private-key", EC_PEM),
    "docker-printout": (docker, "keytext-rsa-private", PRINTOUT),
    "fluent-bit-pem": (fluent_bit, "pem-private-key", EC_PEM),
    "gcp-textpayload-printout": (gcp_text, "keytext-rsa-private", PRINTOUT),
    "gcp-jsonpayload-printout": (gcp_json, "keytext-rsa-private", PRINTOUT),
    "pino-msg-pem": (pino, "pem-private-key", EC_PEM),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_key_printed_one_line_per_record_is_found_joined_and_sanitized(case: str, tmp_path: Path) -> None:
    form, kind, key_text = CASES[case]
    path = write(tmp_path / "app.log", form, key_text.splitlines(True))
    report = scan_path(path)
    assert report.format == "raw" and not report.incomplete
    assert any(f.encoding.startswith("log-records+") and f.kind == kind for f in report.findings), report.findings
    assert_certified_without(path, tmp_path / "clean.log", key_text, Home(tmp_path / "home"))


def test_a_line_over_16_kib_split_by_docker_is_joined_without_a_newline(tmp_path: Path) -> None:
    """A printout collapsed onto one line (`echo $(openssl pkey -text -noout)`) behind a long
    trace, over 16 KiB: docker keeps it as two records, the first without `\\n`, each holding
    part of the key; joined verbatim it is the one line the keytext detector reads."""
    line = "trace: " + "request=ok " * ((SPLIT - len(ONE_LINE) // 2) // 11) + ONE_LINE
    assert len(line) > SPLIT and line.index("prime1:") < SPLIT < line.index("prime2:")
    path = write(tmp_path / "0123abcd-json.log", docker, [line[:SPLIT], line[SPLIT:]])
    report = scan_path(path)
    joined = [f for f in report.findings if f.encoding.startswith("log-records+")]
    assert {f.kind for f in joined} == {"keytext-rsa-private"}
    assert {path.read_bytes().count(b"\n", 0, f.offset) for f in joined} == {1, 2}  # both halves' literals
    assert_certified_without(path, tmp_path / "clean.log", PRINTOUT, Home(tmp_path / "home"))


def test_journald_messages_and_a_message_as_byte_values_are_joined(tmp_path: Path) -> None:
    """`journalctl -o json`: MESSAGE without its newline; a line that is not printable UTF-8 (here
    ending in `\\r`) is an array of byte values, joined as its bytes and redacted as a whole array."""
    lines = PRINTOUT.splitlines()
    records = [journald(line, index) for index, line in enumerate(lines)]
    records[3]["MESSAGE"] = list((lines[3] + "\r").encode())
    path = tmp_path / "journal.json"
    path.write_text("".join(json.dumps(record, separators=(",", ":")) + "\n" for record in records))
    array = json.dumps(records[3]["MESSAGE"], separators=(",", ":")).encode()
    report = scan_path(path)
    assert any(f.encoding.startswith("log-records+") and f.kind == "keytext-rsa-private" for f in report.findings)
    start = path.read_bytes().index(array)
    assert any(f.offset == start and f.length == len(array) for f in report.findings)  # the whole array
    assert_certified_without(path, tmp_path / "clean.json", PRINTOUT, Home(tmp_path / "home"))
    assert array not in (tmp_path / "clean.json").read_bytes()


def test_without_the_joined_view_a_journald_printout_is_not_found(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The join is what finds it: with no message member known, the same file has no key finding
    (each record's string is one line of hex)."""
    path = write(tmp_path / "journal.json", journald, PRINTOUT.splitlines(True))
    assert any(f.kind == "keytext-rsa-private" for f in scan_path(path).findings)
    monkeypatch.setattr(log_records, "MESSAGE_KEYS", ())
    assert not any(f.kind == "keytext-rsa-private" for f in scan_path(path).findings)


def test_the_join_rule_keeps_log_verbatim_and_ends_other_messages_with_a_newline() -> None:
    assert log_records.printed("log", "half a line") == b"half a line"
    assert log_records.printed("MESSAGE", "a line") == b"a line\n"
    assert log_records.printed("msg", "a line\n") == b"a line\n"
    assert log_records.printed("MESSAGE", b"\xffbytes") == b"\xffbytes\n"
    assert log_records.message_of({"time": 1, "log": 5, "message": "m", "msg": "x"}) == ("message", "m")
    assert log_records.message_of({"MESSAGE": [65, 256]}) is None
    assert log_records.message_of({"jsonPayload": {"message": "j"}}) == ("jsonPayload.message", "j")


def test_a_har_log_object_is_still_a_har_and_a_docker_log_string_is_not() -> None:
    assert har.looks_like_har(b'{"log":{"version":"1.2","entries":[]}}')
    assert har.looks_like_har(b'{"log" : ')  # too short to tell: fail closed, a HAR
    assert not har.looks_like_har(b'{"log":"starting\\n","stream":"stdout"}')
    assert not har.looks_like_har(b'{ "\\u006cog" :\t"starting\\n"}')


def test_a_benign_docker_log_of_200_records_certifies_fast(tmp_path: Path) -> None:
    lines = [f"GET /api/items/{i} 200 {i % 7}ms user=u{i % 13} trace=4bf92f3577b34da6a3ce929d0e0e{i:04x}\n"
             for i in range(200)]
    path = write(tmp_path / "0123abcd-json.log", docker, lines)
    began = time.process_time()
    report = scan_path(path)
    assert report.findings == [] and report.incomplete == []
    assert time.process_time() - began < 2.0
    assert sanitize(path, tmp_path / "clean.log", Home(tmp_path / "home")).status == "clean"
    assert (tmp_path / "clean.log").read_bytes() == path.read_bytes()


def test_a_pino_log_inside_docker_records_is_joined_twice_and_no_deeper(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A JSON log printed by a container (pino's `msg`, one PEM line each) kept by docker: the
    docker records joined are pino's records, joined again; the finding maps back through both
    joins to docker's literals. A join nested past `MAX_NESTING` is `incomplete`, never clean."""
    lines = [json.dumps(pino(line, index), separators=(",", ":")) + "\n"
             for index, line in enumerate(EC_PEM.splitlines(True))]
    path = write(tmp_path / "0123abcd-json.log", docker, lines, framed=False)
    report = scan_path(path)
    nested = [f for f in report.findings if f.encoding.startswith("log-records+log-records+")]
    assert {f.kind for f in nested} == {"pem-private-key"}
    assert {path.read_bytes().count(b"\n", 0, f.offset) for f in nested} == set(range(len(lines)))
    monkeypatch.setattr(log_records, "MAX_NESTING", 1)
    report = scan_path(path)
    assert not any(f.encoding.startswith("log-records+log-records+") for f in report.findings)
    assert any("nested deeper than 1" in item for item in report.incomplete), report.incomplete
