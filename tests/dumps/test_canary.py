"""Canary material is made so the scanner finds it in every byte order: an EC scalar or Ed25519
seed with a zero byte at an end is drawn again."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from signward.dumps import canary


def test_zero_ended_secrets_are_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    ec_draws = iter([ec.derive_private_key(0x1234 << 8, ec.SECP256R1()),  # top byte and low byte zero
                     ec.derive_private_key((order - 1) & ~0xFF, ec.SECP256R1()),  # low byte zero
                     ec.derive_private_key(order - 2, ec.SECP256R1())])
    monkeypatch.setattr(canary.ec, "generate_private_key", lambda curve: next(ec_draws))
    assert canary._ec_canary().private_numbers().private_value == order - 2
    seeds = [b"\x00" + b"\x11" * 31, b"\x22" * 31 + b"\x00", b"\x33" * 32]
    ed_draws = iter(ed25519.Ed25519PrivateKey.from_private_bytes(s) for s in seeds)
    monkeypatch.setattr(canary.ed25519.Ed25519PrivateKey, "generate", staticmethod(lambda: next(ed_draws)))
    assert canary._ed25519_canary().private_bytes_raw() == b"\x33" * 32


def test_made_canaries_are_whole_at_both_ends(tmp_path: Path) -> None:
    canary.make_canary(tmp_path / "canary.json", time.time())
    document = json.loads((tmp_path / "canary.json").read_text())
    ec_key = serialization.load_pem_private_key(document["ec"].encode(), None)
    ed_key = serialization.load_pem_private_key(document["ed25519"].encode(), None)
    assert isinstance(ec_key, ec.EllipticCurvePrivateKey) and isinstance(ed_key, ed25519.Ed25519PrivateKey)
    assert canary.whole_at_both_ends(ec_key.private_numbers().private_value.to_bytes(32, "big"))
    assert canary.whole_at_both_ends(ed_key.private_bytes_raw())
    assert not canary.whole_at_both_ends(b"\x00\x01") and not canary.whole_at_both_ends(b"\x01\x00")
