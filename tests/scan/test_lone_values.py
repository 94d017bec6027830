"""The scanner's lone base64 values (lone_values.py) in files made of them (rt18, issue #32): a
log of 43-character base64url ids, a JSON list of base64 SHA-256 digests. Every run of a key's
length is a candidate; the bound grows with the chunk (one per `CANDIDATE_BYTES`), so such a file
is read whole (the fixed bound is lowered here so that a small file is over it, as a 3 MB one is
over the real one), and a known key's scalar among the values is found."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from signward.dumps import scan_path
from signward.scan import lone_values
from tests.scan.short_values import ShortValues

COUNT = 3_000
BOUND = 1_000  # the lowered fixed bound: COUNT runs are over it
SCALAR = hashlib.sha256(b"signward lone values scalar").digest()
SHORT = ShortValues(b"lone %d", COUNT, 2_345, SCALAR)
_known, _ids_log, _digests_json = SHORT.known, SHORT.ids_log, SHORT.digests_json


FILES = {"ids43.log": (_ids_log, base64.urlsafe_b64encode(SCALAR).rstrip(b"=")),
         "digests.json": (_digests_json, base64.b64encode(SCALAR))}


@pytest.mark.parametrize("name", sorted(FILES))
def test_a_file_of_key_length_runs_over_the_fixed_bound_is_read_whole(
        name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rule: the candidate bound is one per CANDIDATE_BYTES of the chunk when that is more
    than MAX_CANDIDATES (a fixed bound alone cut these files short: incomplete)."""
    monkeypatch.setattr(lone_values, "MAX_CANDIDATES", BOUND)
    make, encoded = FILES[name]
    data = make(True)
    path = tmp_path / name
    path.write_bytes(data)
    assert len(lone_values.candidates(data, {43})) == COUNT > BOUND
    report = scan_path(path, known=_known())
    assert report.incomplete == []
    assert [(f.offset, f.length, f.kind) for f in report.findings] == [
        (data.index(encoded), len(encoded), "ec-private-scalar")]
    path.write_bytes(make(False))
    clean = scan_path(path, known=_known())
    assert clean.incomplete == [] and clean.findings == []
