"""The independent reader: certification re-reads an artifact with code the scanner does not share.

The scanner reads artifacts with its own parsers (`har.py`, `bundles.py`, `formats.py`); one blind
spot there (a member name form, a JSON escape, a body encoding) would blind both the sanitizer and
the debugging store's intake re-scan, which ran the same code (issue #36: a common-mode failure).
This module is the second reader. It imports none of those parsers: it decodes with the standard
library (json, base64, binascii, urllib.parse, tarfile, zipfile, gzip/zlib, lzma, bz2) and the
`zstandard` and `lz4` packages, and runs its own detector path over every decoded view:

views     the raw bytes; compressed streams (gzip, zlib, raw deflate after base64, zstd, xz,
          bz2, lz4 frames); tar and zip members under their raw names (nested archives too; the
          archive's own bytes stay a view, so headers, comments and trailing bytes are read);
          every JSON string fully unescaped (as UTF-8 and, where it fits, Latin-1 bytes);
          base64/base64url runs, hex runs, percent-encoded runs, JSON string literals inside
          other text, UTF-16LE/BE runs; and (recheck_codecs.py) zlib streams anywhere, raw
          deflate at a view's start, LZMA-alone, base32, ascii85/base85, uuencode,
          quoted-printable, UTF-32 and EBCDIC PEM armour; (recheck_records.py) the messages of
          JSON log records (docker, journald, fluent-bit, GCP) joined as the program printed them.
detectors PEM and OpenSSH private keys, DER PKCS#8 / PKCS#1 / SEC1 private keys, JWKs with a
          private member: each candidate is LOADED with `cryptography` (a key that loads is a
          finding); and the known-key search: windows compared against the public keys the
          home knows (canaries included) - RSA primes in both byte orders, EC scalars and
          Ed25519 seeds, AES keys by `aes_key_id` - in every view up to `WINDOW_VIEW_BYTES`.

Spans: each finding carries the raw span that encodes it in the plain artifact (the decompressed
one below a top-level stream), the whole run decoded at that level (a base64 or hex run, a JSON
string literal, a JWK object, a stream or archive member inside the view), so that sanitize can
overwrite it. A view is read once per distinct content; every later copy (another raw run that
decodes to the same bytes) makes the first reading's findings again at its own span, so every copy
is redacted. Only what has no single run has no span (short base64 pieces joined across a JSON
document, a zip member's central extra field, a global pax header): the artifact is refused.

Everything is bounded (`Budget`: views, decoded bytes, depth, candidate checks). A layer that
says it is there and does not decode (a truncated stream, a broken archive, an encrypted zip
member) or a budget exhausted is `incomplete`: the caller refuses, never passes.
Raw scalars in views larger than `WINDOW_VIEW_BYTES` (a whole core) are left to the scanner's
own known-key detector, whose compiled filters make that affordable; the encoding recognisers
run on views of every size. A decoded view over 64 KiB that only this reader decodes (a base64
run in a log, a stream in a PDF, a .gz in a .gz) is also searched by that compiled detector here
(recheck_large.py); CPython ints' digits are read in every view (recheck_layouts.py).
"""

from __future__ import annotations

import base64
import binascii
import bz2
import hashlib
import io
import json
import lzma
import mmap
import re
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lz4.frame
import zstandard
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from . import recheck_large as large
from . import recheck_zeros as zeros
from .compiled import OPENSSL_CURVES, filters
from .knownkeys import KnownKeys, aes_key_id
from .recheck_berfiles import ber_file_findings
from .recheck_brotli import TooLarge, Undecodable, http_bodies, looks_brotli, named_brotli, unbrotli
from .recheck_codecs import Oversized, decoded_views, joined_pieces
from .recheck_cutkeys import MAX_RSA_WORK, cut_der_key, cut_heads
from .recheck_edpairs import ed25519_pairs
from .recheck_encodings import printed_view, read_encodings
from .recheck_exponent import lone_exponents
from .recheck_keyfiles import keyfile_findings
from .recheck_keytext import read_keytext
from .recheck_layouts import python_ints
from .recheck_mojibake import read_mojibake
from .recheck_multiprime import read_multiprime
from .recheck_numbers import read_numbers
from .recheck_platform_keys import platform_keys
from .recheck_records import read_records
from .recheck_selfproof import self_proving_numbers
from .recheck_textforms import read_textforms
from .recheck_typedrows import read_typed
from .recheck_unread import unread_kind
from .recheck_utf16text import cp1252_windows, utf16le_text
from .recheck_values import read_values
from .recheck_wordlists import read_wordlists
from .recheck_words import read_words

MIN_VIEWS = 200_000  # views of the reader's budget, at least (Budget.for_size)
VIEW_BYTES = 8  # artifact bytes per view of the reader's budget past MIN_VIEWS (Budget.for_size)
PRINTED_CHECK_BYTES = 16  # artifact bytes per scalar check of a printed form's view (Budget.for_size)
MAX_PRINTED_CHECKS = 1 << 18
MIN_MODEXPS = 64  # modular exponentiations (2048-bit units: about 20 ms each) a recheck, at least ...
MODEXP_BYTES = 256 << 10  # ... and one more per this many bytes of the artifact
MIN_DERIVATIONS = 64  # printed EC keys' derivations a recheck (1 to 13 ms each: P-521, brainpool), at least ...
DERIVATION_BYTES = 64 << 10  # ... and one more per this many bytes of the artifact
WINDOW_VIEW_BYTES = 1 << 20  # the known-key window search covers views up to this size
EVERY_OFFSET_BYTES = 64 << 10  # ... at every offset up to this size, at 8-byte alignment above
MAX_PEM_BODY = 64 << 10
MAX_JSON_VIEW = 256 << 20
MIN_BASE64 = 22  # a 16-byte AES key in base64
MIN_HEX = 32
MIN_UTF16 = 16
MAX_FINDINGS = 100

_PEM = re.compile(rb"-----BEGIN ([A-Z0-9 ]{0,40}PRIVATE KEY)-----(.{1,%d}?)-----END \1-----" % MAX_PEM_BODY,
                  re.DOTALL)
# OpenBao/Vault tokens (the scanner's detectors/text.py has its own pattern and rule, the same ones):
# legacy and OpenBao `s.`/`b.`/`r.` + 24 base62, OpenBao batch `b.` (and `s.`, `r.`) + 90 or more
# base64url, Vault 1.10's `hvs.`/`hvb.`/`hvr.` + 24 or more
_VAULT_TOKEN = re.compile(rb"(?<![A-Za-z0-9_.-])(?:hv[sbr]\.[A-Za-z0-9_-]{24,400}|[sbr]\.[A-Za-z0-9_-]{90,400}|"
                          rb"[sbr]\.[A-Za-z0-9]{24})(?![A-Za-z0-9_-])")
_PREFIXED_LINES = re.compile(rb"^([^\n]{0,80}?[|>#:\]] )[^\n]*(?:\n\1[^\n]*){3,}", re.M)
_DER = re.compile(rb"\x30(?:\x83[\x00-\x01][\x00-\xff][\x00-\xff]|\x82[\x00-\xff][\x00-\xff]|\x81[\x80-\xff]|"
                  rb"[\x10-\x7f])\x02\x01[\x00\x01]")
_OPENSSH_MAGIC = b"openssh-key-v1\x00"
# lines joined whatever their indentation (YAML `!!binary |`, pretty-printed XML, CRLF)
_BASE64_RUN = re.compile(rb"[A-Za-z0-9+/_-]{4,}(?:(?:\\r\\n|\\n|\r?\n)[ \t]*[A-Za-z0-9+/_-]{4,})*={0,2}")
_ONLY_HEX = re.compile(rb"[0-9a-fA-F]*")
_HEX_RUN = re.compile(rb"(?:[0-9a-fA-F]{2}(?::|\\x| )?){16,}")
_PERCENT = re.compile(rb"%[0-9A-Fa-f]{2}")
_URL_CHARS = re.compile(rb"[A-Za-z0-9%+/=_.~!*'()-]*")  # a run is grown from each %XX, never backtracked
_URL_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789%+/=_.~!*'()-")
MAX_URL_RUN = 1 << 20
# a JSON string of 8 or more characters; a quote whose body runs on unclosed takes that body (the
# search goes on after it: every quote inside was escaped, a string opened there ends unclosed too),
# so the search never restarts inside a body already read (linear: rt17's `"` then `\"` repeated)
_JSON_STRING = re.compile(rb'"(?:((?:[^"\\\x00-\x1f]|\\.){8,}+)"|(?:[^"\\\x00-\x1f]|\\.)*+(?!"))')
_UTF16LE = re.compile(rb"(?:[\x09\x0a\x0d\x20-\x7e]\x00){%d,}" % MIN_UTF16)
_UTF16BE = re.compile(rb"(?:\x00[\x09\x0a\x0d\x20-\x7e]){%d,}" % MIN_UTF16)
_UTF16LE_ANY = re.compile(rb"(?:[\x00-\xff]\x00){%d,}" % MIN_UTF16)  # binary written as UTF-16 (small views)
_UTF16BE_ANY = re.compile(rb"(?:\x00[\x00-\xff]){%d,}" % MIN_UTF16)
_KTY = re.compile(rb'"kty"')
_JSON_LITERAL = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # a string literal, in valid JSON
_JSON_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[{}]', re.DOTALL)  # a string literal or a brace
_JSON_COLON = re.compile(rb"[ \t\r\n]*:")
_EMBEDDED_STREAM = re.compile(rb"\x1f\x8b\x08|\x28\xb5\x2f\xfd|\xfd7zXZ\x00|BZh[1-9]1AY&SY|\x04\x22\x4d\x18")


@dataclass(frozen=True)
class RecheckFinding:
    """What the independent reader found: `kind` (pem, der, openssh, jwk, known-key), the view
    it was found in (the chain of layers from the raw bytes) and the key (type or kid)."""

    kind: str
    view: str
    key: str
    span: tuple[int, int] | None = None  # the raw bytes that encode it in the plain artifact, when exact

    def describe(self) -> str:
        return f"{self.kind} {self.key} in {self.view}"


@dataclass
class Budget:
    """Bounds of one recheck: decoded views, decoded bytes, nesting depth, window checks."""

    max_views: int = 200_000
    max_decoded_bytes: int = 1 << 30
    max_depth: int = 12
    max_checks: int = 400_000  # cheap window checks (RSA divisions, AES hashes)
    max_curve_checks: int = 40_000  # EC / Ed25519 scalar multiplications
    max_kdf_iterations: int = 20_000_000  # password-based key derivations (PKCS#12 files opened)
    max_modexps: int = MIN_MODEXPS  # printed RSA keys' checks of d (recheck_keytext.py), in 2048-bit units
    max_derivations: int = MIN_DERIVATIONS  # printed EC keys' public keys derived (recheck_keytext.py)
    views: int = 0
    decoded_bytes: int = 0
    checks: int = 0
    curve_checks: int = 0
    kdf_iterations: int = 0
    modexps: int = 0
    derivations: int = 0

    @classmethod
    def for_size(cls, size: int) -> Budget:
        """The default budget grown with the artifact: a core holds more runs that look encoded
        the larger it is (a 22 MB drill core needs about 44,000 scalar checks), so the window
        checks get 10,000 and the scalar checks 1,000 more per MiB (a finding is still a finding,
        and running out is still incomplete: refused). rt16: a printed form of random bytes (`od -b`
        of a 670 KB file, gdb `x/8xb` rows) decodes to one random view of a quarter to a ninth of
        its size, every 8th window of it a scalar check: the scalar checks grow by one per
        `PRINTED_CHECK_BYTES` of the artifact too, up to `MAX_PRINTED_CHECKS` (an artifact of 8 MiB:
        about 15 s of CPU at most). rt18: a file of short base64 values (a JSON list of 62,000
        SHA-256 digests, a log of 60,000 43-character ids) is four views a value (one per
        alignment): the views grow by one per `VIEW_BYTES` of the artifact past `MIN_VIEWS` (each a
        small view: about 0.15 ms of CPU)."""
        mib = size >> 20
        printed = min(MAX_PRINTED_CHECKS, size // PRINTED_CHECK_BYTES)
        return cls(max_views=max(MIN_VIEWS, size // VIEW_BYTES), max_checks=400_000 + 10_000 * mib,
                   max_curve_checks=40_000 + max(1_000 * mib, printed),
                   max_modexps=MIN_MODEXPS + size // MODEXP_BYTES,
                   max_derivations=MIN_DERIVATIONS + size // DERIVATION_BYTES)


@dataclass
class RecheckReport:
    findings: list[RecheckFinding] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)
    views: int = 0

    @property
    def clean(self) -> bool:
        return not self.findings and not self.incomplete

    def summary(self) -> str:
        if self.findings:
            return f"{len(self.findings)} finding(s), first {self.findings[0].describe()}"
        if self.incomplete:
            return "incomplete: " + "; ".join(self.incomplete[:3])
        return "clean"


class _Exhausted(Exception):
    pass


class _Reader:
    def __init__(self, known: KnownKeys, budget: Budget) -> None:
        self.known = known
        self.budget = budget
        self.report = RecheckReport()
        self.seen: set[bytes] = set()
        # the findings the first reading of a view made, by its digest: each finding's kind, its view
        # below that view's name, its key; a later raw copy of the same content is not read again,
        # its findings are made again at that copy's span (so every copy is redacted)
        self.memo: dict[bytes, list[tuple[str, str, str]]] = {}
        self.recording: list[list[tuple[str, str, str]]] = []  # the memo lists of the views being read now
        # views read without the window search (so far), by digest: each copy read so far, as its
        # name, the raw span it was decoded from, and whether it sat inside another view's reading
        self.windowless: dict[bytes, list[tuple[str, tuple[int, int] | None, bool]]] = {}
        self.ec_keys = [(k.kid, k.ec_curve, k.ec_point) for k in known.of_kind("ec")]
        self.ed_keys = {k.raw_public: k.kid for k in known.of_kind("ed25519")}
        self.rsa_keys = [(k.kid, k.rsa_n) for k in known.of_kind("rsa")]
        self.rsa_publics = [(k.kid, k.rsa_n, k.rsa_e) for k in known.of_kind("rsa")]  # recheck_numbers' d/dp/dq
        self.integer_checks = 0  # recheck_numbers' RSA exponent checks so far (bounded)
        self.layout_tests = 0  # recheck_layouts' Python int candidates so far (bounded)
        self.pair_checks = 0  # recheck_edpairs' Ed25519 derivations so far (bounded)
        self.layout_tables: dict[int, Any] = {}  # recheck_layouts' count words by digit size (built once)
        self.secret_ids = set(known.secret_ids)
        self.anchor = 0  # the depth of the plain artifact: 0, or 1 below one compressed stream
        self.span: tuple[int, int] | None = None  # the anchor-level run being decoded now
        self.depth = 0

    # ---- bookkeeping
    def found(self, kind: str, view: str, key: str, here: tuple[int, int] | None = None) -> None:
        """`here`: where in the current view; it is a raw span only in the plain artifact itself."""
        span = self.span if self.depth > self.anchor else here if self.depth == self.anchor else None
        if len(self.report.findings) >= MAX_FINDINGS:
            return  # the report is full: no later copy can add to it either (the memo stays bounded)
        self.report.findings.append(RecheckFinding(kind, view, key, span))
        for memo in self.recording:
            memo.append((kind, view, key))

    def incomplete(self, why: str) -> None:
        if len(self.report.incomplete) < 100:
            self.report.incomplete.append(why)

    def child(self, data: bytes, name: str, depth: int, windows: bool = True) -> None:
        """Read one decoded view (once per distinct content: a later copy of the same content makes
        the findings of the first again, at its own span)."""
        if len(data) < 8:
            return
        digest = hashlib.blake2b(data, digest_size=16).digest()
        if digest in self.seen:
            self.again(digest, name, depth)
            if digest in self.windowless:
                if not windows or len(data) > WINDOW_VIEW_BYTES:
                    self.windowless[digest].append(self.copy_here(name, depth))
                else:  # read before without the window search: it runs now, for every copy
                    self.late_windows(data, digest, name, depth)
            return
        self.seen.add(digest)
        if not windows:
            self.windowless[digest] = [self.copy_here(name, depth)]
        budget = self.budget
        budget.views += 1
        budget.decoded_bytes += len(data)
        if budget.views > budget.max_views or budget.decoded_bytes > budget.max_decoded_bytes:
            raise _Exhausted(f"more than {budget.max_views} views or {budget.max_decoded_bytes} decoded bytes")
        if depth > budget.max_depth:
            raise _Exhausted(f"layers nested deeper than {budget.max_depth} at {name}")
        with self.recording_to(digest, name):
            self.view(data, name, depth, windows)

    def copy_here(self, name: str, depth: int) -> tuple[str, tuple[int, int] | None, bool]:
        """Where a copy of a view read without the window search sits: its name, its raw span,
        whether another view's reading holds it (a copy of that view elsewhere would not know)."""
        return name, (self.span if depth > self.anchor else None), bool(self.recording)

    def late_windows(self, data: bytes, digest: bytes, name: str, depth: int) -> None:
        """The window search over a view whose earlier copies were read without it (a base64 run
        that did not look encoded, then the same bytes as hex): what it finds is a finding here
        and at every earlier copy's span; a copy inside another view's reading, or without a span,
        gets a finding without one (the artifact is refused: that view's other copies were
        already passed)."""
        earlier = self.windowless.pop(digest)
        before = len(self.report.findings)
        with self.recording_to(digest, name), self.at(depth):
            self.windows(data, name)
        for finding in self.report.findings[before:]:
            below = finding.view[len(name):] if finding.view.startswith(name) else ""
            for copy_name, span, nested in earlier:
                if len(self.report.findings) >= MAX_FINDINGS:
                    return
                self.report.findings.append(RecheckFinding(
                    finding.kind, copy_name + below, finding.key, None if nested else span))

    @contextmanager
    def recording_to(self, digest: bytes, name: str) -> Iterator[None]:
        """What is found inside (a reading of the view `digest`, named `name`) goes to its memo."""
        memo: list[tuple[str, str, str]] = []
        self.recording.append(memo)
        try:
            yield
        finally:
            self.recording.pop()
        if memo:
            self.memo.setdefault(digest, []).extend(
                (kind, view[len(name):] if view.startswith(name) else "", key) for kind, view, key in memo)

    def again(self, digest: bytes, name: str, depth: int) -> None:
        """Content read before (another raw copy, or the same bytes reached through another
        layer): each finding its first reading made is made again here, at this view's depth (so
        at the span of the run being decoded now), named by this view."""
        memo = self.memo.get(digest)
        if memo is None:
            return  # nothing was found in it (or it is an ancestor being read now)
        with self.at(depth):
            for kind, view, key in memo:
                self.found(kind, name + view, key)

    @contextmanager
    def at(self, depth: int) -> Iterator[None]:
        """The depth of the view being read, for `found` to map spans."""
        outer = self.depth
        self.depth = depth
        try:
            yield
        finally:
            self.depth = outer

    # ---- one view: detectors, then every layer below it
    def view(self, data: bytes | mmap.mmap, name: str, depth: int, windows: bool = True) -> None:
        with self.at(depth):
            self.read_view(data, name, depth, windows)

    def decoding(self, depth: int, start: int, end: int) -> tuple[int, int] | None:
        """Enter a run at [start, end) of the current view: the span findings below it map to."""
        outer = self.span
        if depth == self.anchor:
            self.span = (start, end)
        return outer

    def read_view(self, data: bytes | mmap.mmap, name: str, depth: int, windows: bool = True) -> None:
        self.detect(data, name, windows)
        read_textforms(self, data, name)  # keys in other writers' forms (recheck_textforms.py)
        read_keytext(self, data, name)  # keys printed as labelled hex, `openssl pkey -text` (recheck_keytext.py)
        read_mojibake(self, data, name, depth)  # Latin-1 as UTF-8, literals with raw runes (recheck_mojibake.py)
        read_encodings(self, data, name, depth)  # cp1252, grouped integers, base58, Z85, yEnc (recheck_encodings.py)
        if self.container(data, name, depth):
            return
        if len(data) <= MAX_JSON_VIEW and self.json_document(data, name, depth):
            return
        read_records(self, data, name, depth)  # JSON log records' messages joined as printed (recheck_records.py)
        self.text_layers(data, name, depth)
        self.embedded_streams(data, name, depth)
        self.codec_views(data, name, depth)

    def container(self, data: bytes | mmap.mmap, name: str, depth: int) -> bool:
        """A view that IS a compressed stream or an archive: decode it (a failure is incomplete);
        the archive's own bytes were read as this view already."""
        head = bytes(data[:512])
        if (unread := unread_kind(head, name)) is not None:  # 7z, RAR, a .br member...: never read as raw
            self.incomplete(f"{name}: {unread}: a format this reader does not open")
            return True
        if named_brotli(name) or looks_brotli(data):  # no magic: a `.br`, or a whole brotli stream
            try:
                plain = unbrotli(data, self.room())
            except TooLarge as exc:
                raise _Exhausted(str(exc)) from None
            except Undecodable as exc:
                self.incomplete(f"{name}: a .br file: {exc}")
                return True
            if depth == 0:
                self.anchor = 1  # spans are offsets in the decompressed artifact
            self.child(plain, f"{name} > brotli", depth + 1)
            return True
        codec = _codec_of(head)
        if codec is not None:
            try:
                plain, _ = _decompress(codec, data, self.room())
            except _Exhausted:
                raise
            except Exception as exc:
                if printed_view(name):  # rt16: a base58/Z85 run decoding to a magic number by chance
                    return False
                self.incomplete(f"{name}: {codec} stream does not decode to its end ({type(exc).__name__})")
                return True
            if depth == 0:
                self.anchor = 1  # spans are offsets in the decompressed artifact
            self.child(plain, f"{name} > {codec}", depth + 1)
            return True
        if len(head) >= 262 and head[257:262] == b"ustar":
            self.tar(data, name, depth)
            return True
        if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
            self.zip(data, name, depth)
            return True
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            try:
                text = bytes(data).decode("utf-16").encode("utf-8")
            except UnicodeDecodeError:
                return False  # the UTF-16 runs below still read what decodes
            outer = self.decoding(depth, 0, len(data))  # the whole view encodes it
            self.child(text, f"{name} > utf-16", depth + 1)
            self.span = outer
        elif (text16 := utf16le_text(data)) is not None:  # rt16: no BOM (recheck_utf16text.py)
            outer = self.decoding(depth, 0, len(data))
            self.child(text16, f"{name} > utf-16le text", depth + 1)
            self.span = outer
        else:  # rt17: UTF-16LE cp1252 text after another script's or appended to UTF-8 (recheck_utf16text.py)
            # in an image (a 16 MB core: hundreds of spots look like cp1252 in UTF-16LE, and their
            # 16 KiB views spent 558,000 window checks) the recognisers run on them, not the window search
            windows = len(data) <= WINDOW_VIEW_BYTES
            for span, codec, text in cp1252_windows(data):  # rt18: UTF-16BE too
                outer = self.decoding(depth, *span)
                self.child(text, f"{name} > {codec} near cp1252@{span[0]}", depth + 1, windows)
                self.span = outer
        return False

    def room(self) -> int:
        return max(0, self.budget.max_decoded_bytes - self.budget.decoded_bytes)

    def tar(self, data: bytes | mmap.mmap, name: str, depth: int) -> None:
        try:
            with tarfile.open(fileobj=io.BytesIO(bytes(data)), mode="r:") as archive:
                for member in archive:
                    if not member.isfile():
                        continue
                    if member.size > self.room():
                        raise _Exhausted(f"{name}!{member.name}: member larger than the decode budget")
                    handle = archive.extractfile(member)
                    if handle is None:
                        self.incomplete(f"{name}!{member.name!r}: member not readable")
                        continue
                    content = handle.read()
                    if len(content) != member.size:
                        self.incomplete(f"{name}!{member.name!r}: member truncated")
                    outer = self.decoding(depth, member.offset_data, member.offset_data + member.size)
                    self.child(content, f"{name}!{member.name}", depth + 1)
                    self.span = outer
                    headers = bytes(data[member.offset:member.offset_data])  # its own pax headers (not global ones)
                    for key, value in member.pax_headers.items():
                        record = (key + "=" + value).encode("utf-8", "surrogateescape")
                        if record in headers:
                            self.decoding(depth, member.offset, member.offset_data)
                        self.child(record, f"{name}!{member.name} pax", depth + 1)
                        self.span = outer
        except _Exhausted:
            raise
        except Exception as exc:
            self.incomplete(f"{name}: tar archive does not read to its end ({type(exc).__name__}: {exc})")

    def zip(self, data: bytes | mmap.mmap, name: str, depth: int) -> None:
        try:
            with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
                if archive.comment:
                    where = _zip_comment_span(data, archive.comment)
                    outer = self.decoding(depth, *where) if where is not None else self.span
                    self.child(archive.comment, f"{name} comment", depth + 1)
                    self.span = outer
                for info in archive.infolist():
                    if info.is_dir():
                        continue
                    if info.flag_bits & 0x1:
                        self.incomplete(f"{name}!{info.filename!r}: encrypted member")
                        continue
                    if info.extra:
                        self.child(info.extra, f"{name}!{info.filename} extra", depth + 1)
                    with archive.open(info) as handle:
                        content = handle.read(self.room() + 1)
                    if len(content) > self.room():
                        raise _Exhausted(f"{name}!{info.filename}: member larger than the decode budget")
                    outer = self.decoding(depth, *_zip_member_span(data, info))
                    self.child(content, f"{name}!{info.filename}", depth + 1)
                    self.span = outer
        except _Exhausted:
            raise
        except Exception as exc:
            self.incomplete(f"{name}: zip archive does not read ({type(exc).__name__}: {exc})")

    def json_document(self, data: bytes | mmap.mmap, name: str, depth: int) -> bool:
        """A view that parses as JSON: every string (keys too) is a view of its own; JWKs are
        checked where they are. False when the view is not JSON."""
        start = bytes(data[:64]).lstrip()
        if not start.startswith((b"{", b"[", b'"')):
            return False
        raw = bytes(data)
        try:
            document = json.loads(raw)
        except (ValueError, RecursionError):
            return False
        if json.detect_encoding(raw) == "utf-8":
            self.json_literals(raw, name, depth)
            read_numbers(self, raw, name, depth)  # a key's numbers as JSON integers, at their raw spans
            read_wordlists(self, raw, name, depth)  # arrays of 2/4/8-byte words (recheck_wordlists.py)
        else:  # UTF-16 or UTF-32 JSON: its strings, without their raw spans
            for value in _strings_and_jwks(document, self):
                self.string(value, f"{name} > json", depth)
        self.joined_pieces(document, name, depth)
        read_records(self, raw, name, depth, document)  # a list of log records (recheck_records.py)
        return True

    def json_literals(self, raw: bytes, name: str, depth: int) -> None:
        """Every string literal of a UTF-8 JSON document (keys too, and members a later duplicate
        overrides) as a view, at its raw span; then every object with a "kty" member as a JWK, at
        its raw span. In valid JSON a quote outside a string always opens one, so one
        left-to-right pass over literals finds them all."""
        kty: set[int] = set()  # where each "kty" literal ends
        for match in _JSON_LITERAL.finditer(raw):
            token = match.group(0)
            if len(token) < 10 and b"\\" not in token:  # shorter than a view (8 bytes)
                if token == b'"kty"':
                    kty.add(match.end())
                continue
            text = _json_string(token)
            if text == "kty":  # (written with escapes)
                kty.add(match.end())
            outer = self.decoding(depth, match.start(), match.end())
            self.string(text, f"{name} > json", depth)
            self.span = outer
        if kty:
            self.json_jwks(raw, name, kty)

    def json_jwks(self, raw: bytes, name: str, kty: set[int]) -> None:
        """Each object of a UTF-8 JSON document with a "kty" member (its literal ends at one of
        `kty`) checked as a JWK, at the object's raw span (braces matched outside strings)."""
        objects: list[tuple[int, bool]] = []  # the objects open here: start, whether a member is "kty"
        for match in _JSON_TOKEN.finditer(raw):
            token = match.group(0)
            if token == b"{":
                objects.append((match.start(), False))
            elif token == b"}":
                opening, is_jwk = objects.pop() if objects else (0, False)
                if is_jwk:
                    try:
                        value = json.loads(raw[opening:match.end()])
                    except (ValueError, RecursionError):
                        continue
                    self.jwk(value, name, (opening, match.end()))
            elif match.end() in kty and objects and _JSON_COLON.match(raw, match.end()):
                objects[-1] = (objects[-1][0], True)  # a member name, not a value

    def joined_pieces(self, document: Any, name: str, depth: int) -> None:
        """Short base64 pieces of one JSON document joined (recheck_codecs.joined_pieces): a key
        split over websocket frames, HAR entries, array elements or two members is read whole.
        Pieces are not one run of the plain artifact: what is found in them maps to no raw span
        there (the artifact is refused, not redacted)."""
        for joined in joined_pieces(document):
            self.child(joined, f"{name} > joined pieces", depth + 1)

    def string(self, value: str, name: str, depth: int) -> None:
        """One decoded JSON string: as UTF-8 and, where every code point fits, as Latin-1 bytes
        (binary written through \\u00XX escapes)."""
        encoded = value.encode("utf-8", "surrogatepass")
        self.child(encoded, name, depth + 1)
        if not value.isascii():
            try:
                self.child(value.encode("latin-1"), name + " latin-1", depth + 1)
            except UnicodeEncodeError:
                pass

    def text_layers(self, data: bytes | mmap.mmap, name: str, depth: int) -> None:
        """Runs that look encoded, in any view (a text, a core, a decoded string)."""
        for match in zeros.finditer(_BASE64_RUN, data):
            run = re.sub(rb"\\r\\n|\\n|\r|\n|[ \t]", b"", match.group(0))
            if len(run) < MIN_BASE64 or _ONLY_HEX.fullmatch(run.replace(b"0x", b"")):
                continue  # too short for a key, or a hex run (read as hex below)
            outer = self.decoding(depth, match.start(), match.end())
            # in an image (a core: thousands of identifiers look like base64) the window search
            # runs on what decodes from runs that look like encoded binary; the recognisers on all
            windows = len(data) <= WINDOW_VIEW_BYTES or _looks_encoded(run)
            for decoded in _base64_readings(run):
                self.child(decoded, f"{name} > base64", depth + 1, windows)
                for codec, plain in _inflate(decoded, self.room()):
                    self.child(plain, f"{name} > base64 > {codec}", depth + 2)
            self.span = outer
        for match in zeros.finditer(_HEX_RUN, data):
            digits = re.sub(rb"[^0-9a-fA-F]|(?<=\\)x", b"", match.group(0).replace(b"\\x", b""))
            if len(digits) >= MIN_HEX:
                outer = self.decoding(depth, match.start(), match.end())
                self.child(binascii.unhexlify(digits[: len(digits) // 2 * 2]), f"{name} > hex", depth + 1)
                if len(digits) % 2 == 0 and len(digits) > 2:
                    self.child(binascii.unhexlify(digits[1:-1]), f"{name} > hex+1", depth + 1)
                self.span = outer
        for match in zeros.finditer(_PREFIXED_LINES, data):
            # four or more lines behind one prefix (a log's `issuer-1  | `, `[pod/c] `, a syslog
            # head, a quote's `> `, a comment's `# `): the lines without it, read as a view
            prefix = match.group(1)
            lines = match.group(0).split(b"\n")
            outer = self.decoding(depth, match.start(), match.end())
            self.child(b"\n".join(line[len(prefix):] for line in lines),
                       f"{name} > lines after {len(prefix)}-byte prefix", depth + 1)
            self.span = outer
        for start, end in _percent_runs(data):
            run = bytes(data[start:end])
            outer = self.decoding(depth, start, end)
            for plus in (False, True):
                decoded = _unquote(run, plus)
                if decoded != run:
                    self.child(decoded, f"{name} > percent", depth + 1)
            self.span = outer
        if len(data) <= MAX_JSON_VIEW:
            for match in zeros.finditer(_JSON_STRING, data):
                literal = match.group(0)
                if match.group(1) is None or b"\\" not in literal:
                    continue  # a body left unclosed, or no escape
                try:
                    value = json.loads(literal)
                except ValueError:
                    continue
                if isinstance(value, str):
                    outer = self.decoding(depth, match.start(), match.end())
                    self.string(value, f"{name} > json-string", depth)
                    self.span = outer
        small = len(data) <= WINDOW_VIEW_BYTES  # any code point below 256 there; printable ones in images
        for pattern, codec in (((_UTF16LE_ANY if small else _UTF16LE), "utf-16-le"),
                               ((_UTF16BE_ANY if small else _UTF16BE), "utf-16-be")):
            for match in zeros.finditer(pattern, data):
                decoded = match.group(0).decode(codec).encode("latin-1")
                if len(decoded) - decoded.count(0) < MIN_UTF16:
                    continue  # zeros, not text
                outer = self.decoding(depth, match.start(), match.end())
                self.child(decoded, f"{name} > {codec}", depth + 1)
                self.span = outer
        read_numbers(self, data, name, depth)  # keys printed as numbers (recheck_numbers.py)
        read_values(self, data, name, depth)  # value sequences, joined escapes (recheck_values.py)
        read_words(self, data, name, depth)  # rows of multi-byte words in any base (recheck_words.py)
        read_typed(self, data, name, depth)  # od rows of several types, touching cells (recheck_typedrows.py)
        read_wordlists(self, data, name, depth)  # lists of 2/4/8-byte words (recheck_wordlists.py)

    def embedded_streams(self, data: bytes | mmap.mmap, name: str, depth: int) -> None:
        """Compressed streams that start inside a view (not at its start): read where they decode
        (a magic number in a core is often noise, so one that does not decode is not a refusal)."""
        spent, bound = 0, min(4 * len(data) + (16 << 20), 16 * len(data) + (2 << 20))  # rt14 F7: a shared tail
        for count, match in enumerate(zeros.finditer(_EMBEDDED_STREAM, data, 1)):
            if count >= 10_000:
                raise _Exhausted(f"{name}: more than 10,000 embedded stream headers")
            codec = _codec_of(bytes(data[match.start():match.start() + 10]))
            if codec is None:
                continue
            plain, used = _stream_prefix(codec, memoryview(data)[match.start():], min(self.room(), bound - spent))
            spent += len(plain)
            if not plain:
                continue
            outer = self.decoding(depth, match.start(), match.start() + used)
            self.child(plain, f"{name} > {codec}@{match.start()}", depth + 1)
            self.span = outer

    def codec_views(self, data: bytes | mmap.mmap, name: str, depth: int) -> None:
        """Streams without a magic number and text encodings (recheck_codecs.py): each decoded run
        is a view; a stream that IS the view and breaks after decoding is incomplete (inside a
        view, like the embedded streams above, what decoded is read and the rest is not refused)."""
        try:
            for run in decoded_views(data, self.room()):
                if run.broken is not None and run.start == 0:
                    self.incomplete(f"{name}: {run.broken}")
                outer = self.decoding(depth, run.start, run.end)
                self.child(run.plain, f"{name} > {run.codec}@{run.start}", depth + 1)
                self.span = outer
        except Oversized as exc:
            raise _Exhausted(str(exc)) from None
        try:  # HTTP messages written as text: a br/gzip/deflate body after its header block
            image = bytes(data[:4]) in (b"\x7fELF", b"MDMP")  # a core: a stale buffer may break off
            for body in http_bodies(data, self.room()):
                if body.broken is not None:
                    if not image:
                        self.incomplete(f"{name}: {body.broken}")
                    continue
                outer = self.decoding(depth, body.start, body.end)
                self.child(body.plain, f"{name} > http-{body.codec}@{body.start}", depth + 1)
                self.span = outer
        except TooLarge as exc:
            raise _Exhausted(str(exc)) from None

    # ---- the second detector path
    def detect(self, data: bytes | mmap.mmap, name: str, windows: bool = True) -> None:
        for match in zeros.finditer(_PEM, data):
            self.pem(match.group(0), match.group(1).decode(), name, (match.start(), match.end()))
        rsa_tries = [MAX_RSA_WORK]  # keys cut short after their secret (recheck_cutkeys.py): RSA work per view
        whole_end = 0  # a cut-short reading inside a whole key (PKCS#8's inner SEC1) is that key again
        for match in zeros.finditer(_DER, data):
            whole_end = max(whole_end, self.der(data, match.start(), name, rsa_tries, match.start() >= whole_end))
        for key, here in cut_heads(data, rsa_tries, _DER):  # heads `_DER` does not match: 30 84, 30 80, BER versions
            self.found("der", name, f"{type(key).__name__.lstrip('_')} cut short after its secret", here)
        for kind, what, here in keyfile_findings(data, self.known, self.budget):  # PKCS#12, ssh.com, PuTTY, keystores
            self.found(kind, name, what, here)
        cut: list[str] = []
        for kind, what, here in ber_file_findings(data, self.known, self.budget, cut):  # BER keys and PFX files
            self.found(kind, name, what, here)
        for why in cut:
            self.incomplete(f"{name}: {why}")
        position = data.find(_OPENSSH_MAGIC)
        while position >= 0:
            self.openssh_blob(data, position, name)
            position = data.find(_OPENSSH_MAGIC, position + 1)
        if len(data) <= MAX_JSON_VIEW:
            cap = 10_000 + len(data) // 1024
            for count, match in enumerate(zeros.finditer(_KTY, data)):
                if count >= cap:
                    raise _Exhausted(f"{name}: more than {cap} \"kty\" members")
                self.jwk_near(data, match.start(), name)
        for match in zeros.finditer(_VAULT_TOKEN, data):
            if _token_like(match.group(0).partition(b".")[2]):
                self.found("token", name, "OpenBao/Vault token", (match.start(), match.end()))
        if windows and len(data) <= WINDOW_VIEW_BYTES:
            self.windows(bytes(data), name)
        python_ints(self, data, name)  # CPython ints' 30-bit digits (recheck_layouts.py)
        lone_exponents(self, data, name)  # a known RSA key's d by itself (recheck_exponent.py)
        ed25519_pairs(self, data, name)  # 64-byte seed || own public key, no known key (recheck_edpairs.py)
        platform_keys(self, data, name)  # Windows key blobs, OpenPGP packets, gpg-agent keys (recheck_platform_keys.py)
        self_proving_numbers(self, data, name)  # keys printed as integers, proven by each other (recheck_selfproof.py)
        if len(data) > large.FROM_BYTES and self.depth > self.anchor:  # a layer only this reader decodes (any run)
            large.compiled_windows(self, bytes(data), name, WINDOW_VIEW_BYTES)

    def private_key(self, key: Any, kind: str, name: str, here: tuple[int, int] | None = None) -> None:
        match = self.known.match(key)
        label = f"{type(key).__name__.lstrip('_')}" + (f" (known kid {match.kid})" if match else "")
        self.found(kind, name, label, here)

    def pem(self, block: bytes, label: str, name: str, here: tuple[int, int] | None = None) -> None:
        try:
            if label == "OPENSSH PRIVATE KEY":
                key: Any = serialization.load_ssh_private_key(block, None)
            else:
                key = serialization.load_pem_private_key(block, None, unsafe_skip_rsa_key_validation=True)
        except TypeError:  # encrypted: a private key all the same, it cannot be proven harmless
            self.found("pem", name, f"encrypted {label}", here)
            return
        except Exception:
            # armour that does not load as written (lines prefixed by a log or a quote, joined by
            # markup): a private key all the same when a key's worth of base64 is inside
            inside = re.findall(rb"[A-Za-z0-9+/]", block[block.index(b"-----", 5) + 5:block.rindex(b"-----END")])
            if len(inside) >= 100 and len(set(inside)) >= 16:
                self.found("pem", name, f"{label} armour that does not load as written", here)
            return  # else text that only looks like a key (libcrypto's own strings, a header alone)
        self.private_key(key, "pem", name, here)

    def der(self, data: bytes | mmap.mmap, start: int, name: str, rsa_tries: list[int], cut: bool = True) -> int:
        """A DER private key at `start`, whole or (with `cut`) cut short after its secret
        (recheck_cutkeys.py); the whole key's end, or 0."""
        first = data[start + 1]
        if first < 0x80:
            length, header = first, 2
        else:
            width = first & 0x7F
            length, header = int.from_bytes(data[start + 2:start + 2 + width], "big"), 2 + width
        end = start + header + length
        key: Any = None
        if end <= len(data) and length <= MAX_PEM_BODY:
            try:
                key = serialization.load_der_private_key(bytes(data[start:end]), None,
                                                         unsafe_skip_rsa_key_validation=True)
            except Exception:
                key = None
            multiprime = read_multiprime(bytes(data[start:end])) if key is None else None  # recheck_multiprime.py
            if multiprime is not None:
                match = self.known.match(multiprime[1]) if multiprime[1] is not None else None
                self.found("der", name, multiprime[0] + (f" (known kid {match.kid})" if match else ""), (start, end))
                return end
        if key is not None:
            self.private_key(key, "der", name, (start, end))
            return end
        found = cut_der_key(data, start, rsa_tries) if cut else None
        if found is not None:
            self.found("der", name, f"{type(found[0]).__name__.lstrip('_')} cut short after its secret", found[1])
        return 0

    def openssh_blob(self, data: bytes | mmap.mmap, start: int, name: str) -> None:
        """The binary openssh-key-v1 structure (length-prefixed strings): framed exactly, then
        loaded through its PEM armour."""
        position = start + len(_OPENSSH_MAGIC)
        try:
            cipher = b""
            for index in range(3):  # ciphername, kdfname, kdfoptions
                size = struct.unpack(">I", data[position:position + 4])[0]
                if index == 0:
                    cipher = bytes(data[position + 4:position + 4 + size])
                position += 4 + size
            count = struct.unpack(">I", data[position:position + 4])[0]
            position += 4
            if not 0 < count <= 16:
                return
            for _ in range(count + 1):  # the public keys, then the private section
                size = struct.unpack(">I", data[position:position + 4])[0]
                position += 4 + size
            if position > len(data) or position - start > MAX_PEM_BODY:
                return
        except struct.error:
            return
        blob = bytes(data[start:position])
        armour = (b"-----BEGIN OPENSSH PRIVATE KEY-----\n" + base64.encodebytes(blob) +
                  b"-----END OPENSSH PRIVATE KEY-----\n")
        if cipher == b"none":
            self.pem(armour, "OPENSSH PRIVATE KEY", name, (start, position))
        else:
            self.found("openssh", name, f"encrypted OpenSSH key ({cipher.decode('ascii', 'replace')})",
                       (start, position))

    def jwk_near(self, data: bytes | mmap.mmap, kty: int, name: str) -> None:
        """A "kty" member in text that is not a JSON document: the object around it."""
        opening = data.rfind(b"{", max(0, kty - 4096), kty)
        if opening < 0:
            return
        text = bytes(data[opening:opening + MAX_PEM_BODY]).decode("utf-8", "surrogateescape")  # one character a byte
        try:  # where UTF-8 does not decode, so the object's end in bytes is exact
            value, end = json.JSONDecoder().raw_decode(text)
        except ValueError:
            return
        if isinstance(value, dict):
            self.jwk(value, name, (opening, opening + len(text[:end].encode("utf-8", "surrogateescape"))))

    def jwk(self, value: dict[str, Any], name: str, here: tuple[int, int] | None = None) -> None:
        kty = value.get("kty")
        if kty == "oct" and isinstance(value.get("k"), str):
            secret = _b64url(value["k"])
            if secret is not None and aes_key_id(secret) in self.secret_ids:
                self.found("jwk", name, f"oct key {aes_key_id(secret)} (known)", here)
            return
        if "d" not in value or kty not in ("RSA", "EC", "OKP"):
            return
        try:
            from joserfc.jwk import JWKRegistry

            key = JWKRegistry.import_key(value)
            private = key.private_key
        except Exception:
            self.found("jwk", name, f"{kty} JWK with a private member that does not load", here)  # fail closed
            return
        if private is None:
            return
        self.private_key(private, "jwk", name, here)

    def windows(self, data: bytes, name: str) -> None:
        """The known-key search over raw windows: RSA primes (both byte orders), EC scalars,
        Ed25519 seeds, AES keys."""
        size = len(data)
        if size < 16 or not (self.rsa_keys or self.ec_keys or self.ed_keys or self.secret_ids):
            return
        step = 1 if size <= EVERY_OFFSET_BYTES else 8
        budget = self.budget
        for kid, n in self.rsa_keys:
            width = (n.bit_length() // 2 + 7) // 8
            for offset in range(0, size - width + 1, step):
                window = data[offset:offset + width]
                for order in ("big", "little"):
                    top, low = (window[0], window[-1]) if order == "big" else (window[-1], window[0])
                    if top < 0x80 or not low & 1:
                        continue
                    budget.checks += 1
                    value = int.from_bytes(window, order)
                    if 1 < value < n and n % value == 0:
                        self.found("known-key", name, f"RSA prime of known kid {kid}", (offset, offset + width))
                        self.rsa_siblings(data, name, kid, n, value, (offset, offset + width))
                        return
            if budget.checks > budget.max_checks:
                raise _Exhausted(f"more than {budget.max_checks} window checks")
        if self.secret_ids and self.aes_windows(data, name, step):
            return
        if self.ec_keys or self.ed_keys:
            self.curve_windows(data, name, step)

    def aes_windows(self, data: bytes, name: str, step: int) -> bool:
        """Known AES keys (by `aes_key_id`) in the 16-, 24- and 32-byte windows at every `step`th
        offset; windows with few distinct bytes are no key. True once one is found (a finding);
        each width's checks count against the budget."""
        budget = self.budget
        for width in (16, 24, 32):
            for offset in range(0, len(data) - width + 1, step):
                window = data[offset:offset + width]
                if len(set(window)) < width // 2:
                    continue
                budget.checks += 1
                if aes_key_id(window) in self.secret_ids:
                    self.found("known-key", name, f"AES key {aes_key_id(window)}", (offset, offset + width))
                    return True
            if budget.checks > budget.max_checks:
                raise _Exhausted(f"more than {budget.max_checks} window checks")
        return False

    def rsa_siblings(self, data: bytes, name: str, kid: str, n: int, prime: int, at_window: tuple[int, int]) -> None:
        """Once a prime of a known key is found (at `at_window`), every other private value of that
        key (the other prime, d, dp, dq, qi, and other copies of the prime) is one too, wherever it is
        in the view, in either byte order: each copy a finding at its own span (redacting the prime
        alone left dp, which factors n)."""
        exponent = next((e for k, modulus, e in self.rsa_publics if k == kid and modulus == n), None)
        if exponent is None:
            return
        p, q = prime, n // prime
        d = rsa.rsa_recover_private_exponent(exponent, p, q)
        half, full = (n.bit_length() // 2 + 7) // 8, (n.bit_length() + 7) // 8
        values = [("RSA prime", q, half), ("RSA private exponent", d, full),
                  ("RSA CRT exponent", rsa.rsa_crt_dmp1(d, p), half),
                  ("RSA CRT exponent", rsa.rsa_crt_dmq1(d, q), half),
                  ("RSA CRT coefficient", rsa.rsa_crt_iqmp(p, q), half), ("RSA prime", p, half)]
        for what, value, width in values:
            for size in {width, (value.bit_length() + 7) // 8}:
                for order in ("big", "little"):
                    needle = value.to_bytes(size, order)
                    at = data.find(needle)
                    while at >= 0 and len(self.report.findings) < MAX_FINDINGS:
                        if (at, at + size) != at_window:  # the prime found there is a finding already
                            self.found("known-key", name, f"{what} of known kid {kid}", (at, at + size))
                        at = data.find(needle, at + 1)

    def curve_windows(self, data: bytes, name: str, step: int) -> None:
        """EC scalars (both byte orders) and Ed25519 seeds of the known keys in the windows at
        every `step`th offset that could be a random scalar: each such window one scalar check of
        the budget, their public keys derived a view's width at a time (`_curve_publics`)."""
        budget = self.budget
        widths = {(curve.key_size + 7) // 8 for _, curve, _ in self.ec_keys} | ({32} if self.ed_keys else set())
        for width in sorted(widths):
            offsets = [offset for offset in range(0, len(data) - width + 1, step)
                       if _scalar_like(data[offset:offset + width], width)]
            room = max(0, budget.max_curve_checks - budget.curve_checks)
            checked = offsets[:room]
            budget.curve_checks += len(checked)
            if self.curve_batch(data, width, checked, name):
                return
            if len(offsets) > room:  # (as the first window past the budget would have)
                budget.curve_checks += 1
                raise _Exhausted(f"more than {budget.max_curve_checks} scalar checks")

    def curve_batch(self, data: bytes, width: int, offsets: list[int], name: str) -> bool:
        """The windows of `width` bytes at `offsets` checked against every known key of that
        width, in order (per window: each EC key big- then little-endian, then Ed25519); the
        first match is a finding and ends the search (True)."""
        windows = [data[offset:offset + width] for offset in offsets]
        if not windows:
            return False
        checks: list[tuple[str, list[bytes], bytes]] = []  # label, publics, wanted
        derived: dict[str, tuple[list[bytes], list[bytes]]] = {}  # by curve: each key of it compares
        for kid, curve, point in self.ec_keys:
            if (curve.key_size + 7) // 8 != width:
                continue
            wanted = point[0].to_bytes(width, "big") + point[1].to_bytes(width, "big")
            if curve.name not in derived:
                derived[curve.name] = (_curve_publics(curve, windows),
                                       _curve_publics(curve, [window[::-1] for window in windows]))
            big, little = derived[curve.name]
            label = f"EC scalar of known kid {kid}"
            checks += [(label, big, wanted), (label, little, wanted)]
        ed: list[bytes] = _ed25519_publics(windows) if width == 32 and self.ed_keys else []
        for index, offset in enumerate(offsets):
            for label, publics, wanted in checks:
                if publics[index] == wanted:
                    self.found("known-key", name, label, (offset, offset + width))
                    return True
            if ed and ed[index] in self.ed_keys:
                self.found("known-key", name, f"Ed25519 seed of known kid {self.ed_keys[ed[index]]}",
                           (offset, offset + width))
                return True
        return False


_PRINTABLE = bytes(range(0x20, 0x7F))


def _scalar_like(window: bytes, width: int) -> bool:
    """A window that could be a random scalar: at least 5/8 of its bytes distinct and at least
    6 of them outside printable ASCII (a random scalar has ~30 distinct bytes of 32, most of them
    not printable)."""
    return len(set(window)) >= width * 5 // 8 and len(window.translate(None, _PRINTABLE)) >= 6


_AGREES: dict[str, bool] = {}  # whether the compiled derivation agreed with cryptography's, by curve


def _compiled_agrees(label: str, compiled: Any, reference: Any, width: int) -> bool:
    """The compiled derivation gives what cryptography gives on fixed scalars (checked once a
    process per curve): a compiled path that disagrees is not used (the reader stays on
    cryptography's)."""
    if label not in _AGREES:
        samples = [b"\0" + hashlib.shake_256(b"signward recheck %d" % i).digest(width - 1) for i in range(3)]
        try:
            _AGREES[label] = compiled(samples) == [reference(sample) for sample in samples]
        except Exception:  # noqa: BLE001 - a compiled path that fails is not used
            _AGREES[label] = False
    return _AGREES[label]


def _curve_publics(curve: ec.EllipticCurve, scalars: list[bytes]) -> list[bytes]:
    """Each big-endian scalar's public point as X || Y, b"" where it is no private key (0 or
    not below the order): libcrypto in one call where the compiled filters are built and agree
    with cryptography, else cryptography one scalar at a time."""
    width = (curve.key_size + 7) // 8

    def one(scalar: bytes) -> bytes:
        try:
            numbers = ec.derive_private_key(int.from_bytes(scalar, "big"), curve).public_key().public_numbers()
        except ValueError:
            return b""
        return numbers.x.to_bytes(width, "big") + numbers.y.to_bytes(width, "big")

    compiled, openssl = filters(), OPENSSL_CURVES.get(curve.name)
    if compiled is not None and openssl is not None:
        def batch(items: list[bytes]) -> list[bytes]:
            blob = compiled.ec_publics(openssl, b"".join(items), width)
            pieces = [blob[i:i + 2 * width] for i in range(0, len(blob), 2 * width)]
            return [b"" if piece == bytes(2 * width) else piece for piece in pieces]

        if _compiled_agrees(curve.name, batch, one, width):
            return batch(scalars)
    return [one(scalar) for scalar in scalars]


def _ed25519_publics(seeds: list[bytes]) -> list[bytes]:
    """Each 32-byte seed's Ed25519 public key: libsodium in one call where the compiled filters
    are built and agree with cryptography, else cryptography one seed at a time."""
    def one(seed: bytes) -> bytes:
        return ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()

    compiled = filters()
    if compiled is not None:
        def batch(items: list[bytes]) -> list[bytes]:
            blob = compiled.ed25519_publics(b"".join(items))
            return [blob[i:i + 32] for i in range(0, len(blob), 32)]

        if _compiled_agrees("ed25519", batch, one, 32):
            return batch(seeds)
    return [one(seed) for seed in seeds]


def _strings_and_jwks(document: Any, reader: _Reader) -> Iterator[str]:
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "kty" in item:
                reader.jwk(item, "json")
            for key, value in item.items():
                yield key
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            yield item


def _json_string(token: bytes) -> str:
    """The text of one JSON string literal (quotes included) of a valid UTF-8 document."""
    if b"\\" in token:
        text: str = json.loads(token.decode("utf-8", "surrogatepass"))
        return text
    return token[1:-1].decode("utf-8", "surrogatepass")


def _percent_runs(data: bytes | mmap.mmap) -> Iterator[tuple[int, int]]:
    """[start, end) of each run of URL characters holding a %XX escape (each run once)."""
    done = 0
    for escape in zeros.finditer(_PERCENT, data):
        if escape.start() < done:
            continue
        start = escape.start()
        while start > done and data[start - 1] in _URL_BYTES and escape.start() - start < MAX_URL_RUN:
            start -= 1
        grown = _URL_CHARS.match(data, escape.start(), min(len(data), escape.start() + MAX_URL_RUN))
        end = grown.end() if grown is not None else escape.end()
        done = end
        yield start, end


def _zip_member_span(data: bytes | mmap.mmap, info: zipfile.ZipInfo) -> tuple[int, int]:
    """[start, end) of a zip member's local header, name, extra field and (compressed) data: the
    raw bytes its content is read from."""
    start = info.header_offset
    names, extra = struct.unpack("<HH", data[start + 26:start + 30])  # as zipfile read them to open it
    return start, start + 30 + names + extra + info.compress_size


def _zip_comment_span(data: bytes | mmap.mmap, comment: bytes) -> tuple[int, int] | None:
    """[start, end) of the archive comment after the end-of-central-directory record, found as
    zipfile finds it (the last record in the last 64 KiB whose length field and bytes match)."""
    tail = bytes(data[-(len(comment) + 22 + (1 << 16)):])
    at = tail.rfind(b"PK\x05\x06")
    while at >= 0:
        if (tail[at + 20:at + 22] == len(comment).to_bytes(2, "little")
                and tail[at + 22:at + 22 + len(comment)] == comment):
            start = len(data) - len(tail) + at + 22
            return start, start + len(comment)
        at = tail.rfind(b"PK\x05\x06", 0, at)
    return None


_UPPER, _LOWER, _DIGITS = bytes(range(65, 91)), bytes(range(97, 123)), b"0123456789"
_CLASS_RUN = re.compile(rb"[A-Z]+|[a-z]+|[0-9]+|[^A-Za-z0-9]+")
_TWO_CAPITALS = re.compile(rb"[A-Z]{2}")


def _token_like(body: bytes) -> bool:
    """An OpenBao/Vault token's body that is random, not an identifier or words (the scanner's
    rule, written apart): at least 2 capitals and 2 small letters; a digit, or else a pair of
    capitals and a class run every third character (runs - 1 changes, changes * 3 >= length)."""
    size = len(body)
    if size - len(body.translate(None, _UPPER)) < 2 or size - len(body.translate(None, _LOWER)) < 2:
        return False
    if len(body.translate(None, _DIGITS)) < size:
        return True
    return _TWO_CAPITALS.search(body) is not None and (len(_CLASS_RUN.findall(body)) - 1) * 3 >= size


LOOKS_WINDOWS = (24, 44)  # base64 of a 16-byte and of a 32-byte secret, judged wherever they sit in a run


def _looks_encoded(run: bytes) -> bool:
    """Base64 of random bytes somewhere in the run, judged on the whole run and on every 24- and
    44-character window of it at a 2-character stride (a key joined behind an identifier or words
    is judged on its own characters, not drowned by theirs): both letter cases (one character in
    eight each) and a digit. Identifiers and words mostly do not pass; how often a random secret
    fails is measured in the tests (a looser rule, a class change every third character instead of
    a digit, windowed a quarter more of a core's runs and ran past the scalar-check budget)."""
    if _mixed(run):
        return True
    size = len(run)
    if size - len(run.translate(None, _UPPER)) < 3 or size - len(run.translate(None, _LOWER)) < 3:
        return False  # no 24-character window of it can pass either
    for width in LOOKS_WINDOWS:
        for start in range(0, len(run) - width + 2, 2):
            if _mixed(run[start:start + width]):
                return True
    return False


def _mixed(text: bytes) -> bool:
    size = len(text)
    if (size - len(text.translate(None, _UPPER))) * 8 < size or (size - len(text.translate(None, _LOWER))) * 8 < size:
        return False
    return size - len(text.translate(None, _DIGITS)) >= 1


def _b64url(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


def _base64_readings(run: bytes) -> list[bytes]:
    """The run read as base64 (or base64url where it uses those characters) from each of its
    first four characters: other text that joined it in front (an identifier, filler bytes in a
    core that happen to be base64 characters) can be of any length, so every alignment is read."""
    body = run.rstrip(b"=")
    alphabets = [b"-_"] if re.search(rb"[-_]", body) and not re.search(rb"[+/]", body) else [b"+/", b"-_"] \
        if re.search(rb"[-_]", body) else [b"+/"]
    readings: list[bytes] = []
    for shift in range(4):
        part = body[shift:]
        if len(part) % 4 == 1:
            part = part[:-1]
        for altchars in alphabets:
            try:
                readings.append(base64.b64decode(part + b"=" * (-len(part) % 4), altchars=altchars))
            except (binascii.Error, ValueError):
                continue
    return readings


def _unquote(run: bytes, plus: bool) -> bytes:
    from urllib.parse import unquote_to_bytes

    return unquote_to_bytes(run.replace(b"+", b" ") if plus else run)


def _codec_of(head: bytes) -> str | None:
    if head.startswith(b"\x1f\x8b\x08") and len(head) > 3 and not head[3] & 0xE0:
        return "gzip"  # deflate (the only method) and no reserved flag: what every gzip reader takes
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return "zstd"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if head.startswith(b"BZh") and head[4:10] == b"1AY&SY":
        return "bz2"
    if head.startswith(b"\x04\x22\x4d\x18"):
        return "lz4"
    return None


def _decompress(codec: str, data: bytes | mmap.mmap, limit: int, partial: bool = False) -> tuple[bytes, int]:
    """The whole stream decoded, at most `limit` bytes (more: _Exhausted), and the number of bytes
    of `data` it took (its raw extent); a stream that does not end properly raises. `partial` allows
    bytes after the stream's end (a stream inside a view)."""
    raw = memoryview(data)
    out = io.BytesIO()
    rest = b""  # what follows the stream

    def put(block: bytes) -> None:
        out.write(block)
        if out.tell() > limit:
            raise _Exhausted(f"a {codec} stream expands past the decode budget")

    if codec == "gzip":
        rest = bytes(raw)
        while rest:
            engine = zlib.decompressobj(31)
            put(engine.decompress(rest, limit + 1 - out.tell()))
            while engine.unconsumed_tail:
                put(engine.decompress(engine.unconsumed_tail, limit + 1 - out.tell()))
            if not engine.eof:
                raise EOFError("gzip stream ends early")
            rest = engine.unused_data
            if partial or not rest.strip(b"\x00"):
                break
    elif codec == "zstd":
        reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(bytes(raw)), read_across_frames=True,
                                                            closefd=False)
        while block := reader.read(1 << 20):
            put(block)
        # a frame cut short reads as fewer bytes, not an error: check that the last frame ended
        _check_zstd_complete(bytes(raw), partial)  # (frames read across to the end, or the read fails)
    elif codec in ("xz", "bz2", "lz4"):
        rest = bytes(raw)
        while True:  # streams one after the other are one file (pbzip2, lbzip2, appended .xz, lz4 frames)
            stream: Any = lzma.LZMADecompressor() if codec == "xz" else bz2.BZ2Decompressor() if codec == "bz2" \
                else lz4.frame.LZ4FrameDecompressor()
            put(stream.decompress(rest, limit + 1 - out.tell()))
            if not stream.eof:
                raise EOFError(f"{codec} stream ends early")
            rest = stream.unused_data or b""  # (lz4: None when nothing follows)
            if partial or not rest.strip(b"\x00"):
                break
    return out.getvalue(), len(raw) - len(rest)


_PREFIX_PIECE = {"zstd": 64}  # zstd's decompressobj takes no output bound: 64 bytes expand to 2 MiB at most


def _stream_prefix(codec: str, raw: memoryview, limit: int) -> tuple[bytes, int]:
    """A stream whose magic starts inside a view: its first member or frame decoded as far as it
    decodes (to its end, or to where it breaks or the view ends: a truncated stream still holds its
    head), at most `limit` bytes (more: _Exhausted), and the raw bytes it took. Fed in small pieces,
    so a stream that breaks gives what it decoded before the break, and a bomb is bounded."""
    engine: Any = (zstandard.ZstdDecompressor().decompressobj() if codec == "zstd"
                   else zlib.decompressobj(31) if codec == "gzip" else lzma.LZMADecompressor() if codec == "xz"
                   else bz2.BZ2Decompressor() if codec == "bz2" else lz4.frame.LZ4FrameDecompressor())
    piece, out, fed = _PREFIX_PIECE.get(codec, 4096), bytearray(), 0
    try:
        while fed < len(raw) and not engine.eof:
            block, fed = bytes(raw[fed:fed + piece]), fed + piece
            if codec in ("zstd", "gzip"):  # (deflate expands 1032x at most: 4 MiB a piece)
                out += engine.decompress(block)
            else:
                out += engine.decompress(block, limit + 1 - len(out))
                while not engine.eof and not engine.needs_input and len(out) <= limit:
                    out += engine.decompress(b"", limit + 1 - len(out))
            if len(out) > limit:
                raise _Exhausted(f"a {codec} stream expands past the decode budget")
    except (zlib.error, lzma.LZMAError, OSError, EOFError, RuntimeError, ValueError, zstandard.ZstdError):
        pass  # it breaks here: what decoded before is read
    fed = min(fed, len(raw))
    rest = len(engine.unused_data or b"") if engine.eof else 0
    return bytes(out), max(fed - rest, 1)


def _check_zstd_complete(raw: bytes, partial: bool) -> None:
    """Every zstd frame in `raw` ends (a truncated .zst otherwise reads as a shorter file)."""
    rest = raw
    while rest:
        engine = zstandard.ZstdDecompressor().decompressobj()
        while True:
            engine.decompress(rest[:1 << 20])
            rest = rest[1 << 20:]
            if engine.eof:
                rest = engine.unused_data + rest
                break
            if not rest:
                raise EOFError("zstd frame ends early")
        if partial or not rest.strip(b"\x00"):
            return


def _inflate(data: bytes, limit: int) -> list[tuple[str, bytes]]:
    """A base64 body that is a gzip, zlib or raw deflate stream (HTTP Content-Encoding)."""
    out: list[tuple[str, bytes]] = []
    for codec, bits in (("gzip", 31), ("zlib", 15), ("deflate", -15)):
        engine = zlib.decompressobj(bits)
        try:
            plain = engine.decompress(data, limit + 1)
        except zlib.error:
            continue
        if engine.eof and not engine.unconsumed_tail and len(plain) <= limit:
            out.append((codec, plain))
    return out


def recheck_bytes(data: bytes, known: KnownKeys | None = None, name: str = "bytes",
                  budget: Budget | None = None) -> RecheckReport:
    """Re-read `data` with the independent reader; findings and incomplete layers in the report."""
    reader = _Reader(known if known is not None else KnownKeys(), budget or Budget.for_size(len(data)))
    try:
        reader.view(data, name, 0)
    except (_Exhausted, Oversized) as exc:
        reader.incomplete(f"budget exhausted: {exc}")
    except RecursionError:
        reader.incomplete("nesting too deep to read")
    finally:
        zeros.forget()
    reader.report.views = reader.budget.views
    return reader.report


def recheck_path(path: str | Path, known: KnownKeys | None = None, budget: Budget | None = None, *,
                 name: str | None = None) -> RecheckReport:
    """Re-read the file at `path` (mapped, not loaded, when large) with the independent reader;
    its views are named from `name` (default: the file's name)."""
    with open(path, "rb") as handle:
        if handle.seek(0, 2) == 0:
            return RecheckReport()
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            reader = _Reader(known if known is not None else KnownKeys(), budget or Budget.for_size(len(mapped)))
            try:
                reader.view(mapped, Path(path).name if name is None else name, 0)
            except (_Exhausted, Oversized) as exc:
                reader.incomplete(f"budget exhausted: {exc}")
            except RecursionError:
                reader.incomplete("nesting too deep to read")
            finally:
                zeros.forget()
            reader.report.views = reader.budget.views
            return reader.report


__all__ = ["Budget", "RecheckFinding", "RecheckReport", "recheck_bytes", "recheck_path"]
