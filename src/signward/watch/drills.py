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

Drill dumps are captured with source `drill`, marked so in the audit log, and deleted with
every copy when their drill ends (`DumpPipeline.discard_drill`); drill processes are killed
and their cores removed on every exit path.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from ..dumps.knownkeys import KnownKeys, known_from_documents
from ..dumps.pipeline import DRILL, DumpPipeline
from ..dumps.reasons import DumpReason, DumpState
from ..dumps.scanner import scan_path
from ..errors import DumpRefused, SignwardError
from ..probes import key_objects_protected
from ..services import Services, open_services
from .probes import WatchContext

HOLDER = ("import sys, time\nfrom signward.dumps.canary import hold_canaries\nhold_canaries(sys.argv[1])\n"
          "print('ready', flush=True)\ntime.sleep(600)\n")
GCORE_TIMEOUT = 120.0
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
def _dumped(services: Services, script: str, argument: str, what: str) -> Iterator[tuple[Path, int]]:
    """The core (gcore) of a live drill process running `script` once it printed "ready";
    (path, pid). The process and its core are gone on every exit path."""
    with _scratch(services) as folder:
        proc = subprocess.Popen([sys.executable, "-c", script, argument], stdout=subprocess.PIPE,
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
        raise SignwardError("the home has no canary material to drill with (dumps.canary)")
    with _dumped(services, HOLDER, str(canary), "the drill process") as dumped:
        yield dumped


SIGNER = ("import sys, time\nfrom pathlib import Path\nfrom signward.home import Home\n"
          "from signward.keys import PROBE_SUBJECT\nfrom signward.services import open_services\n"
          "services = open_services(Home(Path(sys.argv[1])), actor='signward-watch')\n"
          "held = services.issuer_context()\n"
          "for hook in held.startup:\n    hook()\n"
          "for realm in services.registry.realms():\n"
          "    services.tokens.issue(realm.name, sub=PROBE_SUBJECT, audience=PROBE_SUBJECT, tenant=PROBE_SUBJECT,"
          " ttl=60)\n"
          "print('ready', flush=True)\ntime.sleep(600)\n")


def drill_hsm(ctx: WatchContext) -> tuple[bool, str]:
    """hsm: every key's PKCS#11 attributes, then a crash drill: a drill instance of the issuer's
    signing path (the home's services, its canaries held as the issuer holds them) signs a token
    for every realm and is dumped with gcore; the known-key search for every realm key must find
    none, while finding every canary proves it saw the process."""
    with open_services(ctx.home, actor="signward-watch") as services:
        protected, detail = key_objects_protected(services)
        if not protected:
            return False, detail
        works, drilled = _crash_drill(services)
        return works, f"{detail}, sensitive and unextractable; {drilled}" if works else drilled


def _crash_drill(services: Services) -> tuple[bool, str]:
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
        return False, f"the drill signer's core holds realm key(s) {', '.join(leaked)}"
    if canary is not None:
        searched = {name for name, (detector, _, _) in canary.expected().items() if detector == "known-key"}
        missed = sorted(searched - set(canary.check(report.findings)))
        if missed:
            return False, f"the crash drill's search missed canaries {', '.join(missed)}: not shown to work"
    if report.incomplete:
        return False, f"the crash drill's search was cut short: {', '.join(report.incomplete)}"
    return True, "no realm key in a signer's core"


def _capture(pipeline: DumpPipeline, path: Path, pid: int | None = None) -> str:
    with open(path, "rb") as stream:
        return pipeline.capture(stream, DRILL, pid=pid, exe=sys.executable).id


def drill_redaction(ctx: WatchContext) -> tuple[bool, str]:
    """redaction: a drill core through the deployed capture comes out sanitized and clean."""
    with open_services(ctx.home, actor="signward-watch") as services, _drill_core(services) as (core, pid):
        pipeline = services.pipeline
        dump_id = _capture(pipeline, core, pid)
        try:
            record = pipeline.get(dump_id)
            if record.state != DumpState.SANITIZED:
                return False, f"drill dump {record.state}: {record.reason}"
            output = services.home.quarantine_dir / f"{dump_id}.sanitized"
            known = pipeline.known()
            canary = pipeline.canary()
            if canary is not None:
                canary.add_to(known)
            report = scan_path(output, None, known)
            left = [f for f in report.findings if not f.advisory]
            if left or report.incomplete:
                return False, (f"the certified drill dump still holds {len(left)} finding(s)"
                               + (f", first {left[0].kind}" if left else "") + (" (incomplete)" if report.incomplete
                                                                                else ""))
            return True, "drill core sanitized, canaries removed, independent re-scan clean"
        finally:
            pipeline.discard_drill(dump_id)


def drill_canary_check(ctx: WatchContext) -> tuple[bool, str]:
    """canary_check: the drill core, with a detector switched off, must be refused."""
    with open_services(ctx.home, actor="signward-watch") as services, _drill_core(services) as (core, pid):
        config = services.config
        narrowed = dataclasses.replace(config, dumps=dataclasses.replace(config.dumps, insecure_detectors="text"))
        pipeline = DumpPipeline(services.home, narrowed, services.store, services.audit, services.clock)
        dump_id = _capture(pipeline, core, pid)
        try:
            record = pipeline.get(dump_id)
            if record.state == DumpState.REFUSED and record.reason.startswith(DumpReason.CANARY_MISSED.value):
                return True, "a drill with only the text detector was refused: canary missed"
            return False, f"a drill with only the text detector was {record.state} {record.reason}".strip()
        finally:
            pipeline.discard_drill(dump_id)


def drill_release_gate(ctx: WatchContext) -> tuple[bool, str]:
    """release_gate: a drill dump the sanitizer refused must not pass the gate."""
    with open_services(ctx.home, actor="signward-watch") as services, _scratch(services) as folder:
        pipeline = services.pipeline
        bogus = folder / "unreadable.zst"
        bogus.write_bytes(b"\x28\xb5\x2f\xfd" + secrets.token_bytes(4096))  # zstd magic, then noise
        dump_id = _capture(pipeline, bogus)
        try:
            record = pipeline.get(dump_id)
            if record.state != DumpState.REFUSED:
                return False, f"the unreadable drill dump was {record.state}: probe broken"
            try:
                pipeline.release(dump_id, to=folder / "store")
            except DumpRefused as refusal:
                if refusal.reason == DumpReason.NOT_SANITIZED:
                    return True, "the gate refused a refused drill dump (not_sanitized)"
                return False, f"the gate let a refused drill dump through; it was stopped later ({refusal.reason})"
            return False, "the gate released a refused drill dump"
        finally:
            pipeline.discard_drill(dump_id)


def drill_grant_approval(ctx: WatchContext) -> tuple[bool, str]:
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
                    return True, "a direct grant (no request, no second person) was refused (needs_approval)"
                return False, f"the direct grant was refused for another reason ({refusal.reason})"
            except SignwardError as exc:  # got past the approval rule to the dump's state
                return False, f"a direct grant is not refused for want of approval ({exc})"
            return False, "one account granted itself a dump"
        finally:
            pipeline.discard_drill(dump_id)


def drill_store_rescan(ctx: WatchContext) -> tuple[bool, str]:
    """store_rescan: a file holding a canary key, put straight into the store's intake, is refused."""
    with open_services(ctx.home, actor="signward-watch") as services:
        pipeline = services.pipeline
        canary = pipeline.canary()
        if canary is None:
            return False, "the home has no canary material to drill with (dumps.canary)"
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
                return True, "the store's re-scan refused a drill file holding a canary key"
            return False, f"the store refused the drill file for another reason ({refusal.reason})"
        store.delete(drill_id)
        return False, "the store accepted a drill file holding a canary key"


__all__ = ["drill_canary_check", "drill_grant_approval", "drill_hsm", "drill_redaction", "drill_release_gate",
           "drill_store_rescan"]
