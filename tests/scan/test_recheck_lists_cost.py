"""The independent reader's cost on long printed lists of numbers grows as the list (session 19): a
signed-byte list of zeros then a key cost 2.8 CPU s at 300 KB, 39.4 s at 1.2 MB and about 185 s at
2.4 MB (each window of a long list of words copied the whole list once per number). Each test reads
a list and one eight or four times as long, both ending in the key, and bounds the ratio of their
CPU times (the shorter's least of a few readings) at twice the linear one; the key is found in all."""

from __future__ import annotations

import time

from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from signward.scan.recheck import recheck_bytes
from tests.scan.material import EC, known

KNOWN = known(EC)
DER = EC.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())


def _listed(numbers: list[bytes]) -> bytes:
    """A Python/JSON list of `numbers`, then the key's DER as unsigned bytes."""
    return b"[" + b", ".join([*numbers, *(b"%d" % x for x in DER)]) + b"]"


def _cost(data: bytes) -> float:
    began = time.process_time()
    report = recheck_bytes(data, KNOWN, "log")
    spent = time.process_time() - began
    assert report.incomplete == [], report.incomplete
    assert any(f.kind == "der" for f in report.findings), report.findings
    return spent


def test_a_list_of_small_numbers_eight_times_as_long_costs_under_sixteen_times_as_much() -> None:
    """Zeros (bytes, no word of two bytes full): 150 KB and 1.2 MB of list."""
    _cost(_listed([b"0"] * 1_000))  # (the per-key tables, built once a process, kept out of the ratio)
    short = min(_cost(_listed([b"0"] * 50_000)) for _ in range(3))  # (the least of three: load adds, never takes)
    long = _cost(_listed([b"0"] * 400_000))
    assert long < 16 * short, (short, long)


def test_a_list_of_words_four_times_as_long_costs_under_eight_times_as_much() -> None:
    """`1000` (read as 2-byte words, each window of MAX_NUMBERS numbers of it): 300 KB and 1.2 MB."""
    _cost(_listed([b"1000"] * 1_000))
    short = min(_cost(_listed([b"1000"] * 50_000)) for _ in range(2))
    long = _cost(_listed([b"1000"] * 200_000))
    assert long < 8 * short, (short, long)
