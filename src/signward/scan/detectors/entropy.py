"""High-entropy regions (Shannon entropy per 4 KiB window): advisory, off by default.

Compressed data, ciphertext and random pools look exactly like key material, so this
detector never drives redaction; it points an analyst at regions worth a look. One
bincount over (window index * 256 + byte) gives every window's histogram at once.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..chunks import Chunk
from ..findings import Finding
from .base import BaseDetector

WINDOW = 4096
BLOCK = 256  # windows per bincount (1 MiB)
THRESHOLD = 7.5  # bits per byte; random 4 KiB windows score about 7.95


class EntropyDetector(BaseDetector):
    """Advisory: runs of 4 KiB windows above `threshold` bits per byte."""

    name = "entropy"
    default = False

    def __init__(self, threshold: float = THRESHOLD) -> None:
        self.threshold = threshold

    def scan(self, chunk: Chunk) -> Iterator[Finding]:
        count = min(len(chunk.data), chunk.own_end) // WINDOW
        if count == 0:
            return
        entropy = np.concatenate([self._entropy(chunk.array[first * WINDOW:min(count, first + BLOCK) * WINDOW])
                                  for first in range(0, count, BLOCK)])
        high = entropy >= self.threshold
        index = 0
        while index < count:
            if not high[index]:
                index += 1
                continue
            end = index
            while end < count and high[end]:
                end += 1
            mean = float(entropy[index:end].mean())
            yield chunk.finding(index * WINDOW, (end - index) * WINDOW, self.name, "high-entropy-region", "raw",
                                advisory=True, detail=f"{mean:.2f} bits/byte")
            index = end

    @staticmethod
    def _entropy(data: np.ndarray) -> np.ndarray:
        windows = len(data) // WINDOW
        keys = np.repeat(np.arange(windows, dtype=np.int32) * 256, WINDOW) + data
        histogram = np.bincount(keys, minlength=windows * 256).reshape(windows, 256)
        probabilities = histogram / WINDOW
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(probabilities > 0, -probabilities * np.log2(probabilities), 0.0)
        return terms.sum(axis=1)  # type: ignore[no-any-return]


__all__ = ["EntropyDetector"]
