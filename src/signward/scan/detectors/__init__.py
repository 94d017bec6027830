"""The detector registry: each detector a small module, each finding naming its detector.

=============  =================================================================
text           PEM / OpenSSH / PuTTY / ssh.com private keys, bare base64 DER,
               JWKs with private members, OpenSSL's `-text` printout of a key
               (keytext.py, proven), keys printed as big integers (Go, Java, configs:
               printed_numbers.py, proven by the printout); ASCII and UTF-16LE
der            DER parsed to confirm: PKCS#1, PKCS#8 (RSA, EC, Ed25519, X25519),
               SEC1, encrypted PKCS#8, PKCS#12 (opened with the well-known
               passwords), JKS/JCEKS keystores holding a private or secret key
known-key      private halves of given public keys (RSA factors and exponents,
               EC scalars, Ed25519 seeds) in any layout; verified, with the kid
unknown-rsa    adjacent primes whose product is a modulus present in the dump
aes            AES-128/192/256 key schedules, by exact re-expansion
har            HAR files: JWS signatures (verified against known keys), cookies,
               authorization headers, OAuth/SAML credentials, API keys
entropy        high-entropy regions; advisory, not in the default set
=============  =================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ...errors import UsageError
from .aes import AesScheduleDetector
from .base import Detector
from .der import DerDetector
from .entropy import EntropyDetector
from .har_secrets import HarDetector
from .known_key import KnownKeyDetector
from .text import TextDetector
from .unknown_rsa import UnknownRsaDetector

REGISTRY: dict[str, Callable[[], Detector]] = {
    "text": TextDetector,
    "der": DerDetector,
    "known-key": KnownKeyDetector,
    "unknown-rsa": UnknownRsaDetector,
    "aes": AesScheduleDetector,
    "har": HarDetector,
    "entropy": EntropyDetector,
}


def select(names: Sequence[str] | str | None = None) -> list[Detector]:
    """Fresh detectors by name ('a,b' or a list); None means the default set."""
    if names is None:
        return [factory() for factory in REGISTRY.values() if factory().default]
    wanted = [n.strip() for n in (names.split(",") if isinstance(names, str) else names) if n.strip()]
    unknown = [n for n in wanted if n not in REGISTRY]
    if unknown or not wanted:
        raise UsageError(f"unknown detector(s) {', '.join(unknown) or '(none given)'}; "
                         f"choose from {', '.join(REGISTRY)}")
    return [REGISTRY[n]() for n in dict.fromkeys(wanted)]


def versions() -> dict[str, str]:
    return {name: factory().version for name, factory in REGISTRY.items()}


__all__ = ["REGISTRY", "Detector", "select", "versions"]
