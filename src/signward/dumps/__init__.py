"""Crash dumps: scan them for keys, sanitize them fail-closed, prove it with canaries.

`scan_path` finds private keys and secrets in ELF cores (plain or systemd-coredump's .zst,
.xz, .lz4), minidumps and raw images; `sanitize` redacts what was found, rescans the result
and refuses to certify anything it cannot prove clean; `make_canary`/`hold_canaries` plant
known keys in a service so every dump of it proves the scanner works on that dump.
Only public keys are read from the rest of signward.
"""

from __future__ import annotations

from .attestation import AttestationCheck, verify_attestation
from .canary import Canary, hold_canaries, make_canary
from .findings import FileReport, Finding
from .knownkeys import KnownKey, KnownKeys, load_known_keys
from .reasons import DumpReason, DumpState
from .sanitize import SanitizeResult, sanitize
from .scanner import scan_path

__all__ = ["AttestationCheck", "Canary", "DumpReason", "DumpState", "FileReport", "Finding", "KnownKey", "KnownKeys",
           "SanitizeResult", "hold_canaries", "load_known_keys", "make_canary", "sanitize", "scan_path",
           "verify_attestation"]
