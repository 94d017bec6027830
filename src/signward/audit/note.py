"""Checkpoints as C2SP signed notes (c2sp.org/tlog-checkpoint, c2sp.org/signed-note).

A checkpoint is the note text

    <origin>\\n<tree size>\\n<base64 root hash>\\n

followed by a blank line and a signature line `— <origin> base64(key ID || signature)`.
The signature is type 0x02 of the signed-note spec (ECDSA P-256 as in transparency-dev's
witness): an ASN.1 DER ECDSA signature over SHA-256 of the note text, and the key ID is the
first four bytes of SHA-256 of the DER SubjectPublicKeyInfo. Written from the C2SP text; the
signature itself comes from the HSM (signing) and pyca/cryptography (verifying).

Parsing is strict and bounded: a note over `MAX_NOTE_BYTES`, with control characters, more
than `MAX_SIGNATURES` signature lines or a malformed line is refused with a reason.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

MAX_NOTE_BYTES = 64 * 1024
MAX_SIGNATURES = 16
DASH = "\u2014 "


class NoteError(ValueError):
    """A note or checkpoint that is malformed or not signed by the expected key."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(), *self.extensions]
        return "".join(line + "\n" for line in lines)


def key_id(public: ec.EllipticCurvePublicKey) -> bytes:
    spki = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).digest()[:4]


def der_signature(raw: bytes) -> bytes:
    """JOSE r || s (what the HSM path returns for ES256) as the ASN.1 DER the note carries."""
    half = len(raw) // 2
    return encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))


def signed_note(checkpoint: Checkpoint, name: str, public: ec.EllipticCurvePublicKey, signature_der: bytes) -> str:
    _check_name(name)
    line = base64.b64encode(key_id(public) + signature_der).decode()
    return checkpoint.text() + "\n" + DASH + name + " " + line + "\n"


def _check_name(name: str) -> None:
    if not name or any(ch.isspace() or ch == "+" for ch in name):
        raise NoteError(f"key name {name!r} must be non-empty without spaces or '+'")


def parse_checkpoint(text: str) -> Checkpoint:
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("a checkpoint has an origin, a size and a root hash, each on its own line")
    origin, size_text, root_text, *extensions = lines[:-1]
    if not origin or not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")) \
            or len(size_text) > 20:
        raise NoteError("the checkpoint's size is not a decimal number")
    try:
        root = base64.b64decode(root_text, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError("the checkpoint's root hash is not base64") from None
    if len(root) != 32:
        raise NoteError("the checkpoint's root hash is not 32 bytes")
    if any(not line for line in extensions):
        raise NoteError("a checkpoint's extension lines are not empty")
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def open_note(note: str | bytes, name: str, public: ec.EllipticCurvePublicKey) -> Checkpoint:
    """The checkpoint of a note signed by `public` under `name`; NoteError otherwise (a known
    key whose signature fails rejects the note, unknown signers are ignored, per the spec)."""
    raw = note.encode() if isinstance(note, str) else note
    if len(raw) > MAX_NOTE_BYTES:
        raise NoteError(f"the note is over {MAX_NOTE_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise NoteError("the note is not UTF-8") from None
    if any(ord(ch) < 0x20 and ch != "\n" for ch in text):
        raise NoteError("the note holds control characters")
    split = text.rfind("\n\n")
    if split < 0 or not text.endswith("\n"):
        raise NoteError("the note has no signature block")
    body, block = text[:split + 1], text[split + 2:]
    signature_lines = block[:-1].split("\n")
    if len(signature_lines) > MAX_SIGNATURES:
        raise NoteError(f"the note has more than {MAX_SIGNATURES} signatures")
    wanted = key_id(public)
    verified = False
    for line in signature_lines:
        if not line.startswith(DASH):
            raise NoteError("a signature line does not start with an em dash")
        signer, _, encoded = line[len(DASH):].partition(" ")
        try:
            blob = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise NoteError("a signature is not base64") from None
        if len(blob) < 5:
            raise NoteError("a signature is too short")
        if signer != name or blob[:4] != wanted:
            continue  # another signer (a witness): ignored
        try:
            public.verify(blob[4:], body.encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise NoteError(f"the signature of {name} does not verify") from None
        verified = True
    if not verified:
        raise NoteError(f"the note is not signed by {name} with this key")
    checkpoint = parse_checkpoint(body)
    if checkpoint.origin != name:
        raise NoteError(f"the checkpoint's origin {checkpoint.origin!r} is not {name!r}")
    return checkpoint


__all__ = ["Checkpoint", "NoteError", "der_signature", "key_id", "open_note", "parse_checkpoint", "signed_note"]
