"""Crash dumps: scan them for keys, sanitize them fail-closed, prove it with canaries.

`scan_path` finds private keys and secrets in ELF cores (plain or systemd-coredump's .zst,
.xz, .lz4), minidumps and raw images; `sanitize` redacts what was found, rescans the result
and refuses to certify anything it cannot prove clean; `make_canary`/`hold_canaries` plant
known keys in a service so every dump of it proves the scanner works on that dump.
Only public keys are read from the rest of signward.

This package is the policy (sanitize, canaries, attestation, the pipeline, grants, the debugging
store, refusal reasons, SARIF); the engine it runs is `signward.scan` (see its docstring for the
split), whose `scan_path`, `KnownKey(s)`, `load_known_keys`, `Finding` and `FileReport` are
re-exported here as before.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..scan.findings import FileReport, Finding
    from ..scan.knownkeys import KnownKey, KnownKeys, load_known_keys
    from ..scan.scanner import scan_path
    from .attestation import AttestationCheck, verify_attestation
    from .canary import Canary, hold_canaries, make_canary
    from .reasons import DumpReason, DumpState
    from .sanitize import SanitizeResult, sanitize

# each name and the module defining it, imported on first access (PEP 562): `signward.dumps.canary`
# (what the guard and the issuer read) does not load numpy and the format libraries of the scanner
_LAZY = {
    "AttestationCheck": ".attestation",
    "verify_attestation": ".attestation",
    "Canary": ".canary",
    "hold_canaries": ".canary",
    "make_canary": ".canary",
    "FileReport": "..scan.findings",
    "Finding": "..scan.findings",
    "KnownKey": "..scan.knownkeys",
    "KnownKeys": "..scan.knownkeys",
    "load_known_keys": "..scan.knownkeys",
    "DumpReason": ".reasons",
    "DumpState": ".reasons",
    "SanitizeResult": ".sanitize",
    "sanitize": ".sanitize",
    "scan_path": "..scan.scanner",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


class _Package(types.ModuleType):
    """`sanitize` names a submodule and the function it defines; the import system binds the
    submodule on the package once it is imported: the package's `sanitize` stays the function
    (as when this module imported every name eagerly)."""

    def __setattr__(self, name: str, value: object) -> None:
        if name == "sanitize" and isinstance(value, types.ModuleType):
            value = value.sanitize
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


__all__ = ["AttestationCheck", "Canary", "DumpReason", "DumpState", "FileReport", "Finding", "KnownKey", "KnownKeys",
           "SanitizeResult", "hold_canaries", "load_known_keys", "make_canary", "sanitize", "scan_path",
           "verify_attestation"]
