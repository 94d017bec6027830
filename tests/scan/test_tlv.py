"""The scanner's one reading of a tag-and-length head (detectors/tlv.py), on every length form a BER
writer may use, and on the forms it must refuse."""

from __future__ import annotations

import pytest

from signward.scan.detectors.tlv import Head, read_head


@pytest.mark.parametrize(("data", "head"), [
    (b"\x04\x03abc", Head(0x04, 2, 3)),                        # short form
    (b"\x30\x81\x80" + bytes(128), Head(0x30, 3, 128)),         # one octet
    (b"\x30\x81\x05" + bytes(5), Head(0x30, 3, 5)),             # one octet, not minimal (BER)
    (b"\x30\x82\x01\x00", Head(0x30, 4, 256)),                  # two octets; the content may run past the end
    (b"\x30\x84\x00\x00\x00\x02\x05\x00", Head(0x30, 6, 2)),    # four octets with leading zeros (BER)
], ids=["short", "long-1", "long-1-not-minimal", "long-2-cut", "long-4-zeros"])
def test_each_definite_form_is_read(data: bytes, head: Head) -> None:
    assert read_head(data, 0) == head


def test_the_indefinite_form_is_read_only_when_asked_and_only_for_a_constructed_value() -> None:
    assert read_head(b"\x30\x80\x00\x00", 0) is None
    assert read_head(b"\x30\x80\x00\x00", 0, indefinite=True) == Head(0x30, 2, None)
    assert read_head(b"\x04\x80\x00\x00", 0, indefinite=True) is None  # a primitive value has no end-of-contents


def test_lengths_past_the_octet_bound_or_the_limit_are_no_head() -> None:
    assert read_head(b"\x30\x85" + bytes(5), 0) is None  # five octets: past any key
    assert read_head(b"\x30\x83\x00\x00\x01", 0, octets=2) is None
    assert read_head(b"\x30\x82\x01\x00", 0, limit=3) is None  # the length's own octets cut by the limit
    assert read_head(b"\x30", 0) is None and read_head(b"", 0) is None
    assert read_head(b"\xff\xff\x30\x01\x00", 2) == Head(0x30, 4, 1)  # a head read where it starts
