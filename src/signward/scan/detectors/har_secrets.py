"""The HAR detector's registry entry: HAR files are parsed whole (`scan/har.py`), not chunk by
chunk, so its chunk scan finds nothing and the scanner runs `har.scan` once per HAR file when
this detector is selected. The byte detectors still run over the HAR's bytes (private keys in
bodies)."""

from __future__ import annotations

from collections.abc import Iterator

from ..chunks import Chunk
from ..findings import Finding
from .base import BaseDetector


class HarDetector(BaseDetector):
    """Tokens, cookies, credentials and API keys in HAR files (by parsing the whole document)."""

    name = "har"

    def scan(self, chunk: Chunk) -> Iterator[Finding]:
        return iter(())


__all__ = ["HarDetector"]
