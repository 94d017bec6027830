"""Files of short base64 values (rt18, issue #32): a JSON list of SHA-256 digests, a log of
43-character base64url ids. Each value is four views of the independent reader (one per
alignment), so its view budget grows with the artifact (`Budget.for_size`: one view per
`VIEW_BYTES` past `MIN_VIEWS`). The floor is lowered here so that a small file is over it, as
a 3 MB file is over the real one; a known key's scalar among the values is still found."""

from __future__ import annotations

import hashlib

import pytest

from signward.scan import recheck
from signward.scan.recheck import Budget, recheck_bytes
from tests.scan.short_values import ShortValues

COUNT = 3_000  # values: 12,000 views, over the lowered floor
FLOOR = 2_000
SCALAR = hashlib.sha256(b"signward short values scalar").digest()  # fixed: its window is scalar-like
SHORT = ShortValues(b"value %d", COUNT, 1_234, SCALAR)  # value 1,234 replaced by the scalar
_known, _ids_log, _digests_json = SHORT.known, SHORT.ids_log, SHORT.digests_json


FILES = {"ids43.log": _ids_log, "digests.json": _digests_json}


@pytest.mark.parametrize("name", sorted(FILES))
def test_a_file_of_short_base64_values_over_the_view_floor_is_certified(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rule: the views budget is one per VIEW_BYTES of the artifact past the floor (a fixed
    floor alone refused these files: four views a value)."""
    monkeypatch.setattr(recheck, "MIN_VIEWS", FLOOR)
    data = FILES[name](False)
    assert 4 * COUNT > FLOOR  # over the floor: the floor alone is exhausted
    report = recheck_bytes(data, _known(), name)
    assert report.clean, report.summary()
    assert report.views > FLOOR


@pytest.mark.parametrize("name", sorted(FILES))
def test_a_known_scalar_among_short_base64_values_is_found(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recheck, "MIN_VIEWS", FLOOR)
    data = FILES[name](True)
    report = recheck_bytes(data, _known(), name)
    assert report.incomplete == []
    spans = {f.span for f in report.findings if f.key.startswith("EC scalar of known kid")}
    line = data.split(b"\n")[SHORT.at + (1 if name.endswith(".json") else 0)]
    start = data.index(line)
    assert spans and all(s is not None and start <= s[0] and s[1] <= start + len(line) for s in spans)


def test_the_view_budget_grows_with_the_artifact() -> None:
    assert Budget.for_size(1_000).max_views == recheck.MIN_VIEWS
    assert Budget.for_size(3_000_000).max_views == 3_000_000 // recheck.VIEW_BYTES
