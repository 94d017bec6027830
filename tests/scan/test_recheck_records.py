"""The independent reader joins the messages of JSON log records as the program printed them
(recheck_records.py, issue #32, rt22 row 1): docker's json-file log (a line over 16 KiB split
into records without `\\n`), `journalctl -o json` (MESSAGE without newline, a message as a byte
array), fluent-bit's `log` (with its newline, and from its tail input without: read line by line
too), GCP's `textPayload` / `jsonPayload.message`. A key printed one line a record is found in
the `records joined` view, with no span (refused); a benign log certifies; every bound is
incomplete, not a pass. Keys are made by cryptography and printed by the real `openssl`
for each run: the assertions hold for any key."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from signward.scan.recheck import RecheckFinding, RecheckReport, recheck_bytes
from tests.scan.planting import tar_of

EC_KEY = ec.generate_private_key(ec.SECP256R1())
RSA_KEY = rsa.generate_private_key(65537, 2048)
JOINED = "records joined"
CUT = 16 << 10  # docker's json-file driver splits a line into records of this many bytes


def _pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption()).decode()


def _printout(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    """`openssl pkey -text -noout` of the key, as openssl prints it."""
    return subprocess.run(["openssl", "pkey", "-text", "-noout"], input=_pem(key).encode(),
                          capture_output=True, check=True).stdout.decode()


def _line(record: dict[str, object]) -> str:
    return json.dumps(record, separators=(",", ":")) + "\n"


def docker(lines: list[str]) -> bytes:
    """Docker's json-file log of a program printing `lines` (each a whole line, `\\n` included): a
    line longer than 16 KiB is split into records of 16 KiB, all but the last without `\\n`."""
    out = []
    for index, line in enumerate(lines):
        pieces = [line[at:at + CUT] for at in range(0, len(line), CUT)]
        for piece in pieces:
            out.append(_line({"log": piece, "stream": "stdout", "time": f"2026-12-07T23:04:{index % 60:02d}.1Z"}))
    return "".join(out).encode()


def journald(lines: list[str], as_bytes: int | None = None) -> bytes:
    """`journalctl -o json` of a unit printing `lines`: MESSAGE without its newline; line `as_bytes`
    written as journald writes a message that is not printable UTF-8, an array of byte values."""
    out = []
    for index, line in enumerate(lines):
        message: object = line.rstrip("\n")
        if index == as_bytes:
            message = list(line.rstrip("\n").encode())
        out.append(_line({"__CURSOR": f"s=0a1b;i={index + 4711:x}",
                          "__REALTIME_TIMESTAMP": str(1765148684000000 + index), "_PID": "12",
                          "_COMM": "signer", "PRIORITY": "6", "MESSAGE": message, "_SYSTEMD_UNIT": "signer.service"}))
    return "".join(out).encode()


def fluent_bit(lines: list[str]) -> bytes:
    """fluent-bit's stdout output in json_lines format of a docker container's lines (`log` as docker wrote it)."""
    return "".join(_line({"date": 1765148684.5 + i, "log": line, "stream": "stdout", "time": "2026-12-07T23:04:44Z"})
                   for i, line in enumerate(lines)).encode()


def fluent_bit_tail(lines: list[str]) -> bytes:
    """fluent-bit's tail input of a program's log file (or docker's fluentd driver): `log` without
    its newline."""
    return "".join(_line({"date": 1765148684.5 + i, "log": line.rstrip("\n")}) for i, line in enumerate(lines)).encode()


def gcp_text(lines: list[str]) -> bytes:
    """A GCP log sink's export (one LogEntry a line) of `textPayload` entries (no newline)."""
    return "".join(_line({"insertId": f"{i:08x}", "resource": {"type": "cloud_run_revision"},
                          "textPayload": line.rstrip("\n"), "timestamp": "2026-12-07T23:04:44Z", "severity": "INFO"})
                   for i, line in enumerate(lines)).encode()


def gcp_json(lines: list[str]) -> bytes:
    """The same with `jsonPayload.message` (a structured entry), written as one JSON list
    (`gcloud logging read --format=json`)."""
    return json.dumps([{"insertId": f"{i:08x}", "jsonPayload": {"message": line.rstrip("\n"), "level": "info"},
                        "timestamp": "2026-12-07T23:04:44Z"} for i, line in enumerate(lines)], indent=2).encode()


def _ours(report: RecheckReport) -> list[RecheckFinding]:
    return [finding for finding in report.findings if JOINED in finding.view]


def _start(text: str) -> list[str]:
    return ["signer starting\n", *text.splitlines(True), "signer ready\n"]


CASES: dict[str, Callable[[], bytes]] = {
    "docker-pem": lambda: docker(_start(_pem(EC_KEY))),
    "docker-printout-ec": lambda: docker(_start(_printout(EC_KEY))),
    "docker-printout-rsa": lambda: docker(_start(_printout(RSA_KEY))),
    # echo $(openssl pkey -text -noout ...) after 16,000 bytes of output on its line: split inside the printout
    "docker-collapsed-16k": lambda: docker(["signer starting\n",
                                            "x" * 16_000 + " " + " ".join(_printout(RSA_KEY).split()) + "\n"]),
    "journald-printout": lambda: journald(_start(_printout(EC_KEY))),
    "journald-byte-array": lambda: journald(_start(_printout(EC_KEY)), as_bytes=3),
    "fluent-bit-pem": lambda: fluent_bit(_start(_pem(RSA_KEY))),
    "fluent-bit-tail-printout-rsa": lambda: fluent_bit_tail(_start(_printout(RSA_KEY))),
    "gcp-textpayload": lambda: gcp_text(_start(_printout(EC_KEY))),
    "gcp-jsonpayload-list": lambda: gcp_json(_start(_printout(EC_KEY))),
}
KINDS = {"docker-pem": ("pem", "ECPrivateKey"), "fluent-bit-pem": ("pem", "RSAPrivateKey")}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_key_printed_one_line_a_record_is_found_in_the_records_joined(case: str) -> None:
    data = CASES[case]()
    report = recheck_bytes(data)
    ours = _ours(report)
    kind, what = KINDS.get(case, ("keytext", "private key printed as text"))
    assert any(finding.kind == kind and what in finding.key for finding in ours), report.findings
    assert all(finding.span is None for finding in ours)  # no single run holds it: refused, not redacted
    assert not report.clean


def test_the_byte_array_message_is_part_of_the_printout() -> None:
    """Line 3 of the journal (the first hex line of `priv:`) only as bytes: without it the
    printout's private value is cut short and proves nothing."""
    lines = _start(_printout(EC_KEY))
    assert lines[2].strip() == "priv:" and ":" in lines[3]
    data = journald(lines, as_bytes=3)
    assert b'"MESSAGE":[' in data
    assert any(f.kind == "keytext" for f in _ours(recheck_bytes(data)))


def test_a_docker_record_without_newline_joins_the_next() -> None:
    """The join rule: `log` verbatim (a split line goes on in the next record), any other message
    a line of its own (with `\\n` unless it has one)."""
    from signward.scan.recheck_records import joined_records

    assert joined_records(docker(["a" * (CUT + 5) + "\n", "b\n"])) == b"a" * (CUT + 5) + b"\nb\n"
    assert joined_records(journald(["one\n", "two\n"], as_bytes=1)) == b"one\ntwo\n"
    assert joined_records(b'{"msg":"m\\n"}\n{"message":"n"}\nnot json\n{"MESSAGE":[255,10]}') == \
        b"m\nn\nnot json\n\xff\n"
    # the first key present in a message's form: log, MESSAGE, message, msg, textPayload, jsonPayload.message
    assert joined_records(b'{"msg":"b","message":"a"}\n{"log":{"x":1},"msg":"c"}\n') == b"a\nc\n"
    assert joined_records(b'{"jsonPayload":{"message":"j"},"textPayload":"t"}\n{"z":1}') == b"t\n"
    assert joined_records(b'{"jsonPayload":{"message":"j"}}\n{"MESSAGE":[256,1]}\n') == b"j\n"


def test_a_log_without_newlines_is_also_read_line_by_line() -> None:
    """`log` values that do not end a line: the verbatim join, and every message a line (an RSA
    printout glued into one line is read only so); a docker log of whole lines is one view."""
    from signward.scan.recheck_records import record_views

    assert record_views(fluent_bit_tail(["a\n", "b\n"])) == [b"ab", b"a\nb\n"]
    assert record_views(docker(["a" * (CUT + 1) + "\n", "b\n"])) == [b"a" * (CUT + 1) + b"\nb\n",
                                                                   b"a" * CUT + b"\na\nb\n"]
    assert record_views(docker(["a\n", "b\n"])) == [b"a\nb\n"]
    assert record_views(journald(["a\n", "b\n"])) == [b"a\nb\n"]
    ours = _ours(recheck_bytes(fluent_bit_tail(_start(_printout(RSA_KEY)))))
    assert any(f.kind == "keytext" and f.view.endswith("records joined line by line") for f in ours), ours


def test_a_benign_docker_log_certifies_fast() -> None:
    lines = [f"2026-12-07 23:04:{i % 60:02d} info request {i} handled in {i % 17} ms path=/v1/sign kid=k{i % 5}\n"
             for i in range(200)]
    data = docker(lines)
    started = time.process_time()
    report = recheck_bytes(data)
    assert report.clean, report.summary()
    assert time.process_time() - started < 2.0


def test_each_bound_is_incomplete_not_a_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    from signward.scan import recheck_records

    log = docker(_start(_pem(EC_KEY)))
    monkeypatch.setattr(recheck_records, "MAX_RECORDS", 4)
    monkeypatch.setattr(recheck_records, "RECORD_BYTES", 1 << 20)
    report = recheck_bytes(log)
    assert any("JSON records" in why for why in report.incomplete), report.incomplete
    monkeypatch.undo()
    monkeypatch.setattr(recheck_records, "MAX_VIEW", 100)
    report = recheck_bytes(log)
    assert any("JSON records of more than" in why for why in report.incomplete), report.incomplete
    monkeypatch.undo()
    deep = log + b'{"log":"x\\n","attrs":' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
    report = recheck_bytes(deep)
    assert any("nested deeper" in why for why in report.incomplete), report.incomplete


def test_journalctl_json_pretty_records_span_lines() -> None:
    """`journalctl -o json-pretty`: one record over many lines, read whole (its slice widened)."""
    from signward.scan.recheck_records import joined_records

    pretty = "".join(json.dumps({"__CURSOR": f"s=1;i={i:x}", "MESSAGE": line.rstrip("\n"), "_PID": "12"}, indent=8)
                     + "\n" for i, line in enumerate(_start(_printout(EC_KEY))))
    assert joined_records(pretty.encode()) == "".join(_start(_printout(EC_KEY))).encode()
    report = recheck_bytes(pretty.encode())
    assert any(finding.kind == "keytext" for finding in _ours(report)), report.findings


HOSTILE = {
    "lines-not-json": b'{"msg":"a"}\n' + b"{x\n" * 100_000,  # each fails: its error counts lines of its slice only
    "values-on-one-line": b'{"msg":"a"}' + b"{}" * 150_000 + b"\n",
    "nested-then-flat": b'{"msg":"a"}\n' + b"[\n" * 900 + b"0,\n" * 100_000 + b"}\n",
}


@pytest.mark.parametrize("form", sorted(HOSTILE))
def test_hostile_records_cost_linear_time(form: str) -> None:
    """300 KB of each form: joined or refused (Oversized) in well under a second (quadratic before:
    each failed parse counted the lines from the view's start, each value searched its line's end)."""
    from signward.scan.recheck_codecs import Oversized
    from signward.scan.recheck_records import joined_records

    started = time.process_time()
    try:
        joined = joined_records(HOSTILE[form])
    except Oversized:
        joined = None
    assert time.process_time() - started < 1.0
    if form == "lines-not-json":
        assert joined == b"a\n" + b"{x\n" * 100_000
    if form == "nested-then-flat":  # 900 nested failures over the whole view: past the parse bound
        assert joined is None


@pytest.mark.parametrize("wrap", ["gzip", "tar"])
def test_records_inside_a_rotated_log_or_a_bundle_are_joined(wrap: str) -> None:
    """A docker log compressed at rotation (`compress=true`: `-json.log.1.gz`) or a member of a
    support bundle: the records view is a view below it like any other."""
    import gzip

    log = docker(_start(_printout(EC_KEY)))
    data = gzip.compress(log) if wrap == "gzip" else tar_of("containers/0123abcd/0123abcd-json.log", log)
    ours = _ours(recheck_bytes(data))
    assert any(finding.kind == "keytext" for finding in ours)
    if wrap == "tar":  # the member's span: a bundle refuses any finding
        assert all(finding.span is not None and "!containers/" in finding.view for finding in ours)
    else:  # below the one stream the log is the plain artifact: no span, refused
        assert all(finding.span is None for finding in ours)
