"""Build raw memory images with key material planted at chosen offsets and layouts (and a tar
archive of one member, for a test of a view below one)."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path


def tar_of(name: str, data: bytes) -> bytes:
    """A ustar archive of one member `name` holding `data`."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def le(value: int, size: int) -> bytes:
    return value.to_bytes(size, "little")


def be(value: int, size: int) -> bytes:
    return value.to_bytes(size, "big")


def java(value: int, size: int) -> bytes:
    little = value.to_bytes(size, "little")
    return b"".join(little[i:i + 4] for i in range(size - 4, -4, -4))


def image(path: Path, size: int, plants: dict[int, bytes], filler: str = "mixed") -> Path:
    """`size` bytes of filler (random / zero / mixed) with each plant written at its offset."""
    if filler == "random":
        data = bytearray(os.urandom(size))
    elif filler == "zero":
        data = bytearray(size)
    else:  # zeros, ASCII and pointer-like words, the texture of a heap
        words = bytearray()
        while len(words) < size:
            words += (0x00007F0000000000 + int.from_bytes(os.urandom(4), "little") * 16).to_bytes(8, "little")
            words += b"some ordinary heap text, nothing secret here.\0\0\0\0\0\0\0\0\0\0"
        data = words[:size]
    for offset, blob in plants.items():
        data[offset:offset + len(blob)] = blob
    path.write_bytes(bytes(data))
    return path
