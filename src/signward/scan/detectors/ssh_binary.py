"""OpenSSH private keys in their binary form (issue #32, session 22): the scanner's rule, a pass of the
`der` detector. The independent reader has its own (recheck*.py); nothing is shared.

An OpenSSH key file is PEM armour around the bytes `openssh-key-v1\\0`, then the cipher and KDF names
and options, the key count, the public keys and the private section, each a 32-bit length and its
bytes (PROTOCOL.key). ssh-keygen, ssh-agent and every program that read the file hold those bytes
decoded, and a copy in memory or in a decoded view has no armour for the text detector: the
independent reader found them, the scanner did not. Here the magic is found with `bytes.find`, the
lengths give the blob's end, and an unencrypted blob (cipher `none`) is loaded by `cryptography`
(`load_ssh_private_key` of the blob re-armoured): a key loaded is the proof. Kind
`openssh-private-key-binary`, the span the blob. An encrypted blob is no secret without its
passphrase and is left. Bounded: `MAX_MAGICS` a chunk plus one per KiB (more: incomplete), blobs of
`MAX_BLOB` bytes.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

from cryptography.hazmat.primitives.serialization import load_ssh_private_key

from ..chunks import Chunk
from ..findings import Finding
from .base import PassDetector

MAGIC = b"openssh-key-v1\x00"
MAX_MAGICS = 1000
MAX_BLOB = 64 << 10  # an RSA-16384 key is about 9 KiB


def _strings(data: bytes, at: int, count: int) -> tuple[list[bytes], int] | None:
    """`count` length-prefixed strings from `at`: (their bytes, where the last ends)."""
    found = []
    for _ in range(count):
        if at + 4 > len(data):
            return None
        size = int.from_bytes(data[at:at + 4], "big")
        if size > MAX_BLOB or at + 4 + size > len(data):
            return None
        found.append(bytes(data[at + 4:at + 4 + size]))
        at += 4 + size
    return found, at


def _blob(data: bytes, at: int) -> tuple[int, Any] | None:
    """(end, key) of an unencrypted OpenSSH key blob at `at` (its magic), or None."""
    head = _strings(data, at + len(MAGIC), 3)  # cipher, KDF, KDF options
    if head is None or head[0][0] != b"none" or head[1] + 4 > len(data):
        return None
    keys = int.from_bytes(data[head[1]:head[1] + 4], "big")
    if not 1 <= keys <= 16:
        return None
    rest = _strings(data, head[1] + 4, keys + 1)  # the public keys, the private section
    if rest is None or rest[1] - at > MAX_BLOB:
        return None
    armour = b"-----BEGIN OPENSSH PRIVATE KEY-----\n" + base64.encodebytes(bytes(data[at:rest[1]])) \
        + b"-----END OPENSSH PRIVATE KEY-----\n"
    try:
        return rest[1], load_ssh_private_key(armour, None)
    except (ValueError, TypeError):
        return None


def ssh_blobs(data: bytes, cut: set[str]) -> Iterator[tuple[int, int, Any]]:
    """(start, end, key) of each unencrypted binary OpenSSH private key in `data`."""
    cap, count = MAX_MAGICS + len(data) // 1024, 0
    at = data.find(MAGIC)
    while at >= 0:
        count += 1
        if count > cap:
            cut.add(f"der: more than {cap} OpenSSH key magics in a chunk or view")
            return
        found = _blob(data, at)
        if found is not None:
            yield at, found[0], found[1]
        at = data.find(MAGIC, at + len(MAGIC))


class SshBinaryPass(PassDetector):
    """OpenSSH private keys without their armour."""

    def scan(self, chunk: Chunk) -> Iterator[Finding]:
        for start, end, key in ssh_blobs(chunk.data, self._cut):
            if chunk.owns(start):
                yield self.found(chunk, start, end - start, "openssh-private-key-binary", "raw", key)


__all__ = ["SshBinaryPass", "ssh_blobs"]
