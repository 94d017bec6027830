"""The independent reader takes a view for gzip only by the header every gzip reader requires
(1f 8b, method 08 deflate, no reserved flag bit), not by its first two bytes: a log whose lines
end in random base64 identifiers holds one decoding to 1f 8b about once in 16,000 lines (each read
from four phases and two alphabets), and each such view was refused `gzip stream does not decode`
(session 16, found measuring a 3 MB log). A real gzip stream cut short is still refused."""

from __future__ import annotations

import base64
import gzip
import random

from signward.scan.recheck import recheck_bytes


def _log(ids: list[bytes]) -> bytes:
    return b"".join(b"2026-12-07T01:%02d:00Z INFO session opened id=%s\n" % (n % 60, ident)
                    for n, ident in enumerate(ids))


def _ids(rng: random.Random, count: int) -> list[bytes]:
    return [base64.b64encode(rng.randbytes(24)) for _ in range(count)]


def test_an_identifier_that_decodes_to_1f_8b_but_no_deflate_header_is_read_raw() -> None:
    rng = random.Random(16)
    ids = _ids(rng, 40)
    ids[20] = base64.b64encode(b"\x1f\x8b\x00" + rng.randbytes(21))  # not method 08: no gzip reader takes it
    report = recheck_bytes(_log(ids))
    assert report.clean, report.summary()


def test_a_gzip_stream_cut_short_in_a_base64_run_is_still_refused() -> None:
    rng = random.Random(17)
    cut = gzip.compress(rng.randbytes(600))[:40]  # a real header (1f 8b 08 00), the stream cut short
    ids = _ids(rng, 40)
    ids[20] = base64.b64encode(cut)
    report = recheck_bytes(_log(ids))
    assert not report.findings
    assert any("gzip stream does not decode" in reason for reason in report.incomplete), report.summary()
