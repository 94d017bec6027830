"""The unit of scanning: a slice of the dump with its neighbours' overlap and cached views.

The scanner walks a dump in chunks of `CHUNK` bytes plus `OVERLAP` bytes of the next one,
so a secret that straddles a boundary is whole in one chunk; a chunk reports only what
starts in the part it owns. Derived arrays (the bytes as numpy, running counts of zero and
high bytes) are computed once per chunk and shared by every detector.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from .compiled import filters
from .findings import Finding
from .formats import Layout
from .knownkeys import KnownKeys

CHUNK = 32 << 20
OVERLAP = 64 << 10


@dataclass
class Learned:
    """Private values a detector proved, to be searched for as exact bytes everywhere."""

    patterns: dict[bytes, tuple[str, str, str, str | None]] = field(default_factory=dict)
    # bytes -> (detector, kind, encoding, kid)

    def add_integer(self, value: int, kind: str, kid: str | None, detector: str) -> None:
        """Every in-memory layout of `value`: big-endian, little-endian limbs, Java int[], CPython's digits."""
        if value.bit_length() < 128:
            return
        size = (value.bit_length() + 7) // 8
        self.patterns.setdefault(value.to_bytes(size, "big"), (detector, kind, "be", kid))
        self.patterns.setdefault(value.to_bytes(size, "little"), (detector, kind, "le", kid))
        words = (value.bit_length() + 31) // 32
        little = value.to_bytes(words * 4, "little")
        java = b"".join(little[i:i + 4] for i in range((words - 1) * 4, -4, -4))
        self.patterns.setdefault(java, (detector, kind, "java", kid))
        digits = []  # a Python int: 30-bit digits, each a little-endian 32-bit word
        while value:
            digits.append((value & 0x3FFFFFFF).to_bytes(4, "little"))
            value >>= 30
        self.patterns.setdefault(b"".join(digits), (detector, kind, "pylong", kid))

    def add_bytes(self, data: bytes, kind: str, encoding: str, kid: str | None, detector: str) -> None:
        if len(data) >= 16 and len(set(data)) >= 8:
            self.patterns.setdefault(data, (detector, kind, encoding, kid))

    def add_private_key(self, key: Any, kid: str | None, detector: str) -> None:
        """Every private value of a key found in one form, so its other forms are found too."""
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, x25519

        if isinstance(key, rsa.RSAPrivateKey):
            numbers = key.private_numbers()
            for value, kind in ((numbers.p, "rsa-prime"), (numbers.q, "rsa-prime"),
                                (numbers.d, "rsa-private-exponent"), (numbers.dmp1, "rsa-crt-exponent"),
                                (numbers.dmq1, "rsa-crt-exponent"), (numbers.iqmp, "rsa-crt-coefficient")):
                self.add_integer(value, kind, kid, detector)
        elif isinstance(key, ec.EllipticCurvePrivateKey):
            self.add_integer(key.private_numbers().private_value, "ec-private-scalar", kid, detector)
        elif isinstance(key, (ed25519.Ed25519PrivateKey, x25519.X25519PrivateKey)):
            kind = "ed25519-seed" if isinstance(key, ed25519.Ed25519PrivateKey) else "x25519-private-key"
            self.add_bytes(key.private_bytes_raw(), kind, "raw", kid, detector)


class Chunk:
    """`data` holds file bytes [start, start + len(data)); it owns findings before `own_end`.

    A chunk may be compacted (`pieces`): long runs of zero pages left out, the rest joined,
    each piece a list entry (position in `data`, file offset), page-aligned and beginning and
    ending with OVERLAP bytes of the zeros around it. Detectors work in positions of `data`
    and turn them into file offsets with `file_offset(s)`; `covers` is the number of file
    bytes the chunk owns (what a compacted chunk stands for). A `decoded` chunk is a batch of
    decoded views (base64, hex, streams ... laid end to end), read without the dense-block rule."""

    def __init__(self, data: bytes, start: int, own_end: int, layout: Layout, known: KnownKeys,
                 learned: Learned | None = None, pieces: list[tuple[int, int]] | None = None,
                 covers: int | None = None, decoded: bool = False) -> None:
        self.data = data
        self.decoded = decoded  # a batch of decoded views (`decoded_runs.scan_batch`), not file bytes
        self.start = start
        self.own_end = own_end
        self.layout = layout
        self.known = known
        self.learned = learned if learned is not None else Learned()
        self.covers = own_end if covers is None else covers
        self._pieces = pieces if pieces and pieces != [(0, start)] else None
        if self._pieces is not None:
            self._relative = np.array([r for r, _ in self._pieces], dtype=np.int64)
            self._offset = np.array([f for _, f in self._pieces], dtype=np.int64)
        self._cache: dict[str, Any] = {}

    def file_offset(self, relative: int) -> int:
        """The file offset of position `relative` of `data`."""
        if self._pieces is None:
            return self.start + relative
        index = int(np.searchsorted(self._relative, relative, side="right")) - 1
        return int(self._offset[index]) + relative - int(self._relative[index])

    def file_offsets(self, relative: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        if self._pieces is None:
            return relative + self.start
        index = np.searchsorted(self._relative, relative, side="right") - 1
        return self._offset[index] + relative - self._relative[index]

    def __len__(self) -> int:
        return len(self.data)

    @property
    def array(self) -> npt.NDArray[np.uint8]:
        if "array" not in self._cache:
            self._cache["array"] = np.frombuffer(self.data, dtype=np.uint8)
        return self._cache["array"]  # type: ignore[no-any-return]

    def prefix(self, name: str) -> npt.NDArray[np.uint16]:
        """Running count with a leading 0 of 'zero' bytes, 'high' bytes (>= 0x80) or 'repeat' bytes
        (equal to the previous)."""
        key = f"prefix:{name}"
        compiled = filters()
        if key not in self._cache and compiled is not None and name in ("zero", "high"):  # both in one pass
            zero, high = (np.empty(len(self.data) + 1, dtype=np.uint16) for _ in range(2))
            compiled.prefix_counts(self.data, zero, high)
            self._cache["prefix:zero"], self._cache["prefix:high"] = zero, high
        if key not in self._cache:
            data = self.array
            if name == "zero":
                flags = data == 0
            elif name == "high":
                flags = data >= 0x80
            else:  # "repeat": the byte equals the one before it
                flags = np.zeros(len(data), dtype=bool)
                np.equal(data[1:], data[:-1], out=flags[1:])
            # uint16 wraps, but a difference over any window shorter than 65536 bytes is still exact
            counts = np.zeros(len(flags) + 1, dtype=np.uint16)
            np.cumsum(flags, dtype=np.uint16, out=counts[1:])
            self._cache[key] = counts
        return self._cache[key]  # type: ignore[no-any-return]

    def writable_spans(self) -> npt.NDArray[np.int64]:
        """Where in `data` a window may start for `layout.writable_mask` to call it writable:
        (start, end) pairs, ascending and disjoint, in positions of `data`."""
        if "writable_spans" not in self._cache:
            decided = self.layout.writable_spans()
            ends = [end for _, end in decided]
            pieces = self._pieces or [(0, self.start)]
            spans: list[tuple[int, int]] = []
            for index, (relative, file_start) in enumerate(pieces):
                relative_end = pieces[index + 1][0] if index + 1 < len(pieces) else len(self.data)
                file_end = file_start + relative_end - relative
                for start, end in decided[bisect.bisect_right(ends, file_start):]:
                    if start >= file_end:
                        break
                    low, high = max(start, file_start), min(end, file_end)
                    if low < high:
                        spans.append((relative + low - file_start, relative + high - file_start))
            self._cache["writable_spans"] = np.array(spans, dtype=np.int64).reshape(-1, 2)
        return self._cache["writable_spans"]  # type: ignore[no-any-return]

    def owns(self, relative: int) -> bool:
        return relative < self.own_end

    def finding(self, relative: int, length: int, detector: str, kind: str, encoding: str,
                kid: str | None = None, verified: bool = False, advisory: bool = False,
                detail: str = "") -> Finding:
        offset = self.file_offset(relative)
        return Finding(offset=offset, length=length, detector=detector, kind=kind, encoding=encoding,
                       vaddr=self.layout.vaddr(offset), kid=kid, verified=verified, advisory=advisory,
                       detail=detail)


__all__ = ["CHUNK", "OVERLAP", "Chunk", "Learned"]
