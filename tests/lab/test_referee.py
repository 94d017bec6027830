"""The lab's independent referee finds RSA primes in either byte order, and nothing else."""

from __future__ import annotations

import os
from pathlib import Path

from signward.lab.referee import rsa_factor_offsets
from tests.scan.material import NUMBERS


def test_primes_are_found_in_either_order_and_noise_is_not(tmp_path: Path) -> None:
    n = NUMBERS.public_numbers.n
    data = bytearray(os.urandom(1 << 20))
    data[4096:4096 + 128] = NUMBERS.p.to_bytes(128, "little")
    data[65536:65536 + 128] = NUMBERS.q.to_bytes(128, "big")
    data[200_000:200_000 + 128] = (NUMBERS.p + 2).to_bytes(128, "little")  # near miss
    path = tmp_path / "core"
    path.write_bytes(bytes(data))
    assert rsa_factor_offsets(path, [n]) == [(4096, "little"), (65536, "big")]
    path.write_bytes(os.urandom(1 << 20))
    assert rsa_factor_offsets(path, [n]) == []
    assert rsa_factor_offsets(path, []) == []
