"""The independent reader's rules for key files of other tools: the ssh.com (SECSH) private key
armour, PuTTY's .ppk, Java's JKS and JCEKS keystores and PKCS#12 files (opened with the empty and
the well-known passwords; one that opens with none of them is a finding too: its keys can be
neither read nor proven absent).

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
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.serialization import pkcs12

from . import recheck_zeros as zeros
from .knownkeys import KnownKeys

if TYPE_CHECKING:
    from .recheck import Budget

MAX_ARMOUR = 64 << 10
_B64 = re.compile(rb"[A-Za-z0-9+/]")
_SSH2 = re.compile(rb"---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----(.{1,%d}?)---- END SSH2 ENCRYPTED PRIVATE KEY ----"
                   % MAX_ARMOUR, re.DOTALL)

Found = tuple[str, str, tuple[int, int]]


def keyfile_findings(data: bytes | mmap.mmap, known: KnownKeys, budget: Budget) -> Iterator[Found]:
    """Every key file of the kinds above in `data` (a key read from a PKCS#12 file is named by its
    kid when it is one of `known`; the key derivations tried are counted in `budget`)."""
    yield from _pkcs12(data, known, budget)
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


# PFX: SEQUENCE { INTEGER 3, ContentInfo { OID pkcs7-data or -signedData, ...
_PFX = re.compile(rb"\x30(?:\x83...|\x82..|\x81.|[\x10-\x7f])\x02\x01\x03\x30(?:\x83...|\x82..|\x81.|[\x10-\x7f])"
                  rb"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07[\x01\x02]", re.DOTALL)
# bags other than certificates (keyBag, pkcs8ShroudedKeyBag, secretBag, safeContentsBag) and
# encrypted content, where bags are not seen before decrypting: `cryptography` returns no key for
# a secretBag (keytool's -genseckey into a PKCS12 store) nor for a bag it does not know
_NOT_ONLY_CERTIFICATES = re.compile(rb"\x06\x0b\x2a\x86\x48\x86\xf7\x0d\x01\x0c\x0a\x01[\x01\x02\x05\x06]"
                                    rb"|\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x06")
WELL_KNOWN_PASSWORDS: tuple[bytes | None, ...] = (None, b"", b"changeit", b"password", b"changeme", b"secret")
MAX_ITERATIONS = 200_000  # per key derivation: openssl writes 2,048, keytool 10,000
MAX_PFX = 16  # PKCS#12 files opened per view (each try is one key derivation at most)
MAX_PFX_BYTES = 1 << 20


def _pkcs12(data: bytes | mmap.mmap, known: KnownKeys, budget: Budget) -> Iterator[Found]:
    """PKCS#12 files: opened with no password, the empty one and the well-known ones (keytool's
    "changeit"); each key read is a finding, named. One that opens with none of them, or whose
    key derivations run past MAX_ITERATIONS (not tried), or that does not parse, is a finding as
    an encrypted PEM is; one that opens and holds certificates only, all of them in plain sight (no
    other bag, no encrypted content: a truststore written so), is not. Each
    password tried is charged three derivations (the MAC's, the key's, the certificates') against
    the read's budget: past it, a file is not opened, and is a finding (a thousand files at 200,000
    iterations cost no more than the budget, about 20 s)."""
    for count, match in enumerate(zeros.finditer(_PFX, data)):
        start = match.start()
        end = _tlv_end(data, start)
        if end is None or end - start > MAX_PFX_BYTES:
            continue
        if count >= MAX_PFX:
            yield "pkcs12", "PKCS#12 file (not opened: too many in one view)", (start, end)
            continue
        blob = bytes(data[start:end])
        iterations = _iterations(blob)
        if iterations is None or iterations > MAX_ITERATIONS:
            yield "pkcs12", f"PKCS#12 file (not opened: {iterations or 'unreadable'} iterations)", (start, end)
            continue
        for password in WELL_KNOWN_PASSWORDS:
            budget.kdf_iterations += 3 * max(iterations, 1)
            if budget.kdf_iterations > budget.max_kdf_iterations:
                yield "pkcs12", "PKCS#12 file (not opened: the read's key derivation budget is spent)", (start, end)
                break
            try:
                key, _, _ = pkcs12.load_key_and_certificates(blob, password)
            except Exception:
                continue
            if key is not None:
                match_ = known.match(key)
                kid = f" (known kid {match_.kid})" if match_ is not None else ""
                yield "pkcs12", f"{type(key).__name__.lstrip('_')}{kid} in a PKCS#12 file under {_said(password)}", \
                    (start, end)
            elif _NOT_ONLY_CERTIFICATES.search(blob):
                yield "pkcs12", f"PKCS#12 file under {_said(password)} with a secret or encrypted bag", (start, end)
            break  # opened
        else:
            yield "pkcs12", "PKCS#12 file under an unknown password", (start, end)


def _said(password: bytes | None) -> str:
    return "no password" if password is None else f"the password {password.decode()!r}"


def _tlv_end(data: bytes | mmap.mmap, start: int) -> int | None:
    first = data[start + 1]
    if first < 0x80:
        return start + 2 + first
    width = first & 0x7F
    if not 0 < width <= 3 or start + 2 + width > len(data):
        return None
    end = start + 2 + width + int.from_bytes(data[start + 2:start + 2 + width], "big")
    return end if end <= len(data) else None


def _iterations(blob: bytes) -> int | None:
    """The largest iteration count of a PKCS#12 file's key derivations (an INTEGER right after an
    OCTET STRING, the salt: MacData, PBKDF2 and PKCS#12 PBE parameters all have it so), walking
    every constructed value and every OCTET STRING that holds DER; None when it does not walk
    as DER (BER, garbage) or is larger than the walk's bound (4,096 values, 24 deep)."""
    largest, seen = 0, 0
    stack = [(0, len(blob), 0)]
    while stack:
        position, end, depth = stack.pop()
        previous = -1
        while position < end:
            if position + 2 > end:
                return None
            tag, first = blob[position], blob[position + 1]
            if first < 0x80:
                head, size = 2, first
            elif 0 < first - 0x80 <= 3:
                head = 2 + first - 0x80
                size = int.from_bytes(blob[position + 2:position + head], "big")
            else:
                return None
            inner, after = position + head, position + head + size
            if after > end:
                return None
            seen += 1
            if seen > 4096 or depth > 24:
                return None
            if tag == 0x02 and previous == 0x04:
                largest = max(largest, int.from_bytes(blob[inner:after], "big"))
            if tag & 0x20:
                stack.append((inner, after, depth + 1))
            elif tag == 0x04 and size >= 2 and blob[inner] == 0x30 and _tlv_end(blob, inner) == after:
                stack.append((inner, after, depth + 1))
            previous, position = tag, after
    return largest


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
