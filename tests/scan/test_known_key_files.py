"""`--keys` files (scan/knownkeys.py): a public key of a curve the scanner does not search is bad
input, refused in one line with exit 2 (rt21: a brainpool key stopped scan and sanitize with an
internal error, exit 3, in its kid's RFC 7638 thumbprint, which JOSE has no name for)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from signward.errors import UsageError
from signward.scan.knownkeys import SEARCHED_CURVES, load_known_keys
from tests.helpers import run_cli


def _public_pem(curve: ec.EllipticCurve) -> bytes:
    return ec.generate_private_key(curve).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.mark.parametrize("curve", [ec.BrainpoolP256R1(), ec.SECP224R1()], ids=lambda c: c.name)
def test_a_key_of_a_curve_not_searched_is_bad_input(tmp_path: Path, curve: ec.EllipticCurve,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    keys = tmp_path / "pub.pem"
    keys.write_bytes(_public_pem(curve))
    with pytest.raises(UsageError, match=f"EC curve {curve.name} is not one the scanner searches"):
        load_known_keys([keys])
    dump = tmp_path / "app.log"
    dump.write_bytes(b"nothing here\n")
    assert run_cli("dumps", "scan", "--keys", str(keys), str(dump)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is not one the scanner searches" in err, err


@pytest.mark.parametrize("name", sorted(SEARCHED_CURVES))
def test_a_key_of_every_searched_curve_is_read(tmp_path: Path, name: str) -> None:
    keys = tmp_path / "pub.pem"
    keys.write_bytes(_public_pem(getattr(ec, name.upper())()))
    assert [key.kind for key in load_known_keys([keys]).keys] == ["ec"]
