"""Runs of grouped digits longer than any key's integer (rt20): a JSON list of 1,100 four-digit
numbers, 1,400 numbers joined by `, `, 1,200 four-digit numbers apart by spaces (each read as one grouped
number), digits continued over
lines by backslashes. Python's int() refuses a string of more than 4,300 digits, and both readers
stopped there with an internal error (exit 3) on these ordinary files. A reading longer than
2,500 digits (an 8,192-bit integer has 2,467) is no key's: both readers pass it and certify."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from signward.dumps import scan_path
from signward.scan.recheck import recheck_bytes

LONG = {
    "json-list": json.dumps(list(range(1000, 2100))).encode(),  # 4,400 digits in groups of 4
    "comma-space": ", ".join(str(1000 + i) for i in range(1400)).encode(),  # 5,600
    "continued": b" \\\n".join(b"1" * 2000 for _ in range(3)) + b"\n",  # 6,000
    "spaced-fours": b"1" + b" 2345" * 1200 + b"\n",  # 4,801 (numbers a line apart by spaces)
}


@pytest.mark.parametrize("name", sorted(LONG))
def test_the_scanner_passes_a_grouped_run_longer_than_any_key_integer(name: str, tmp_path: Path) -> None:
    path = tmp_path / "numbers.txt"
    path.write_bytes(LONG[name])
    report = scan_path(path)
    assert report.findings == [] and report.incomplete == []


@pytest.mark.parametrize("name", sorted(LONG))
def test_the_reader_passes_a_grouped_run_longer_than_any_key_integer(name: str) -> None:
    report = recheck_bytes(LONG[name], name="numbers.txt")
    assert report.clean and report.incomplete == [], report.summary()
