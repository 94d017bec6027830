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
import struct
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
    yield from _ppk(data)
    yield from _java_keystores(data)


_PPK = re.compile(rb"PuTTY-User-Key-File-(\d{1,2}): ([\x21-\x7e]{1,64})(\r?\n)")
_PPK_FIELD = re.compile(rb"([A-Za-z-]{1,32}): ([^\r\n]{0,256})\r?\n")
_PPK_LINE = re.compile(rb"([A-Za-z0-9+/=]{1,256})(?:\r?\n|$)")


def _ppk(data: bytes | mmap.mmap) -> Iterator[Found]:
    """PuTTY's key file: the header line, then `Field: value` lines; `Private-Lines: N` is followed by
    N lines of base64 (the private blob: an Ed25519 key's is 36 bytes) and the file ends at the
    `Private-MAC` line. A finding whatever its `Encryption` (an encrypted one as the reader's
    encrypted PEM: it cannot be proven harmless)."""
    for match in zeros.finditer(_PPK, data):
        position, private = match.end(), b""
        fields: dict[bytes, bytes] = {}
        for _ in range(64):  # fields and the public lines: a .ppk has about ten lines before its private ones
            field = _PPK_FIELD.match(data, position)
            if field is None:
                line = _PPK_LINE.match(data, position)
                if line is None:
                    break
                position = line.end()
                continue
            position = field.end()
            fields[field.group(1)] = field.group(2)
            if field.group(1) == b"Private-Lines" and field.group(2).isdigit():
                for _ in range(min(int(field.group(2)), 512)):
                    line = _PPK_LINE.match(data, position)
                    if line is None:
                        break
                    private += line.group(1)
                    position = line.end()
                mac = _PPK_FIELD.match(data, position)
                if mac is not None and mac.group(1) in (b"Private-MAC", b"Private-Hash"):
                    position = mac.end()
                break
        try:
            blob = base64.b64decode(private + b"=" * (-len(private) % 4))
        except (binascii.Error, ValueError):
            blob = b""
        if len(blob) >= 32:
            encryption = fields.get(b"Encryption", b"?").decode("ascii", "replace")
            yield "putty", (f"PuTTY key file v{match.group(1).decode()} ({match.group(2).decode('ascii', 'replace')}, "
                            f"encryption {encryption})"), (match.start(), position)


_JAVA_STORE = re.compile(rb"(\xfe\xed\xfe\xed|\xce\xce\xce\xce)\x00\x00\x00([\x01\x02])", re.DOTALL)
# a protected key outside its store (a keystore's bytes in memory): EncryptedPrivateKeyInfo whose
# algorithm is Sun's JKS key protector (with its NULL) or JCEKS's PBEWithMD5AndTripleDES (with its
# salt and count), then the encrypted key
_JAVA_PROTECTED = re.compile(rb"\x30\x0e\x06\x0a\x2b\x06\x01\x04\x01\x2a\x02\x11\x01\x01\x05\x00\x04"
                             rb"|\x30\x1c\x06\x09\x2b\x06\x01\x04\x01\x2a\x02\x13\x01\x30\x0f\x04\x08")


def _java_keystores(data: bytes | mmap.mmap) -> Iterator[Found]:
    """Java keystores (JKS, JCEKS) holding a private key or (JCEKS) a secret key, and their
    protected keys anywhere: whoever knows the store password (keytool's default "changeit")
    recovers the key, and JKS's protector is a SHA-1 keystream, cheap to try passwords against."""
    for match in zeros.finditer(_JAVA_STORE, data):
        walked = _walk_store(data, match.end(), match.group(1) == b"\xce\xce\xce\xce", match.group(2) == b"\x02")
        if walked is not None:
            what, end = walked
            store = "JCEKS" if match.group(1) == b"\xce\xce\xce\xce" else "JKS"
            yield "keystore", f"{store} keystore holding {what}", (match.start(), end)
    for match in zeros.finditer(_JAVA_PROTECTED, data):
        for header in (4, 3, 2):  # the outer SEQUENCE's header: 30 82 LL LL, 30 81 LL, 30 LL
            start = match.start() - header
            if start >= 0 and data[start] == 0x30:
                size = int.from_bytes(data[start + 2:start + header], "big") if header > 2 else data[start + 1]
                if header == 2 or data[start + 1] == 0x80 + header - 2:
                    end = min(len(data), start + header + size)
                    yield "keystore", "Java keystore's protected private key", (start, end)
                    break


def _walk_store(data: bytes | mmap.mmap, position: int, jceks: bool, typed: bool) -> tuple[str, int] | None:
    """(what it holds, where it ends) for a store with a private or secret key entry, else None."""
    def u32(at: int) -> int:
        if at + 4 > len(data):
            raise struct.error("past the end")
        value: int = struct.unpack(">I", data[at:at + 4])[0]
        return value

    def u16(at: int) -> int:
        if at + 2 > len(data):
            raise struct.error("past the end")
        value: int = struct.unpack(">H", data[at:at + 2])[0]
        return value

    def certificate(at: int) -> int:
        if typed:
            at += 2 + u16(at)
        return at + 4 + u32(at)

    holds = ""
    try:
        entries = u32(position)
        position += 4
        for _ in range(min(entries, 10_000)):
            tag = u32(position)
            position = position + 4
            position += 2 + u16(position) + 8  # alias, then the time it was added
            if tag == 1:
                holds = "a private key"
                position += 4 + u32(position)
                chain = u32(position)
                position += 4
                for _ in range(min(chain, 10_000)):
                    position = certificate(position)
            elif tag == 2:
                position = certificate(position)
            elif tag == 3 and jceks:  # a serialized SealedObject: no length to skip it by
                return "a secret key", min(len(data), position + MAX_ARMOUR)
            else:
                return None
    except struct.error:
        return None
    if not holds or position + 20 > len(data):
        return None
    return holds, position + 20


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
