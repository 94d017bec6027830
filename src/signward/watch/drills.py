"""Fire drills: the HSM's crash drill, and drills through the deployed dump pipeline (the
probes of redaction, the canary check, the release gate and the debugging store's re-scan).

- hsm: the PKCS#11 attributes of every key, then a drill instance of the issuer's signing
  path signs for every realm and is dumped with gcore: the known-key search for every realm
  key must find none in its core, and must find the canaries it holds (else the search is
  not shown to work on that core).

- redaction: a drill process holds the home's canary keys (as the issuer does), is dumped
  with gcore, and its core goes through the pipeline's capture with the deployment's own
  settings; it must come out sanitized, and an independent re-scan of the certified output
  (every default detector, every known key) must find nothing.
- canary_check: the same drill captured with a detector switched off (text only) must be
  refused for a missed canary.
- release_gate: a drill dump the sanitizer refused (unreadable data) must be refused by the
  gate when released (reason `not_sanitized`), before any copy reaches a store.
- store_rescan: a drill file holding a canary private key, delivered straight into the
  configured debugging store's intake, must be refused by the store's own re-scan.
- grant_approval: a direct grant of a drill dump (no request, no second person) must be
  refused for want of approval, whatever the dump's state.
- input:undecoded_encoding (a common-mode drill): hostile-but-harmless artifacts holding the
  canary RSA key in a layer a reader must decode (its DER in base64 among binary bytes; a HAR
  response body in base64; a tar whose member is named `./...`) go through both scans: the
  pipeline's capture without the canary check (the sanitizer must refuse the artifact or certify
  an output that no longer holds the planted bytes; the canary check would refuse any artifact
  lacking the other canaries) and, straight,
  the debugging store's intake (its re-scan must refuse it). At least one of the two must stop
  every artifact; when both pass one, one input defeats both scans and the depth drops by it.
  Whether the planted key is still there is decided by searching for the exact bytes planted,
  not by either scanner.

The drill processes are real modules (`signward.probes.programs.holder` and `.signer`),
started with `python -P -m`, never program text written to a file. Drill dumps are captured
with source `drill`, marked so in the audit log, and deleted with every copy when their drill
ends (`DumpPipeline.discard_drill`); drill processes are killed and their cores removed on
every exit path.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import os
import secrets
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from ..dumps.debugstore import DebugStore
from ..dumps.pipeline import DRILL, DumpPipeline
from ..dumps.reasons import DumpReason, DumpState
from ..errors import DumpRefused, SignwardError
from ..probes import key_objects_protected
from ..probes.base import ProbeContext, ProbeOutcome, ProbeReason
from ..scan.knownkeys import KnownKeys, known_from_documents
from ..scan.scanner import scan_path
from ..services import Services, open_services

HOLDER = "signward.probes.programs.holder"  # holds the home's canaries as the issuer does
SIGNER = "signward.probes.programs.signer"  # a drill instance of the issuer's signing path
GCORE_TIMEOUT = 120.0
NO_CANARY = "the home has no canary material to drill with (dumps.canary)"
DRILL_USER = "signward-watch-drill"


@contextmanager
def _scratch(services: Services) -> Iterator[Path]:
    """A private directory in the home for drill material, removed on every exit path."""
    folder = Path(tempfile.mkdtemp(prefix=".drill-", dir=services.home.root))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _dumped(services: Services, program: str, argument: str, what: str) -> Iterator[tuple[Path, int]]:
    """The core (gcore) of a live drill process, `python -P -m program argument` (a module of
    `signward.probes.programs`; -P: the scratch directory it runs in is not on its import
    path), once it printed "ready"; (path, pid). The process and its core are gone on every
    exit path."""
    with _scratch(services) as folder:
        proc = subprocess.Popen([sys.executable, "-P", "-m", program, argument], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, cwd=folder)
        try:
            assert proc.stdout is not None and proc.stderr is not None
            if proc.stdout.readline().strip() != b"ready":
                proc.kill()
                raise SignwardError(f"{what} did not start: {proc.stderr.read().decode(errors='replace')[-300:]}")
            subprocess.run(["gcore", "-o", str(folder / "core"), str(proc.pid)], check=True, capture_output=True,
                           timeout=GCORE_TIMEOUT)
            yield folder / f"core.{proc.pid}", proc.pid
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.communicate(timeout=30)


@contextmanager
def _drill_core(services: Services) -> Iterator[tuple[Path, int]]:
    """The core of a live drill process that holds the home's canaries; (path, pid)."""
    canary = services.home.canary_path(services.config)
    if canary is None or not canary.exists():
        raise SignwardError(NO_CANARY)
    with _dumped(services, HOLDER, str(canary), "the drill process") as dumped:
        yield dumped


def drill_hsm(ctx: ProbeContext) -> ProbeOutcome:
    """hsm: every key's PKCS#11 attributes, then a crash drill: a drill instance of the issuer's
    signing path (the home's services, its canaries held as the issuer holds them) signs a token
    for every realm and is dumped with gcore; the known-key search for every realm key must find
    none, while finding every canary proves it saw the process."""
    with open_services(ctx.home, actor="signward-watch") as services:
        protected = key_objects_protected(services)
        if not protected.held:
            return protected
        drilled = _crash_drill(services)
        if not drilled.held:
            return drilled
        return ProbeOutcome.passed(f"{protected.detail}, sensitive and unextractable; {drilled.detail}")


def _crash_drill(services: Services) -> ProbeOutcome:
    """Dump a drill instance of the signing path; no realm key may be in its core."""
    realm_keys = known_from_documents([{"keys": [{**k.public_jwk, "kid": k.kid} for k in services.registry.keys()
                                                 if k.state.value not in ("destroyed",)]}], "registry")
    canary = services.pipeline.canary()
    known = KnownKeys(realm_keys.keys)
    if canary is not None:
        canary.add_to(known)
    with _dumped(services, SIGNER, str(services.home.root), "the drill signer") as (core, _):
        report = scan_path(core, "known-key", known)
    realm_kids = {k.kid for k in realm_keys.keys}
    leaked = sorted({f.kid for f in report.findings if f.kid in realm_kids})
    if leaked:
        return ProbeOutcome.failed(ProbeReason.FAILED,
                                   f"the drill signer's core holds realm key(s) {', '.join(leaked)}")
    if canary is not None:
        searched = {name for name, (detector, _, _) in canary.expected().items() if detector == "known-key"}
        missed = sorted(searched - set(canary.check(report.findings)))
        if missed:
            return ProbeOutcome.failed(ProbeReason.PROBE_BROKEN, f"the crash drill's search missed canaries "
                                       f"{', '.join(missed)}: not shown to work")
    if report.incomplete:
        return ProbeOutcome.failed(ProbeReason.PROBE_BROKEN,
                                   f"the crash drill's search was cut short: {', '.join(report.incomplete)}")
    return ProbeOutcome.passed("no realm key in a signer's core")


def _capture(pipeline: DumpPipeline, path: Path, pid: int | None = None) -> str:
    with open(path, "rb") as stream:
        return pipeline.capture(stream, DRILL, pid=pid, exe=sys.executable).id


def drill_redaction(ctx: ProbeContext) -> ProbeOutcome:
    """redaction: a drill core through the deployed capture comes out sanitized and clean."""
    with open_services(ctx.home, actor="signward-watch") as services, _drill_core(services) as (core, pid):
        pipeline = services.pipeline
        dump_id = _capture(pipeline, core, pid)
        try:
            record = pipeline.get(dump_id)
            if record.state != DumpState.SANITIZED:
                return ProbeOutcome.failed(ProbeReason.FAILED, f"drill dump {record.state}: {record.reason}")
            output = services.home.quarantine_dir / f"{dump_id}.sanitized"
            known = pipeline.known()
            canary = pipeline.canary()
            if canary is not None:
                canary.add_to(known)
            report = scan_path(output, None, known)
            left = [f for f in report.findings if not f.advisory]
            if left or report.incomplete:
                return ProbeOutcome.failed(ProbeReason.FAILED, (
                    f"the certified drill dump still holds {len(left)} finding(s)"
                    + (f", first {left[0].kind}" if left else "") + (" (incomplete)" if report.incomplete else "")))
            return ProbeOutcome.passed("drill core sanitized, canaries removed, independent re-scan clean")
        finally:
            pipeline.discard_drill(dump_id)


def drill_canary_check(ctx: ProbeContext) -> ProbeOutcome:
    """canary_check: the drill core, with a detector switched off, must be refused."""
    with open_services(ctx.home, actor="signward-watch") as services, _drill_core(services) as (core, pid):
        config = services.config
        narrowed = dataclasses.replace(config, dumps=dataclasses.replace(config.dumps, insecure_detectors="text"))
        pipeline = DumpPipeline(services.home, narrowed, services.store, services.audit, services.clock)
        dump_id = _capture(pipeline, core, pid)
        try:
            record = pipeline.get(dump_id)
            if record.state == DumpState.REFUSED and record.reason == DumpReason.CANARY_MISSED:
                return ProbeOutcome.passed("a drill with only the text detector was refused: canary missed")
            detail = f"a drill with only the text detector was {record.state} {record.reason}".strip()
            return ProbeOutcome.failed(ProbeReason.FAILED, detail)
        finally:
            pipeline.discard_drill(dump_id)


def drill_release_gate(ctx: ProbeContext) -> ProbeOutcome:
    """release_gate: a drill dump the sanitizer refused must not pass the gate."""
    with open_services(ctx.home, actor="signward-watch") as services, _scratch(services) as folder:
        pipeline = services.pipeline
        bogus = folder / "unreadable.zst"
        bogus.write_bytes(b"\x28\xb5\x2f\xfd" + secrets.token_bytes(4096))  # zstd magic, then noise
        dump_id = _capture(pipeline, bogus)
        try:
            record = pipeline.get(dump_id)
            if record.state != DumpState.REFUSED:
                return ProbeOutcome.failed(ProbeReason.PROBE_BROKEN,
                                           f"the unreadable drill dump was {record.state}: probe broken")
            try:
                pipeline.release(dump_id, to=folder / "store")
            except DumpRefused as refusal:
                if refusal.reason == DumpReason.NOT_SANITIZED:
                    return ProbeOutcome.passed("the gate refused a refused drill dump (not_sanitized)")
                return ProbeOutcome.failed(ProbeReason.FAILED, "the gate let a refused drill dump through; it was "
                                           f"stopped later ({refusal.reason})")
            return ProbeOutcome.failed(ProbeReason.FAILED, "the gate released a refused drill dump")
        finally:
            pipeline.discard_drill(dump_id)


def drill_grant_approval(ctx: ProbeContext) -> ProbeOutcome:
    """grant_approval: a grant without a request and a second person's approval is refused."""
    with open_services(ctx.home, actor="signward-watch") as services, _scratch(services) as folder:
        pipeline = services.pipeline
        bogus = folder / "unreadable.zst"
        bogus.write_bytes(b"\x28\xb5\x2f\xfd" + secrets.token_bytes(4096))
        dump_id = _capture(pipeline, bogus)
        try:
            try:
                pipeline.grant(dump_id, DRILL_USER, 60, DRILL_USER)
            except DumpRefused as refusal:
                if refusal.reason == DumpReason.NEEDS_APPROVAL:
                    return ProbeOutcome.passed("a direct grant (no request, no second person) was refused "
                                               "(needs_approval)")
                return ProbeOutcome.failed(ProbeReason.FAILED,
                                           f"the direct grant was refused for another reason ({refusal.reason})")
            except SignwardError as exc:  # got past the approval rule to the dump's state
                return ProbeOutcome.failed(ProbeReason.FAILED,
                                           f"a direct grant is not refused for want of approval ({exc})")
            return ProbeOutcome.failed(ProbeReason.FAILED, "one account granted itself a dump")
        finally:
            pipeline.discard_drill(dump_id)


def drill_store_rescan(ctx: ProbeContext) -> ProbeOutcome:
    """store_rescan: a file holding a canary key, put straight into the store's intake, is refused."""
    with open_services(ctx.home, actor="signward-watch") as services:
        pipeline = services.pipeline
        canary = pipeline.canary()
        if canary is None:
            return ProbeOutcome.failed(ProbeReason.NOT_SHOWN, NO_CANARY)
        store = pipeline.debug_store
        store.publish_keys(pipeline.public_documents())
        pem = canary.rsa.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())
        drill_id = f"drill-{secrets.token_hex(6)}"
        staged = store.staging() / f"{drill_id}.part"
        descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(secrets.token_bytes(65536) + pem + secrets.token_bytes(65536))
        try:
            store.receive(drill_id, staged)
        except DumpRefused as refusal:
            if refusal.reason == DumpReason.STORE_RESCAN:
                return ProbeOutcome.passed("the store's re-scan refused a drill file holding a canary key")
            return ProbeOutcome.failed(ProbeReason.FAILED,
                                       f"the store refused the drill file for another reason ({refusal.reason})")
        store.delete(drill_id)
        return ProbeOutcome.failed(ProbeReason.FAILED, "the store accepted a drill file holding a canary key")


HOSTILE_PAD = 3 * 1365  # bytes around the key: a multiple of 3, so its base64 is a substring of the body's


def hostile_artifacts(pem: bytes) -> dict[str, tuple[bytes, bytes]]:
    """Artifact class -> (the artifact, the exact bytes of the planted key in it): each holds the
    key (PEM, between random bytes) only inside a layer its reader must decode."""
    body = secrets.token_bytes(HOSTILE_PAD) + pem + secrets.token_bytes(HOSTILE_PAD)
    whole = len(pem) // 3 * 3
    entry = {"startedDateTime": "2026-01-01T00:00:00.000Z", "time": 1,
             "request": {"method": "GET", "url": "https://drill.invalid/core", "httpVersion": "HTTP/1.1",
                         "headers": [], "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},
             "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "headers": [], "cookies": [],
                          "content": {"size": len(body), "mimeType": "application/octet-stream", "encoding": "base64",
                                      "text": base64.b64encode(body).decode()},
                          "redirectURL": "", "headersSize": -1, "bodySize": len(body)},
             "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}}
    har = json.dumps({"log": {"version": "1.2", "creator": {"name": "signward-watch-drill", "version": "1"},
                              "entries": [entry]}}).encode()
    packed = io.BytesIO()
    with tarfile.open(fileobj=packed, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        member = tarfile.TarInfo("./drill/core")
        member.size = len(body)
        member.mode = 0o600
        tar.addfile(member, io.BytesIO(body))
    der = serialization.load_pem_private_key(pem, None).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    text = base64.b64encode(der)
    # NUL-delimited, as a string in memory is: random neighbours in the base64 alphabet would make
    # the run's start a matter of chance (the scanner missed 2 of 20 such keys when this was written)
    raw = secrets.token_bytes(HOSTILE_PAD) + b"\0" + text + b"\0" + secrets.token_bytes(HOSTILE_PAD)
    return {"raw-base64-der": (raw, text), "har-base64-body": (har, base64.b64encode(pem[:whole])),
            "tar-dot-members": (packed.getvalue(), pem)}


def _sanitizer_stops(pipeline: DumpPipeline, home_quarantine: Path, artifact: Path, planted: bytes) -> str | None:
    """How the pipeline's capture stopped the artifact, or None when it certified the planted key."""
    dump_id = _capture(pipeline, artifact)
    try:
        record = pipeline.get(dump_id)
        if record.state != DumpState.SANITIZED:
            return f"sanitizer {record.state} ({record.reason or 'no reason'})"
        output = home_quarantine / f"{dump_id}.sanitized"
        with open(output, "rb") as certified:
            if planted in certified.read(MAX_DRILL_OUTPUT + 1):
                return None
        return "sanitizer removed it"
    finally:
        pipeline.discard_drill(dump_id)


MAX_DRILL_OUTPUT = 64 << 20  # the drill's artifacts are a few KiB; a certified output is read up to this


def _store_stops(store: DebugStore, data: bytes) -> str | None:
    """How the store's intake stopped the artifact delivered straight to it, or None when it kept it."""
    drill_id = f"drill-{secrets.token_hex(6)}"
    staged = store.staging() / f"{drill_id}.part"
    descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(data)
    try:
        store.receive(drill_id, staged)
    except DumpRefused as refusal:
        if refusal.reason in (DumpReason.STORE_RESCAN, DumpReason.STORE_UNREADABLE):
            return f"store refused ({refusal.reason})"
        raise
    store.delete(drill_id)
    return None


def drill_undecoded_encoding(ctx: ProbeContext, classes: Sequence[str] | None = None) -> ProbeOutcome:
    """input:undecoded_encoding: every hostile artifact class is stopped by at least one of the two
    scans (the sanitizer at capture, the store's re-scan at intake); fails naming each class that
    passed both."""
    with open_services(ctx.home, actor="signward-watch") as services, _scratch(services) as folder:
        canary = services.pipeline.canary()
        if canary is None:
            return ProbeOutcome.failed(ProbeReason.NOT_SHOWN, NO_CANARY)
        # the question is the scan's, not the canary check's: an artifact without the other
        # canaries would be refused for them, so the capture skips that check (audited as weakened)
        config = services.config
        unchecked = dataclasses.replace(config,
                                        dumps=dataclasses.replace(config.dumps, insecure_skip_canary_check=True))
        pipeline = DumpPipeline(services.home, unchecked, services.store, services.audit, services.clock)
        store = services.pipeline.debug_store
        store.publish_keys(pipeline.public_documents())
        pem = canary.rsa.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())
        both: list[str] = []
        stopped: list[str] = []
        for name, (data, planted) in hostile_artifacts(pem).items():
            if classes is not None and name not in classes:
                continue
            artifact = folder / name
            descriptor = os.open(artifact, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(descriptor, "wb") as out:
                out.write(data)
            by = [how for how in (_sanitizer_stops(pipeline, services.home.quarantine_dir, artifact, planted),
                                  _store_stops(store, data)) if how is not None]
            if by:
                stopped.append(f"{name}: {', '.join(by)}")
            else:
                both.append(name)
        if both:
            return ProbeOutcome.failed(ProbeReason.FAILED, f"{', '.join(both)} passed both the sanitizer and the "
                                       "store's re-scan with a canary key: one input defeats both scans")
        return ProbeOutcome.passed("every hostile artifact stopped by at least one scan (" + "; ".join(stopped) + ")")


__all__ = ["HOSTILE_PAD", "drill_canary_check", "drill_grant_approval", "drill_hsm", "drill_redaction",
           "drill_release_gate", "drill_store_rescan", "drill_undecoded_encoding", "hostile_artifacts"]
