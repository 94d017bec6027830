"""The lab's last step: `signward watch` against a deployment with the run's controls off.

One home holds the whole deployment the watcher sees: the signing backend (software keys
with `hsm` off), two realms served by one `signward serve` on loopback (a five-year consumer
key with `rotation` off), their tripwires, the dump pipeline with the `dumps.insecure_*`
settings of the switched-off controls, and the mail API as a relying party behind signward's
validator middleware (`insecure_ignore_key_validity`, `insecure_shared_keyset` with
`key_expiry`, `issuer_binding` off; introspection at the enterprise issuer unless
`issuance_check` is off), and `dumps.insecure_self_grant` with `grant_approval` off. One
watch round measures its current depth.

The race that defeated redaction in 2021 cannot be probed: a watched deployment runs
redaction as designed (every detector), so the 2021 preset measures depth 1, redaction alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..depth import load_model
from ..home import AuditConfig, Config, DumpsConfig, Home, HsmConfig
from ..hsm import server as hsm_server
from ..keys.model import DAY
from ..services import init_home
from ..verify import BearerTokenMiddleware, Validator
from ..watch import RelyingParty, Round, WatchConfig, record_round, run_round
from .ablate import MODEL
from .crash import ServedIssuer, free_port
from .deployment import run_cli, stop_home
from .loopback import ThreadedServer

UNPROBEABLE = frozenset({"redaction"})  # its 2021 failure was a race, not a setting


def _config(disabled: frozenset[str], lifetime: float) -> Config:
    hsm = (HsmConfig(backend="software", allow_insecure_software_keys=True) if "hsm" in disabled else HsmConfig())
    return Config(hsm=hsm, audit=AuditConfig(retention_days=(lifetime + 2 * DAY) / DAY + 366),
                  dumps=DumpsConfig(insecure_skip_canary_check="canary_check" in disabled,
                                    insecure_no_release_gate="release_gate" in disabled,
                                    insecure_skip_store_rescan="store_rescan" in disabled,
                                    insecure_self_grant="grant_approval" in disabled))


@contextmanager
def _mail_api(base: str, disabled: frozenset[str], introspect: tuple[str, str]) -> Iterator[str]:
    """The mail API's token check: signward's validator, trusting both realms, switched as asked;
    with the issuance check it introspects enterprise tokens with the client `introspect`."""
    async def whoami(request: Request) -> JSONResponse:
        return JSONResponse({"sub": request.state.claims["sub"]})

    enterprise = f"{base}/realms/enterprise"
    asks = {} if "issuance_check" in disabled else {enterprise: (f"{enterprise}/introspect", *introspect)}
    trust = {f"{base}/realms/{r}": f"{base}/realms/{r}/jwks.json" for r in ("consumer", "enterprise")}
    validator = Validator(trust=trust,
                          audience="mail", insecure_ignore_key_validity="key_expiry" in disabled,
                          insecure_shared_keyset="issuer_binding" in disabled, introspect=asks)
    app = BearerTokenMiddleware(Starlette(routes=[Route("/mail/whoami", whoami)]), validator, protect=("/mail/",))
    server = ThreadedServer(app).start()
    try:
        yield f"{server.base}/mail/whoami"
    finally:
        server.stop()
        validator.close()


def watch_deployment(root: Path, disabled: frozenset[str]) -> Round:
    """Build the deployment with `disabled` off (except what cannot be probed), watch one round."""
    disabled = disabled - UNPROBEABLE
    lifetime = 5 * 365 * DAY if "rotation" in disabled else 30 * DAY
    home = Home(root / "home")
    config = init_home(home, _config(disabled, lifetime))
    if "hsm" not in disabled:
        hsm_server.start(home, config.hsm)
    issuer = ServedIssuer(home.root, root / "proc", free_port(), cores=False)
    try:
        for name, days in (("consumer", lifetime), ("enterprise", 30 * DAY)):
            run_cli(home, "realm", "create", name, "--issuer", f"{issuer.base}/realms/{name}", "--alg", "ES256",
                    "--max-signing-lifetime", f"{days:.0f}s")
            run_cli(home, "keys", "tripwire", "--realm", name)
        made = run_cli(home, "client", "create", "--realm", "enterprise", "--tenant", "contoso", "--audience", "mail",
                       "--scope", "introspect")
        issuer.start()
        with _mail_api(issuer.base, disabled, (made["client_id"], made["client_secret"])) as url:
            watch = WatchConfig(probe_timeout=300, relying_parties=(
                RelyingParty(name="mail-api", url=url, realm="enterprise", audience="mail"),))
            found = run_round(home, load_model(MODEL), watch)
            record_round(home, found)
            return found
    finally:
        issuer.stop()
        stop_home(home)


__all__ = ["UNPROBEABLE", "watch_deployment"]
