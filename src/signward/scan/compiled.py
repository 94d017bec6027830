"""Which filter path a scan takes: the compiled one (`signward.scan._filters`, built at install)
or the numpy/cryptography reference it is tested against.

The compiled pass is used whenever it was built; SIGNWARD_SCAN_REFERENCE=1 in the environment
forces the reference (the differential tests and `bench/scan.py` compare the two; the pool's
processes inherit the setting). `AVAILABLE` tells whether the extension was built.
"""

from __future__ import annotations

import os
from types import ModuleType

_built: ModuleType | None
try:
    from . import _filters as _built
except ImportError:  # no compiler, libcrypto or libsodium at install: the reference path
    _built = None

AVAILABLE = _built is not None
REFERENCE_ENV = "SIGNWARD_SCAN_REFERENCE"
# OpenSSL's short names for the curves cryptography names
OPENSSL_CURVES = {"secp256r1": "prime256v1", "secp384r1": "secp384r1", "secp521r1": "secp521r1",
                  "secp256k1": "secp256k1"}


def filters() -> ModuleType | None:
    """The compiled filters, or None where the reference path is to be used."""
    if _built is None or os.environ.get(REFERENCE_ENV, "") not in ("", "0"):
        return None
    return _built


def path_name() -> str:
    """'compiled' or 'reference': what a scan in this process uses."""
    return "compiled" if filters() is not None else "reference"


__all__ = ["AVAILABLE", "OPENSSL_CURVES", "REFERENCE_ENV", "filters", "path_name"]
