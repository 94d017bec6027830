"""The Storm-0558 run: crash, pipeline, fetch, steal, forge, call the mail API; then detection.

`Lab` owns a temporary directory of real deployments and caches each stage's result under the
controls that stage depends on, so an ablation over many sets of switched-off controls runs
each stage once per distinct setting:

=================  ==========================================================
crash              hsm, rotation (a served issuer crashed with SIGSEGV)
capture/sanitize   + redaction, canary_check (`signward dumps capture`)
release, store     + release_gate, store_rescan (`dumps release`, own store)
grant, fetch       + grant_approval (`debug request`/`approve`/`grant`/`fetch` as the engineer)
steal              the fetched bytes (the attacker's search)
mail API           + key_expiry, issuer_binding, issuance_check (a validator configuration)
forensics          + audit_retention (a pruned copy of the audit log)
=================  ==========================================================

Each step says whether the key got through it and, if not, which control stopped it. The
verdict is the mail API's answer to the forged enterprise token, nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ..audit import AuditLog
from ..clock import FixedClock, iso
from ..dumps.canary import Canary
from ..dumps.reasons import DumpReason
from ..errors import SignwardError, UsageError
from ..keys.model import DAY
from ..store import store_for
from .attacker import StolenKey, forge_token, loose_keys, steal_keys
from .controls import CONTROLS
from .crash import ServedIssuer
from .deployment import (
    CONSUMER_ISSUER,
    CUSTODIES,
    ENTERPRISE_ISSUER,
    TENANT,
    Capture,
    Crash,
    LabOpenBao,
    ServedRealm,
    audit_head,
    capture,
    crash_consumer,
    discard_copies,
    make_realm,
    release_all,
    run_cli,
    stop_home,
)
from .mailapi import AUDIENCE, MailService
from .referee import rsa_factor_offsets

ATTACK_AFTER = 90 * DAY  # the forged tokens are used three months after the crash
SHORT_RETENTION = 30 * DAY  # audit_retention off: the log keeps a month
MESSAGES = [{"from": "cfo@contoso.example", "subject": "Q3 board minutes (confidential)"},
            {"from": "legal@contoso.example", "subject": "Acquisition term sheet"}]

STEPS = {
    "crash": "the consumer issuer crashes (SIGSEGV); its core holds the signing key",
    "sanitize": "the key leaves the sender's sanitizer in a dump marked sanitized",
    "release": "a dump holding the key leaves quarantine for the debugging store",
    "store": "the debugging store keeps the dump holding the key",
    "grant": "a compromised engineer account gets a grant to it and fetches it",
    "steal": "the attacker finds a published key's private half in the fetched bytes",
    "key_window": "a token forged with it for a consumer mailbox is accepted at attack time",
    "enterprise_mail": "a consumer-key token forged for the enterprise tenant reads its mail",
}


@dataclass
class LabStep:
    step: str
    outcome: str  # "passed" or "blocked"
    blocked_by: str | None
    detail: str
    reached: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "what": STEPS[self.step], "outcome": self.outcome, "blocked_by": self.blocked_by,
                "reached": self.reached, "detail": self.detail}


@dataclass
class LabResult:
    controls: dict[str, bool]
    steps: list[LabStep]
    breached: bool
    alerts: list[dict[str, Any]]
    forensics: dict[str, Any]
    timeline: dict[str, str | None]
    stolen: list[dict[str, Any]] = field(default_factory=list)

    @property
    def disabled(self) -> list[str]:
        return [c for c, on in self.controls.items() if not on]

    @property
    def stopped_by(self) -> LabStep | None:
        """The first step that blocked the key, if any."""
        return next((s for s in self.steps if s.outcome == "blocked"), None)

    def to_dict(self) -> dict[str, Any]:
        return {"breached": self.breached, "controls": self.controls, "steps": [s.to_dict() for s in self.steps],
                "alerts": self.alerts, "forensics": self.forensics, "timeline": self.timeline,
                "stolen_keys": self.stolen}


@dataclass
class Attempt:
    """The attacker's calls to the mail API with one stolen key."""

    kid: str
    consumer_status: int
    consumer_reason: str | None
    enterprise_status: int
    enterprise_reason: str | None
    messages: int
    alerts: list[dict[str, Any]]


class Lab:
    """Real deployments in `workdir` (a temporary directory when None), stage results cached.
    `custody` is where the HSM-on deployments keep their keys: "pkcs11" (the embedded HSM) or
    "transit" (a dev OpenBao the lab starts on loopback and stops on close)."""

    def __init__(self, workdir: Path | None = None, workers: int = 2,
                 log: Callable[[str], None] | None = None, keep_dumps: bool = False,
                 custody: str = "pkcs11") -> None:
        if custody not in CUSTODIES:
            raise UsageError(f"custody must be one of {', '.join(CUSTODIES)}, not {custody!r}")
        self.custody = custody
        self.bao: LabOpenBao | None = None
        self._own = workdir is None
        self.workdir = Path(tempfile.mkdtemp(prefix="signward-lab-")) if workdir is None else workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.workers = workers
        self.keep_dumps = keep_dumps  # else each dump's copies go once searched (an ablation would fill a disk)
        self.log = log or (lambda message: None)
        self._crashes: dict[tuple[bool, bool], Crash] = {}
        self._captures: dict[tuple[bool, bool, bool, bool], Capture] = {}
        self._keys: dict[str, list[StolenKey]] = {}  # by the sha256 of the bytes searched
        self._referee: dict[str, bool] = {}  # the independent factor search, by the same
        self._digests: dict[tuple[str, int, int, int], str] = {}
        self._mail: dict[tuple[bool, ...], MailService] = {}
        self._attempts: dict[tuple[object, ...], Attempt] = {}
        self._issuers: dict[str, ServedIssuer] = {}  # served again for the issuance check
        self._introspect_clients: dict[str, tuple[str, str]] = {}
        self._logs: dict[tuple[bool, bool, bool], tuple[int, set[tuple[str, str]], int]] = {}
        self._enterprise: ServedRealm | None = None
        self._enterprise_token = ""
        self._lock = threading.Lock()
        self._preparing = threading.Lock()  # held while a prepare makes crashes and claims captures
        self._making: dict[tuple[bool, bool, bool, bool], Future[Capture]] = {}  # captures being made
        self._closed = False
        self.stage_runs: dict[str, int] = {"crash": 0, "capture": 0, "release": 0, "steal": 0, "mail": 0}

    # -- lifecycle ------------------------------------------------------------------------
    def __enter__(self) -> "Lab":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop what the lab started (a second call does nothing)."""
        if self._closed:
            return
        self._closed = True
        for service in self._mail.values():
            service.stop()
        for issuer in self._issuers.values():
            issuer.stop()
        homes = [c.home for c in self._crashes.values()] + ([self._enterprise.home] if self._enterprise else [])
        for home in homes:
            stop_home(home)
        if self.bao is not None:
            self.bao.stop()
        if self._own:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- stages ---------------------------------------------------------------------------
    def _custody(self) -> LabOpenBao | None:
        """The OpenBao the HSM-on deployments sign in (started on first use), None for PKCS#11."""
        if self.custody == "transit" and self.bao is None:
            self.log("OpenBao (dev server on loopback): Transit, the issuer and operator policies")
            self.bao = LabOpenBao(self.workdir / "openbao").start()
        return self.bao

    def _enterprise_realm(self) -> ServedRealm:
        if self._enterprise is None:
            self.log("enterprise issuer (HSM) and its tenant's client")
            realm = make_realm(self.workdir / "enterprise", "enterprise", ENTERPRISE_ISSUER, TENANT, hsm=True,
                               lifetime=30 * DAY, bao=self._custody())
            self._enterprise_token = realm.token("enterprise")
            realm.issuer.stop()
            self._enterprise = realm
        return self._enterprise

    def _crash(self, hsm: bool, rotation: bool) -> Crash:
        key = (hsm, rotation)
        if key not in self._crashes:
            self.log(f"consumer issuer (hsm {'on' if hsm else 'OFF'}, rotation {'on' if rotation else 'OFF'}): "
                     "serve, sign, crash")
            self._crashes[key] = crash_consumer(self.workdir / f"consumer-h{int(hsm)}-r{int(rotation)}",
                                                hsm=hsm, rotation=rotation, bao=self._custody() if hsm else None)
            self.stage_runs["crash"] += 1
        return self._crashes[key]

    def _pipeline(self, key: tuple[bool, bool, bool, bool]) -> Capture:
        hsm, rotation, redaction, canary_check = key
        crash = self._crashes[(hsm, rotation)]
        self.log(f"dump pipeline: capture with redaction {'on' if redaction else 'OFF'}, canary check "
                 f"{'on' if canary_check else 'OFF'}; four releases")
        captured = capture(crash, redaction, canary_check)
        fetched = self.workdir / "fetched" / f"h{int(hsm)}-r{int(rotation)}"
        fetched.mkdir(parents=True, exist_ok=True)
        release_all(crash, captured, fetched)
        if captured.sanitized is not None:
            captured.sanitized_holds_key = self._holds(captured.sanitized, crash)
            self._second_opinion(captured.sanitized, crash, captured.sanitized_holds_key)
        for release in captured.releases.values():
            for fetch in release.fetches.values():
                if fetch.path is not None:
                    fetch.published = self._stolen(fetch.path, crash)
                    fetch.loose = self._stolen(fetch.path, crash, loose=True)
                    self._second_opinion(fetch.path, crash, self._holds(fetch.path, crash))
        if not self.keep_dumps:
            discard_copies(crash, captured)
        with self._lock:
            self._captures[key] = captured
            self.stage_runs["capture"] += 1
            self.stage_runs["release"] += len(captured.releases)
        return captured

    def prepare(self, runs: Iterable[frozenset[str]], wait: bool = True) -> None:
        """Run the stages these runs need and no run has needed before, `workers` pipelines at a time.
        Safe from several threads at once (a test session prepares its runs in the background while
        a test's run needs one of them): each capture is made once, by the first caller that needs
        it; a caller that needs a capture another is making waits for it (and gets its failure),
        unless `wait` is False (then it returns once its own are made)."""
        mine: list[tuple[tuple[bool, bool, bool, bool], Future[Capture]]] = []
        needed: list[Future[Capture]] = []
        with self._preparing:  # the crashes (seconds each) and the claims, one caller at a time
            self._enterprise_realm()
            for disabled in runs:
                on = {c: c not in disabled for c in CONTROLS}
                self._crash(on["hsm"], on["rotation"])
                key = (on["hsm"], on["rotation"], on["redaction"], on["canary_check"])
                if key in self._captures:
                    continue
                making = self._making.get(key)
                if making is None:
                    making = self._making[key] = Future()
                    mine.append((key, making))
                needed.append(making)
        if mine:
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                for key, future in mine:
                    pool.submit(self._make, key, future)
        for future in needed if wait else [future for _, future in mine]:
            future.result()

    def _make(self, key: tuple[bool, bool, bool, bool], future: Future[Capture]) -> None:
        try:
            captured = self._pipeline(key)
        except BaseException as exc:  # to every caller waiting for it; a later prepare tries again
            with self._lock:
                del self._making[key]
            future.set_exception(exc)
            return
        with self._lock:
            del self._making[key]
        future.set_result(captured)

    def _stolen(self, path: Path | None, crash: Crash, loose: bool = False) -> list[StolenKey]:
        """The attacker's search (also the referee's), cached by the bytes searched: the private
        halves of published keys, or with `loose` the other private keys lying in the bytes."""
        if path is None or not path.exists():
            return []
        key = self._digest(path)
        search = loose_keys if loose else steal_keys
        cache = f"{key}:{search.__name__}"
        if cache not in self._keys:
            found = search(path, [crash.realm.jwks, self._enterprise_realm().jwks])
            with self._lock:
                self._keys[cache] = found
                self.stage_runs["steal"] += not loose
        return self._keys[cache]

    def _digest(self, path: Path) -> str:
        """The sha256 of a file's bytes, cached by its identity (searches are cached by it)."""
        stat = path.stat()
        stamp = (str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)
        key = self._digests.get(stamp)
        if key is None:
            digest = hashlib.sha256()
            with open(path, "rb") as handle:
                while block := handle.read(8 << 20):
                    digest.update(block)
            key = digest.hexdigest()
            with self._lock:
                self._digests[stamp] = key
        return key

    def _second_opinion(self, path: Path, crash: Crash, verdict: bool) -> None:
        """The independent referee (`referee.py`) must agree with the attacker's search on
        whether `path` holds the consumer key; if not, the scanner under test is wrong and the
        lab's verdicts cannot be trusted: stop."""
        moduli = [int.from_bytes(base64.urlsafe_b64decode(k["n"] + "=" * (-len(k["n"]) % 4)), "big")
                  for k in crash.realm.jwks["keys"] if k.get("kty") == "RSA"]
        if not moduli:
            return
        cache = f"{self._digest(path)}:referee:{','.join(map(str, sorted(moduli)))}"
        if cache not in self._referee:
            found = bool(rsa_factor_offsets(path, moduli))
            with self._lock:
                self._referee[cache] = found
        independent = self._referee[cache]
        if independent != verdict:
            raise SignwardError(f"the lab's referees disagree on {path.name}: the known-key search says "
                              f"{'key' if verdict else 'no key'}, the factor search says "
                              f"{'key' if independent else 'no key'}")

    def _holds(self, path: Path, crash: Crash) -> bool:
        """Whether `path` holds the private half of one of this deployment's consumer keys."""
        consumer_kids = {k["kid"] for k in crash.realm.jwks["keys"]}
        return any(k.kid in consumer_kids for k in self._stolen(path, crash))

    def _introspection(self, crash: Crash) -> dict[str, tuple[str, str, str]]:
        """Both issuers served again (the consumer's from its home after the crash), each with
        a client holding the introspect scope: the mail API's issuance check asks them."""
        wanted = {CONSUMER_ISSUER: (crash.home, "consumer", "consumers",
                                    f"introspect-h{int(crash.hsm)}-r{int(crash.rotation)}"),
                  ENTERPRISE_ISSUER: (self._enterprise_realm().home, "enterprise", TENANT, "introspect-enterprise")}
        out = {}
        for issuer, (home, realm, tenant, name) in wanted.items():
            if name not in self._issuers:
                served = ServedIssuer(home.root, self.workdir / name, cores=False).start()
                self._issuers[name] = served
                made = run_cli(home, "client", "create", "--realm", realm, "--tenant", tenant, "--audience",
                               AUDIENCE, "--scope", "introspect")
                self._introspect_clients[name] = (made["client_id"], made["client_secret"])
            client_id, secret = self._introspect_clients[name]
            out[issuer] = (f"{self._issuers[name].base}/realms/{realm}/introspect", client_id, secret)
        return out

    def _mail_service(self, crash: Crash, key_expiry: bool, issuer_binding: bool, canaries: bool,
                      issuance: bool) -> MailService:
        key = (crash.hsm, crash.rotation, key_expiry, issuer_binding, canaries, issuance)
        if key not in self._mail:
            enterprise = self._enterprise_realm()
            honey: list[str] = []
            honey_keys: list[dict[str, Any]] = []  # an alert needs a signature that verifies under one
            if canaries:  # the canaries are honey keys too: a token under one proves a dump leaked
                config = crash.home.load_config()
                canary_file = crash.home.canary_path(config)
                honey = list(Canary.load(canary_file).kids.values()) if canary_file is not None else []
                honey_keys = list(Canary.load(canary_file).public()["keys"]) if canary_file is not None else []
            service = MailService(self.workdir / "mail" / "-".join(str(int(k)) for k in key), CONSUMER_ISSUER,
                                  ENTERPRISE_ISSUER, TENANT, MESSAGES, key_expiry=key_expiry,
                                  issuer_binding=issuer_binding, now=time.time(), honey=honey, honey_keys=honey_keys,
                                  introspect=self._introspection(crash) if issuance else None)
            service.sync(CONSUMER_ISSUER, crash.realm.jwks)
            service.sync(ENTERPRISE_ISSUER, enterprise.jwks)
            service.start()
            resp = httpx.get(f"{service.base}/mail/tenants/{TENANT}/messages",
                             headers={"Authorization": f"Bearer {self._enterprise_token}"}, timeout=10)
            if resp.status_code != 200 or resp.json().get("messages") != MESSAGES:
                service.stop()
                raise RuntimeError(f"lab baseline failed: the tenant's own token got {resp.status_code} from the "
                                   "mail API, so a refusal of the forged token would prove nothing")
            service.clock.set(crash.time + ATTACK_AFTER)
            self._mail[key] = service
        return self._mail[key]

    def _attempt(self, crash: Crash, stolen: StolenKey, key_expiry: bool, issuer_binding: bool,
                 canaries: bool, issuance: bool) -> Attempt:
        key = (crash.hsm, crash.rotation, stolen.kid, key_expiry, issuer_binding, canaries, issuance)
        if key in self._attempts:
            return self._attempts[key]
        service = self._mail_service(crash, key_expiry, issuer_binding, canaries, issuance)
        now = service.clock.now()
        before = max((r.seq for r in service.audit.records()), default=0)
        consumer = forge_token(stolen, issuer=CONSUMER_ISSUER, subject="victim@outlook.example", tenant="consumers",
                               audience=AUDIENCE, now=now)
        first = httpx.get(f"{service.base}/mail/consumers/victim@outlook.example/messages",
                          headers={"Authorization": f"Bearer {consumer}"}, timeout=10)
        middle = max((r.seq for r in service.audit.records()), default=0)
        enterprise = forge_token(stolen, issuer=ENTERPRISE_ISSUER, subject="admin", tenant=TENANT,
                                 audience=AUDIENCE, now=now)
        second = httpx.get(f"{service.base}/mail/tenants/{TENANT}/messages",
                           headers={"Authorization": f"Bearer {enterprise}"}, timeout=10)
        records = [r for r in service.audit.records() if r.seq > before]

        def reason(low: int, high: float) -> str | None:
            hits = [r.details.get("reason") for r in records if low < r.seq <= high]
            return str(hits[0]) if hits else None

        messages = len(second.json().get("messages", [])) if second.status_code == 200 else 0
        alerts = [{"source": "mail API", "severity": r.severity, "action": r.action, "object": r.object,
                   "details": {k: r.details.get(k) for k in ("reason", "issuer", "kid", "detail")}}
                  for r in records if r.severity == "alert"]
        attempt = Attempt(stolen.kid, first.status_code, reason(before, middle), second.status_code,
                          reason(middle, float("inf")), messages, alerts)
        self._attempts[key] = attempt
        self.stage_runs["mail"] += 1
        return attempt

    def _forensics(self, crash: Crash, retention_on: bool, engineer: str, dump_id: str) -> dict[str, Any]:
        """At investigation (attack) time: is the fetch still in a real, pruned copy of the audit log?"""
        key = (crash.hsm, crash.rotation, retention_on)
        retention = crash.home.load_config().audit.retention_days * DAY if retention_on else SHORT_RETENTION
        head = audit_head(crash)  # the copy below holds at least these records
        cached = self._logs.get(key)
        if cached is None or cached[0] < head:
            run_cli(crash.home, "audit", "checkpoint")  # signed in the deployment's own signer
            copy = self.workdir / "forensics" / f"h{int(crash.hsm)}-r{int(crash.rotation)}-a{int(retention_on)}.db"
            copy.parent.mkdir(exist_ok=True)
            copy.unlink(missing_ok=True)
            source, target = sqlite3.connect(crash.home.db_path), sqlite3.connect(copy)
            try:
                source.backup(target)
            finally:
                source.close()
                target.close()
            store = store_for("", copy)
            try:
                audit = AuditLog(store, None, FixedClock(crash.time + ATTACK_AFTER))
                # the floor is lifted only for the lab's 2021 setting: signward refuses this retention
                pruned = audit.prune(retention, 0.0, actor="lab", insecure_below_floor=not retention_on)["pruned"]
                kept = {(r.actor, r.object) for r in audit.records(action="debug.fetch")}
            finally:
                store.close()
            cached = (head, kept, pruned)
            self._logs[key] = cached
        _, kept, pruned = cached
        return {"audit_retention_days": round(retention / DAY),
                "records_pruned": pruned, "fetch_in_log": (engineer, dump_id) in kept if engineer else None,
                "engineer": engineer or None}

    # -- one run --------------------------------------------------------------------------
    def run(self, disabled: frozenset[str] = frozenset()) -> LabResult:
        self.prepare([disabled])
        on = {c: c not in disabled for c in CONTROLS}
        crash = self._crashes[(on["hsm"], on["rotation"])]
        captured = self._captures[(on["hsm"], on["rotation"], on["redaction"], on["canary_check"])]
        release = captured.releases[(on["release_gate"], on["store_rescan"])]
        consumer_kids = {k["kid"] for k in crash.realm.jwks["keys"]}

        steps: list[LabStep] = []
        carried: list[str | None] = [None]

        def add(name: str, reached: bool, passed: bool, blocker: str | None, detail: str) -> bool:
            if passed:
                steps.append(LabStep(name, "passed", None, detail, reached))
            else:
                by = blocker if reached else carried[0]
                carried[0] = by
                steps.append(LabStep(name, "blocked", by, detail if reached else f"not reached ({detail})", reached))
            return passed

        in_core = add("crash", True, self._holds(crash.core, crash), "hsm",
                      f"core of {crash.core.stat().st_size} bytes, pid {crash.pid}")
        sanitized_key = captured.state == "sanitized" and captured.sanitized_holds_key
        said = f"{captured.reason}: {captured.detail}" if captured.detail else captured.reason
        add("sanitize", in_core, sanitized_key,
            "canary_check" if captured.reason == DumpReason.CANARY_MISSED else "redaction",
            f"dump {captured.dump_id}: {captured.state}" + (f" ({said[:120]})" if said else ""))
        gate_passed = release.released or release.reason in (DumpReason.STORE_RESCAN, DumpReason.STORE_UNREADABLE)
        offered_key = captured.sanitized_holds_key if captured.sanitized is not None else in_core
        released_key = gate_passed and offered_key
        # a gate that let a clean dump out was not reached by the key: the sanitizer stopped it
        add("release", in_core and not (gate_passed and not released_key), released_key, "release_gate",
            f"release gate {'on' if on['release_gate'] else 'OFF'}: " +
            (f"released the {_offered(captured)}" if release.released else
             f"refused ({release.reason})" if not gate_passed else
             f"passed the gate; the {_offered(captured)} went on"))
        stored_key = released_key and release.released
        add("store", released_key, stored_key, "store_rescan",
            f"store re-scan {'on' if on['store_rescan'] else 'OFF'}: " +
            ("kept" if release.released else f"refused ({release.reason})"))
        fetch = release.fetches.get(on["grant_approval"])
        got = fetch is not None and fetch.path is not None
        add("grant", stored_key, stored_key and got, "grant_approval",
            f"grant approval {'on' if on['grant_approval'] else 'OFF'}: {release.engineer} " +
            ("fetched the dump" if got else "was refused (no second person approved a grant)" if fetch is not None
             else "had nothing to fetch"))
        stolen = [k for k in fetch.published if k.kid in consumer_kids] if fetch is not None else []
        add("steal", stored_key and got, bool(stolen), None,
            (f"found {stolen[0].kid[:12]}... as {stolen[0].found_as}" if stolen
             else "no published key's private half in the bytes") if got else "nothing fetched")
        switches = (on["key_expiry"], on["issuer_binding"], on["canary_check"], on["issuance_check"])
        attempts = [self._attempt(crash, key, *switches) for key in stolen]
        # every other private key in the bytes is tried too (the canaries, if they survived)
        loose = list(fetch.loose) if fetch is not None else []
        tried = [self._attempt(crash, key, *switches) for key in loose]
        best = max(attempts, key=lambda a: (a.enterprise_status == 200, a.consumer_status == 200), default=None)
        in_window = best is not None and best.consumer_status == 200
        add("key_window", bool(stolen), in_window, _control_for(best.consumer_reason if best else None),
            f"consumer mailbox: HTTP {best.consumer_status}" + (f" ({best.consumer_reason})" if best.consumer_reason
                                                               else "") if best else "no key to forge with")
        breached = any(a.enterprise_status == 200 and a.messages > 0 for a in attempts + tried)
        add("enterprise_mail", bool(stolen), breached, _control_for(best.enterprise_reason if best else None),
            f"tenant {TENANT}: HTTP {best.enterprise_status}" + (f" ({best.enterprise_reason})"
                                                                 if best.enterprise_reason else
                                                                 f", {best.messages} messages read")
            if best else "no key to forge with")
        alerts = (list(captured.alerts) + list(release.alerts) + (list(fetch.alerts) if fetch is not None else []) +
                  [a for at in tried + attempts for a in at.alerts])
        forensics = self._forensics(crash, on["audit_retention"], release.engineer if got else "",
                                    captured.dump_id)
        timeline = {"crash": iso(crash.time), "attack": iso(crash.time + ATTACK_AFTER),
                    "consumer_key_verify_until": iso(max(float(k.get("exp", 0)) for k in crash.realm.jwks["keys"]))}
        return LabResult(on, steps, breached, alerts, forensics, timeline,
                         [{**k.to_dict(), "issuer": CONSUMER_ISSUER} for k in stolen] + [k.to_dict() for k in loose])


def _offered(captured: Capture) -> str:
    return "sanitized dump" if captured.sanitized is not None else "quarantined core"


def _control_for(reason: str | None) -> str | None:
    """Which control a validator rejection reason is."""
    return {"key_expired": "key_expiry", "key_not_bound_to_issuer": "issuer_binding",
            "unknown_key": "issuer_binding", "not_issued": "issuance_check",
            "introspection_unavailable": "issuance_check"}.get(reason or "", reason)


__all__ = ["ATTACK_AFTER", "STEPS", "Lab", "LabResult", "LabStep"]
