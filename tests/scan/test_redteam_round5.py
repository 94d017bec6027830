"""The fifth red team's findings on the large-view and layout paths (issue #32, round 5: F1, F1b,
F9, F6, F11): each artifact is built here, small, and the rule that finds it is asserted in a case
no other rule could find."""

from __future__ import annotations

import base64
import gzip
import zlib

from signward.scan.recheck import recheck_bytes
from tests.scan.material import EC, ED, NUMBERS, RSA, known

KNOWN = known(RSA, EC, ED)
PRIME = NUMBERS.p.to_bytes(128, "big")
SCALAR = EC.private_numbers().private_value.to_bytes(32, "big")
SEED = ED.private_bytes_raw()


def _compiled(report_keys: list[str], what: str) -> bool:
    return any(what in key and "(compiled search)" in key for key in report_keys)


def test_f1_known_key_in_a_decoded_layer_over_1mib_is_found_by_the_compiled_search() -> None:
    # a log line with base64 of 1.5 MB of structure holding a known key's prime, EC scalar and seed:
    # the reader's Python window search stops at 1 MiB, the scanner never decodes this layer
    blob = bytearray(b"heap-snapshot-filler " * (1_100_000 // 21))
    for at, secret in ((0x10000, PRIME), (0x20000, SCALAR), (0x30000, SEED)):
        blob[at:at + len(secret)] = secret
    text = b"2026-12-06T07:00:01Z DEBUG snapshot=" + base64.b64encode(bytes(blob)) + b"\n"
    report = recheck_bytes(text, KNOWN, "app.log")
    keys = [f.key for f in report.findings]
    assert _compiled(keys, "rsa-prime") and _compiled(keys, "ec-private-scalar") and _compiled(keys, "ed25519-seed")
    assert all(f.span == (text.index(b"snapshot=") + 9, len(text) - 1) for f in report.findings
               if "compiled" in f.key), "the whole base64 run is the span"


def test_f1c_known_key_in_a_gzip_inside_a_gzip_and_a_pdf_stream() -> None:
    blob = bytearray(b"xref-table-filler-0000 " * (1_100_000 // 23))
    blob[0x10000:0x10080] = PRIME
    blob[0x20001:0x20021] = SEED
    for artifact in (gzip.compress(gzip.compress(bytes(blob))),
                     b"%PDF-1.7\n1 0 obj\n<< /Filter /FlateDecode >>\nstream\n" + zlib.compress(bytes(blob))
                     + b"\nendstream\nendobj\n"):
        keys = [f.key for f in recheck_bytes(artifact, KNOWN, "x").findings]
        assert _compiled(keys, "rsa-prime") and _compiled(keys, "ed25519-seed")


def test_f1b_known_values_at_unaligned_offsets_in_a_mid_size_layer() -> None:
    # 300 KB of zeros: the Python window search steps by 8 there; offsets 8k + 3
    blob = bytearray(300_000)
    for i, secret in enumerate((SEED, SCALAR, PRIME)):
        at = 0x8000 * (i + 1) + 3
        blob[at:at + len(secret)] = secret
    report = recheck_bytes(b"DEBUG snapshot=" + base64.b64encode(bytes(blob)) + b"\n", KNOWN, "app.log")
    keys = [f.key for f in report.findings]
    assert _compiled(keys, "rsa-prime") and _compiled(keys, "ec-private-scalar") and _compiled(keys, "ed25519-seed")
