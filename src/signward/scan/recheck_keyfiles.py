"""The independent reader's rules for key files of other tools: the ssh.com (SECSH) private key
armour, PuTTY's .ppk, Java's JKS and JCEKS keystores and PKCS#12 files under a well-known password.

Written apart from the scanner's detectors (standard library and `cryptography` only, like
recheck.py, which calls `keyfile_findings` on every view). Each rule yields what it found as
(kind, what, [start, end) in the view): the whole armour, .ppk text or keystore, so the caller's
span covers every byte of it.
"""

from __future__ import annotations

import base64
import binascii
import mmap
import re
from collections.abc import Iterator

from . import recheck_zeros as zeros

MAX_ARMOUR = 64 << 10
_B64 = re.compile(rb"[A-Za-z0-9+/]")
_SSH2 = re.compile(rb"---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----(.{1,%d}?)---- END SSH2 ENCRYPTED PRIVATE KEY ----"
                   % MAX_ARMOUR, re.DOTALL)

Found = tuple[str, str, tuple[int, int]]


def keyfile_findings(data: bytes | mmap.mmap) -> Iterator[Found]:
    """Every key file of the kinds above in `data`."""
    yield from _ssh2(data)


def _ssh2(data: bytes | mmap.mmap) -> Iterator[Found]:
    """ssh.com armour (puttygen -O private-sshcom; "ENCRYPTED" whatever the cipher): a finding when
    a key's worth of base64 is inside, loaded or not (its blob names the cipher)."""
    for match in zeros.finditer(_SSH2, data):
        inside = _B64.findall(match.group(1))
        if len(inside) < 100 or len(set(inside)) < 16:
            continue  # a header alone, or a redacted body
        yield "sshcom", f"ssh.com private key ({_ssh2_cipher(match.group(1))})", (match.start(), match.end())


def _ssh2_cipher(armour: bytes) -> str:
    body = b"".join(line.strip() for line in re.split(rb"\r\n|\n|\\n", armour)
                    if b":" not in line and not line.rstrip().endswith(b"\\"))
    try:
        blob = base64.b64decode(body + b"=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        return "body not decoded"
    if blob[:4] != b"\x3f\x6f\xf9\xeb":
        return "body not decoded"
    position = 8
    for index in range(2):  # key type, then cipher name
        size = int.from_bytes(blob[position:position + 4], "big")
        if index == 1:
            return "cipher " + blob[position + 4:position + 4 + size].decode("ascii", "replace")
        position += 4 + size
    return "body not decoded"


__all__ = ["keyfile_findings"]
