"""Sanitize a dump fail-closed: seal, scan, redact, rescan, prove, attest - or refuse.

1. Seal: IN is streamed (decompressed if needed) into a private copy (mode 0400 in a 0700
   directory beside OUT) while its sha256 is taken; IN is hashed again afterwards, and its
   inode, size and mtime are checked again before OUT is published. Any change: refuse
   `input_changed`. Everything after works on the sealed copy nobody else can write.
2. Scan the copy with every selected detector. A bounded pass cut short: `scan_incomplete`.
   Canaries (`--canary`): every representation must be found, else `canary_missed`.
   A finding inside dump structure that cannot be overwritten: `finding_in_metadata`.
3. Redact (and with `--minimize` blank writable anonymous memory) into a new file, compress
   it back into IN's container, fsync, then rescan that file with fresh instances of every
   selected detector and the
   canary keys: anything left is `residue` and nothing is published.
   Then the independent reader (`recheck.py`, none of the scanner's parsers) re-reads it: a key
   it finds is `recheck`, a layer it cannot read to its end `recheck_incomplete`.
4. Publish: rename into OUT under a lock, fsync the directory, write the signed attestation.

On refusal no new OUT exists, and an older OUT (with its attestation) at that path is
removed so no stale certified file sits where the caller expects the result.

Each step is one function, refusing with its own reason, and `sanitize` runs them in order:
`_identify`, `_seal_input` (input_changed), `_scan` (scan_incomplete), `_prove_canaries`
(canary_missed), `_redact` (finding_in_metadata), `_packed`, `_rescan` (residue,
scan_incomplete), `_reread` (recheck, recheck_incomplete, finding_in_metadata), `_certify`
(input_changed), `_write_out`; `_refused` is the one cleanup of every refusal.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import stat
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..clock import iso
from ..errors import DumpFormatError, DumpRefused, UsageError
from ..home import Home
from ..scan import detectors as registry
from ..scan import har
from ..scan.brotli_layer import container_of
from ..scan.bundles import OUTSIDE, bundle_kind, bundle_session, extracted, write_bundle
from ..scan.detectors import Detector
from ..scan.files import copy_bounded
from ..scan.findings import FileReport, Finding, count_by_detector, merge_spans
from ..scan.formats import Layout, decompressor, head_of, open_compressor, read_layout, refuse_unread
from ..scan.knownkeys import KnownKeys
from ..scan.log_records import redact_records
from ..scan.minimize import minimize_ranges
from ..scan.recheck import RecheckFinding, RecheckReport, recheck_path
from ..scan.redact import fill, redaction_ranges
from ..scan.scanner import Progress, plain_copy, scan_path, scan_plain
from ..scan.scratch import PRIVATE_PATH, Scratch, renamed
from .attestation import attestation_key, attestation_path, key_id, sha256_file, verify_attestation, write_attestation
from .canary import Canary
from .reasons import DumpReason


@dataclass
class SanitizeResult:
    input: str
    output: str
    status: str  # "clean" or "refused"
    reason: str | None = None
    detail: str = ""
    input_sha256: str = ""
    output_sha256: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    redacted_bytes: int = 0
    canaries_expected: list[str] = field(default_factory=list)
    canaries_found: list[str] = field(default_factory=list)
    residue: list[Finding] = field(default_factory=list)
    attestation: str | None = None
    key_id: str = ""  # the attestation key that signed (signward.dumps.attestation.key_id)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"input": self.input, "output": self.output, "status": self.status, "reason": self.reason,
                "detail": self.detail, "input_sha256": self.input_sha256, "output_sha256": self.output_sha256,
                "counts": self.counts, "redacted_bytes": self.redacted_bytes,
                "canaries": {"expected": self.canaries_expected, "found_in_input": self.canaries_found},
                "residue": [f.to_dict() for f in self.residue], "attestation": self.attestation,
                "key_id": self.key_id,
                "seconds": round(self.seconds, 3)}


def _redact_plain(plain: Path, target: Path, layout: Layout, findings: list[Finding], minimize: bool,
                  name: str = "") -> int:
    """Write `plain` with every finding overwritten into `target`; bytes changed. A finding in
    structure that cannot be overwritten refuses (`finding_in_metadata`)."""
    stuck = [f for f in findings if not f.advisory and layout.is_protected(f.offset, f.end)]
    if stuck:
        raise DumpRefused(DumpReason.FINDING_IN_METADATA,
                          f"{name + ': ' if name else ''}{stuck[0].kind} at offset {stuck[0].offset}")
    if layout.format == "har":
        return _redact_har(plain, target, findings)
    if layout.format == "raw" and not minimize and layout.size <= har.MAX_HAR_BYTES and \
            har.looks_like_json(head_of(plain)):  # a log of JSON records stays JSON (`log_records.py`)
        raw = plain.read_bytes()
        cleaned = redact_records(raw, findings)
        if cleaned is not None:
            return _write_redacted(raw, cleaned, target)
    shutil.copyfile(plain, target)
    ranges = redaction_ranges(findings, layout)
    if minimize:
        ranges += minimize_ranges(layout, plain)
    descriptor = os.open(target, os.O_WRONLY)
    try:
        written = sum(fill(descriptor, start, end) for start, end in sorted(ranges))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return written


def _redact_bundle(plain: Path, kind: str, target: Path, report: FileReport, workdir: Path, max_bytes: int | None,
                   minimize: bool, known: KnownKeys | None = None) -> int:
    """A new archive at `target` of every member of `plain` redacted with its own findings (members
    that are compressed are recompressed, bundles inside recurse); bytes changed. Members are
    matched to their reports by position (both in archive order), never by name; the bytes
    outside members (`OUTSIDE`: headers, comments, extra fields) are not carried over."""
    scanned = [member for member in report.members if member.format != "bundle-outside"]
    changed = 0
    with bundle_session(max_bytes), extracted(plain, kind, workdir, max_bytes) as copies, ExitStack() as outputs:
        copies = [(member, copy) for member, copy in copies if member.name != OUTSIDE]
        if len(copies) != len(scanned):
            raise DumpRefused(DumpReason.ERROR, f"the bundle lists {len(copies)} members, the scan read "
                                                f"{len(scanned)}")
        cleaned: list[tuple[str, Path]] = []
        for (member, copy), member_report in zip(copies, scanned, strict=True):
            if not member_report.file.endswith(f"!{member.name}"):
                raise DumpRefused(DumpReason.ERROR, f"bundle member {member.index} is {member.name!r} now, the scan "
                                                    f"read {member_report.file!r}")
            output = outputs.enter_context(Scratch(workdir))
            container = container_of(head_of(copy.path), member.name, copy.path)
            with plain_copy(copy.path, container, str(workdir), max_bytes) as member_plain, \
                    Scratch(workdir) as redacted:
                inner = bundle_kind(member_plain)
                if inner is not None:
                    changed += _redact_bundle(member_plain, inner, redacted.path, member_report, workdir, max_bytes,
                                              minimize, known)
                else:
                    member_layout = read_layout(member_plain)
                    changed += _redact_plain(member_plain, redacted.path, member_layout,
                                             member_report.findings, minimize, member.name)
                    if known is not None:  # what only the independent reader sees in a member image goes too
                        changed += _patch_from_reader(redacted.path, member_layout, known)
                if container == "none":
                    shutil.copyfile(redacted.path, output.path)
                else:
                    with open(redacted.path, "rb") as raw, open_compressor(output.path, container, new=False) as packed:
                        shutil.copyfileobj(raw, packed, 8 << 20)
            cleaned.append((member.name, output.path))
        write_bundle(target, kind, cleaned)
    return changed


def _redact_har(sealed: Path, target: Path, findings: list[Finding]) -> int:
    """Overwrite every finding of a HAR in place with printable bytes of the same length (inside
    its JSON string, whole characters), and refuse unless the result is still a HAR. A key found
    by a byte detector (in the raw bytes or in a decoded view) takes the WHOLE raw JSON strings it
    touches; the HAR's own secrets (a token's signature, a cookie value) are cut exactly."""
    raw, _, strings = har.read(sealed)
    exact = [(f.offset, f.end) for f in findings if not f.advisory and f.detector == har.DETECTOR]
    keys = [(f.offset, f.end) for f in findings if not f.advisory and f.detector != har.DETECTOR]
    spans = merge_spans(exact + har.whole_strings(keys, strings))
    cleaned = har.redact(raw, spans, strings)
    try:
        har.check_still_har(cleaned)
    except DumpFormatError as exc:
        raise DumpRefused(DumpReason.ERROR, f"the redacted HAR would not parse: {exc}") from None
    return _write_redacted(raw, cleaned, target)


def _write_redacted(raw: bytes, cleaned: bytes, target: Path) -> int:
    """`cleaned` written to `target` and synced; the bytes it changed from `raw`."""
    with open(target, "wb") as out:
        out.write(cleaned)
        out.flush()
        os.fsync(out.fileno())
    return sum(a != b for a, b in zip(raw, cleaned, strict=True))


def _identity(stats: os.stat_result) -> tuple[int, int, int, int]:
    return stats.st_dev, stats.st_ino, stats.st_size, stats.st_mtime_ns


def _seal(source: Path, container: str, target: Scratch, max_bytes: int | None = None) -> tuple[str, int]:
    """Copy (decompressing) `source` into the nameless `target`, within the expansion limit;
    returns sha256 and size of the source bytes."""
    digest = hashlib.sha256()
    size = 0

    class Hashing:
        def __init__(self, raw: Any) -> None:
            self.raw = raw

        def read(self, count: int = -1) -> bytes:
            nonlocal size
            block: bytes = self.raw.read(count)
            digest.update(block)
            size += len(block)
            return block

    with open(target.path, "wb") as out:
        if container == "none":
            with open(source, "rb") as raw:
                copy_bounded(Hashing(raw), out, target.directory, max_bytes)
        else:
            with open(source, "rb") as raw:
                hashing = Hashing(raw)
                try:
                    with decompressor(hashing, container) as stream:
                        copy_bounded(stream, out, target.directory, max_bytes)
                    while hashing.read(8 << 20):  # trailing bytes after the last frame count too
                        pass
                except DumpFormatError:
                    raise
                except Exception as exc:
                    raise DumpFormatError(f"{source}: corrupt or truncated {container} data ({exc})") from None
        out.flush()
    return digest.hexdigest(), size


def sanitize(source: str | Path, out: str | Path, home: Home, known: KnownKeys | None = None,
             canary: Canary | None = None, minimize: bool = False, detectors: Sequence[str] | str | None = None,
             progress: Progress | None = None, *, insecure_skip_residue_rescan: bool = False,
             max_bytes: int | None = None, workers: int | None = 1, name: str | None = None) -> SanitizeResult:
    """Sanitize `source` into `out`; DumpRefused (after cleaning up) when it cannot be certified.

    `detectors` narrows what redaction runs; the re-scan of the result always runs every
    default detector (and the known keys and canaries), unless `insecure_skip_residue_rescan`
    (the lab's model of the 2021 sanitizer, which certified what it had not checked).
    Errors, refusals and findings call IN `name` (default: `source`; a bundle's members
    `name!member`), never by the private copies the work happens on.

    The steps below each refuse with their own reason; every refusal reaches the one cleanup
    (`_refused`) and nothing is published (fail closed)."""
    began = time.monotonic()
    source, out = Path(source), Path(out)
    name = str(source) if name is None else name
    result = SanitizeResult(input=str(source), output=str(out), status="refused")
    before = _identify(source, out, home)
    refuse_unread(head_of(source), name)  # a format no reader opens (7z, RAR, a .br file): unread_format
    container = container_of(head_of(source), name, source)  # a `.br` is brotli by its name (brotli_layer.py)
    known = known if known is not None else KnownKeys()
    if canary is not None:
        canary.add_to(known)
        result.canaries_expected = sorted(canary.expected())
    key = attestation_key(home)
    result.key_id = key_id(key)
    with ExitStack() as scratch:  # nameless files: gone on every exit, SIGKILL included
        job = _Job(source, out, name, container, before, known, canary, detectors,
                   minimize, progress, max_bytes, workers, insecure_skip_residue_rescan, scratch)
        try:
            sealed = _seal_input(job, result)
            scanned = _scan(job, sealed, result)
            _prove_canaries(job, scanned, result)
            redacted = _redact(job, sealed, scanned, result)
            final = _packed(job, redacted)
            residue_detectors = _rescan(job, final, result)
            if residue_detectors:
                final = _reread(job, final, redacted, scanned, result)
            document = _certify(job, final, scanned, residue_detectors, result)
            _write_out(job, final, document, key, result)
            return result
        except DumpFormatError as exc:  # about IN's bytes: named as the caller knows IN
            renamed(exc, name)
            raise
        except DumpRefused as refusal:
            raise _refused(job, home, refusal, result) from None
        finally:
            result.seconds = time.monotonic() - began


@dataclass(frozen=True)
class _Job:
    """One sanitize run's arguments, resolved once, and the scratch files it owns."""

    source: Path
    out: Path
    name: str  # what errors, refusals and findings call IN
    container: str  # IN's compression, given back to OUT
    before: os.stat_result  # IN when the run began
    known: KnownKeys  # the caller's known keys and the canaries' keys
    canary: Canary | None
    detectors: Sequence[str] | str | None  # what redaction runs
    minimize: bool
    progress: Progress | None
    max_bytes: int | None
    workers: int | None
    insecure_skip_residue_rescan: bool
    scratch: ExitStack

    def scratch_file(self) -> Scratch:
        """A new nameless file beside OUT, gone when the run ends."""
        return self.scratch.enter_context(Scratch(self.out.parent))


@dataclass(frozen=True)
class _Scanned:
    """What the scan of the sealed copy found."""

    findings: list[Finding]
    format: str
    report: FileReport  # a bundle's: its members' reports, in archive order
    bundle: str | None  # the archive kind, or None
    layout: Layout | None  # an image's (not a bundle's) layout


def _identify(source: Path, out: Path, home: Home) -> os.stat_result:
    """IN as it is now; refuses (DumpFormatError, UsageError) an IN that is not a regular file,
    an OUT that is IN, a missing OUT directory and an OUT that is not ours to replace."""
    try:
        before = os.stat(source)
    except OSError as exc:
        raise DumpFormatError(f"{source}: cannot read ({exc.strerror})") from None
    if not stat.S_ISREG(before.st_mode):
        raise DumpFormatError(f"{source}: not a regular file")
    if out.resolve() == source.resolve():
        raise DumpFormatError("OUT must differ from IN: the input is never modified")
    if not out.parent.is_dir():
        raise DumpFormatError(f"{out.parent}: no such directory for OUT")
    _earlier_output(out, home)  # refuses an OUT that is not ours to replace
    return before


def _seal_input(job: _Job, result: SanitizeResult) -> Path:
    """IN copied (decompressed) into a private nameless file while hashed; `input_changed` when
    IN is not the same file with the same bytes afterwards."""
    sealed = job.scratch_file()
    result.input_sha256, _ = _seal(job.source, job.container, sealed, job.max_bytes)
    _unchanged(job, result.input_sha256, "sealed")
    return sealed.path


def _unchanged(job: _Job, digest: str, doing: str) -> None:
    """`input_changed` unless IN still hashes to `digest` and is the file (inode, size, mtime)
    the run began with."""
    if sha256_file(job.source)[0] != digest or _identity(os.stat(job.source)) != _identity(job.before):
        raise DumpRefused(DumpReason.INPUT_CHANGED, f"IN changed while it was being {doing}")


def _scan(job: _Job, sealed: Path, result: SanitizeResult) -> _Scanned:
    """The sealed copy scanned with the selected detectors (a bundle's members each with the
    scanner for their format); `scan_incomplete` when a bounded pass was cut short."""
    bundle = bundle_kind(sealed)
    layout: Layout | None = None
    if bundle is not None:
        report = scan_path(sealed, job.detectors, job.known, job.progress, str(job.out.parent), job.max_bytes,
                           job.workers, name=job.name)
        findings, incomplete, format_ = report.findings, report.incomplete, report.format
    else:
        layout = read_layout(sealed)
        findings, incomplete = scan_plain(sealed, layout, registry.select(job.detectors), job.known, job.progress,
                                          job.workers)
        report, format_ = FileReport(job.name, layout.format, layout.size, 0.0, findings), layout.format
    result.counts = count_by_detector(findings)
    if incomplete:
        raise DumpRefused(DumpReason.SCAN_INCOMPLETE, ", ".join(incomplete))
    return _Scanned(findings, format_, report, bundle, layout)


def _prove_canaries(job: _Job, scanned: _Scanned, result: SanitizeResult) -> None:
    """With canaries: every representation must have been found, else `canary_missed` (the
    scanner is blind on this dump). A HAR's canary is a token the recorder planted, signed by a
    canary key."""
    canary = job.canary
    if canary is None:
        return
    if scanned.format == "har":
        result.canaries_expected = ["har-token"]
        kids = set(canary.kids.values())
        result.canaries_found = ["har-token"] if any(
            f.detector == har.DETECTOR and f.kid in kids for f in scanned.findings) else []
    else:
        result.canaries_found = canary.check(scanned.findings)
    missed = sorted(set(result.canaries_expected) - set(result.canaries_found))
    if missed:
        raise DumpRefused(DumpReason.CANARY_MISSED, ", ".join(missed))


def _redact(job: _Job, sealed: Path, scanned: _Scanned, result: SanitizeResult) -> Scratch:
    """A new file with every finding overwritten (and with `minimize` writable anonymous memory
    blanked); `finding_in_metadata` for a finding in structure that cannot be overwritten."""
    redacted = job.scratch_file()
    if scanned.layout is not None:
        result.redacted_bytes = _redact_plain(sealed, redacted.path, scanned.layout, scanned.findings, job.minimize)
    elif scanned.bundle is not None:  # each member with its own findings
        result.redacted_bytes = _redact_bundle(sealed, scanned.bundle, redacted.path, scanned.report,
                                               job.out.parent, job.max_bytes, job.minimize,
                                               None if job.insecure_skip_residue_rescan else job.known)
    else:
        raise DumpRefused(DumpReason.ERROR, "the scan read neither an image nor a bundle")
    return redacted


def _packed(job: _Job, redacted: Scratch) -> Scratch:
    """The redacted file compressed back into IN's container (itself when IN was not compressed)."""
    if job.container == "none":
        return redacted
    final = job.scratch_file()
    with open(redacted.path, "rb") as plain, open_compressor(final.path, job.container, new=False) as packed:
        shutil.copyfileobj(plain, packed, 8 << 20)
    return final


def _rescan(job: _Job, final: Scratch, result: SanitizeResult) -> list[Detector]:
    """The re-scan of the file to be published, with EVERY default detector afresh whatever
    `detectors` chose for redaction, and the known keys and canaries too: anything left is
    `residue`, a pass cut short (with nothing found) `scan_incomplete`. Returns the detectors it
    ran (none with `insecure_skip_residue_rescan`)."""
    residue_detectors = [] if job.insecure_skip_residue_rescan else registry.select(None)
    residue: list[Finding] = []
    residue_incomplete: list[str] = []
    if residue_detectors:  # a bundle's members each with the scanner for their format
        rescan = scan_path(final.path, [d.name for d in residue_detectors], job.known, None, str(job.out.parent),
                           job.max_bytes, job.workers, name=job.name)
        residue, residue_incomplete = rescan.findings, rescan.incomplete
    residue = [f for f in residue if not f.advisory]
    if residue_incomplete and not residue:
        raise DumpRefused(DumpReason.SCAN_INCOMPLETE, "re-scan: " + ", ".join(residue_incomplete))
    if residue:
        result.residue = residue
        raise DumpRefused(DumpReason.RESIDUE, f"{len(residue)} finding(s) left after redaction, first "
                                              f"{residue[0].kind} at offset {residue[0].offset}")
    return residue_detectors


def _reread(job: _Job, final: Scratch, redacted: Scratch, scanned: _Scanned, result: SanitizeResult) -> Scratch:
    """Certification by the independent reader (recheck.py: none of the scanner's parsers). In an
    image (not a bundle, not a HAR) the whole raw run of every key it finds is overwritten and the
    new output read again; a key still found is `recheck`, a layer it cannot read to its end
    `recheck_incomplete`. Returns the file to publish."""
    second = recheck_path(final.path, job.known, name=job.name)
    spans = [f.span for f in second.findings if f.span is not None]
    if second.findings and len(spans) == len(second.findings) and not second.incomplete and \
            scanned.layout is not None and scanned.format != "har":
        final = _patch_image(job, redacted, scanned.layout, second, result)
        second = recheck_path(final.path, job.known, name=job.name)
    if second.findings:
        raise DumpRefused(DumpReason.RECHECK, "independent reader: " + second.summary())
    if second.incomplete:
        raise DumpRefused(DumpReason.RECHECK_INCOMPLETE, "independent reader: " + second.summary())
    return final


def _patch_image(job: _Job, redacted: Scratch, layout: Layout, second: RecheckReport,
                 result: SanitizeResult) -> Scratch:
    """The whole raw run of each key the independent reader found (a key printed as numbers with
    the text around it) overwritten in the redacted image, packed again; `finding_in_metadata`
    when a run lies in structure that cannot be overwritten."""
    ranges = merge_spans([f.span for f in second.findings if f.span is not None])
    if any(layout.is_protected(start, end) for start, end in ranges):
        raise DumpRefused(DumpReason.FINDING_IN_METADATA, "independent reader: " + second.summary())
    ranges = merge_spans(_text_blocks(redacted.path, second.findings, layout))  # a printed key's siblings
    if any(layout.is_protected(start, end) for start, end in ranges):
        raise DumpRefused(DumpReason.FINDING_IN_METADATA, "independent reader: " + second.summary())
    descriptor = os.open(redacted.path, os.O_WRONLY)
    try:
        result.redacted_bytes += sum(fill(descriptor, start, end) for start, end in ranges)
        os.fsync(descriptor)
        # what only the independent reader found is in the counts (the attestation's too)
        result.counts["independent-reader"] = result.counts.get("independent-reader", 0) + len(second.findings)
    finally:
        os.close(descriptor)
    return _packed(job, redacted)


def _certify(job: _Job, final: Scratch, scanned: _Scanned, residue_detectors: list[Detector],
             result: SanitizeResult) -> dict[str, Any]:
    """`input_changed` unless IN is still what was sealed; otherwise the result is clean and
    this is the document the attestation signs."""
    result.output_sha256, out_size = sha256_file(final.path)
    _unchanged(job, result.input_sha256, "sanitized")
    result.status = "clean"
    return {
        "version": 1, "status": "clean", "time": iso(time.time()),
        "input": {"name": job.source.name, "sha256": result.input_sha256, "bytes": job.before.st_size},
        "output": {"name": job.out.name, "sha256": result.output_sha256, "bytes": out_size},
        "format": scanned.format, "container": job.container, "minimized": job.minimize,
        "detectors": {d.name: d.version for d in registry.select(job.detectors)},  # what redaction ran
        "residue_detectors": {d.name: d.version for d in residue_detectors},  # what the re-scan ran
        "counts": result.counts, "redacted_bytes": result.redacted_bytes,
        "canaries": {"expected": result.canaries_expected, "found_in_input": result.canaries_found,
                     "found_in_output": []},
    }


def _write_out(job: _Job, final: Scratch, document: dict[str, Any], key: bytes, result: SanitizeResult) -> None:
    """Publish: rename into OUT under OUT's lock, fsync the directory, write the signed attestation."""
    with _locked(job.out):
        final.publish(job.out)
        _fsync_dir(job.out.parent)
        result.attestation = str(write_attestation(job.out, document, key))
        _fsync_dir(job.out.parent)


def _refused(job: _Job, home: Home, refusal: DumpRefused, result: SanitizeResult) -> DumpRefused:
    """The refusal to raise, named as the caller knows IN and carrying the result; an earlier
    certified output at OUT (ours, with its attestation) no longer stands for this input and is
    removed."""
    refusal.detail = PRIVATE_PATH.sub(lambda _: job.name, refusal.detail)
    result.reason, result.detail = refusal.reason, refusal.detail
    with _locked(job.out):
        try:
            ours = _earlier_output(job.out, home)
        except DumpFormatError:
            ours = False  # someone else's file appeared at OUT meanwhile: never removed
        if ours:
            for stale in (job.out, attestation_path(job.out)):
                stale.unlink(missing_ok=True)
    return DumpRefused(refusal.reason, refusal.detail, result)


def _earlier_output(out: Path, home: Home) -> bool:
    """False when OUT does not exist; True when it is an earlier output of this tool (a regular
    file whose attestation verifies under this home's key); otherwise refuse: a device, a FIFO,
    a link or someone else's file at OUT is never replaced or removed."""
    beside = attestation_path(out)
    if os.path.lexists(beside) and not stat.S_ISREG(os.lstat(beside).st_mode):
        raise UsageError(f"{beside} exists and is not a regular file: it is never replaced")
    try:
        info = os.lstat(out)
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(info.st_mode):
        raise DumpFormatError(f"{out} exists and is not a regular file: it is never replaced")
    if not verify_attestation(out, home).valid:
        raise DumpFormatError(f"{out} exists and is not an attested output of this home: remove it or choose "
                              f"another OUT")
    return True


class _locked:
    """An exclusive flock on OUT's lock file: two sanitizers publish one after the other."""

    def __init__(self, out: Path) -> None:
        self.path = out.with_name(f".{out.name}.lock")
        self.descriptor = -1

    def __enter__(self) -> None:
        # never through a planted link, never a file that is not ours to lock
        try:
            self.descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o600)
        except OSError as exc:
            raise DumpFormatError(f"{self.path}: {exc.strerror} (the lock file must be a plain file)") from None
        if not stat.S_ISREG(os.fstat(self.descriptor).st_mode):
            os.close(self.descriptor)
            raise DumpFormatError(f"{self.path} is not a regular file")
        fcntl.flock(self.descriptor, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.descriptor, fcntl.LOCK_UN)
        os.close(self.descriptor)


def _fsync_dir(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


__all__ = ["SanitizeResult", "sanitize"]


def _patch_from_reader(path: Path, layout: Layout, known: KnownKeys) -> int:
    """A bundle member that is an image (not a HAR): overwrite the whole raw run of every key the
    independent reader finds in it, as sanitize does for a top-level image; bytes changed. Where a
    finding has no exact span, lies in protected bytes or the reader is incomplete, nothing is
    patched here: the reader's re-read of the whole output then refuses the bundle."""
    if layout.format == "har":
        return 0
    second = recheck_path(path, known)
    spans = [f.span for f in second.findings if f.span is not None]
    if not second.findings or len(spans) != len(second.findings) or second.incomplete:
        return 0
    ranges = merge_spans(_text_blocks(path, second.findings, layout))
    if any(layout.is_protected(start, end) for start, end in ranges):
        return 0
    descriptor = os.open(path, os.O_WRONLY)
    try:
        changed = sum(fill(descriptor, start, end) for start, end in ranges)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return changed


def _text_blocks(path: str | Path, findings: Sequence[RecheckFinding], layout: Layout) -> list[tuple[int, int]]:
    """Each finding's span; a key printed as numbers widened to the printable text around it
    (recheck_numbers.text_block: the other numbers of the key go with the one found), unless the
    widening reaches protected bytes."""
    import mmap

    from ..scan.recheck_numbers import printed_number, text_block

    spans: list[tuple[int, int]] = []
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        for finding in findings:
            if finding.span is None:
                continue
            wide = text_block(data, *finding.span) if printed_number(finding) else finding.span
            spans.append(wide if not layout.is_protected(*wide) else finding.span)
    return spans
