"""What a detector is: a name, a version, and a `scan(chunk)` that yields findings."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from ..chunks import Chunk
from ..findings import Finding


class Detector(Protocol):
    """One way of finding secret material; registered by `name` in `signward.scan.detectors`."""

    name: str
    version: str
    default: bool  # part of the default set (entropy is not: it is advisory)

    def scan(self, chunk: Chunk) -> Iterable[Finding]:
        """Findings that start in the part of the chunk it owns."""
        ...

    def incomplete(self) -> list[str]:
        """Bounded passes that hit their bound in this scan (empty when the search was exhaustive)."""
        ...


class BaseDetector:
    """Defaults for the registry's detectors: version 1, in the default set, exhaustive."""

    name = ""
    version = "1"
    default = True

    def incomplete(self) -> list[str]:
        return []

    def found(self, chunk: Chunk, relative: int, length: int, kind: str, encoding: str, key: object = None) -> Finding:
        """A finding for a private key object: matched against the known keys (kid, verified), and
        every private value of it learned so its other layouts are found too."""
        known = chunk.known.match(key) if key is not None else None
        kid = known.kid if known is not None else None
        if key is not None:
            chunk.learned.add_private_key(key, kid, self.name)
        return chunk.finding(relative, length, self.name, kind, encoding, kid=kid, verified=known is not None)


class PassDetector(BaseDetector):
    """A pass of the `der` detector that the scanner adds to a chunk's detectors when `der` is one
    of them (not in the registry): its bounds hit are said in `_cut`."""

    name = "der"

    def __init__(self) -> None:
        self._cut: set[str] = set()

    def incomplete(self) -> list[str]:
        return sorted(self._cut)
