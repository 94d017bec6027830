"""The strict validator as a service for proxies: Envoy ext_authz (gRPC and HTTP), nginx
auth_request and Traefik ForwardAuth, with background key sets, metrics and audited refusals."""

from .config import CLAIM_HEADERS, GuardConfig, Route, TrustedIssuer
from .decision import Attempt, Decision, Guard, GuardReason
from .keysets import KeySetState, RefreshingSource, WatchedFile
from .server import run, serve
from .service import GuardService

__all__ = [
    "CLAIM_HEADERS",
    "Attempt",
    "Decision",
    "Guard",
    "GuardConfig",
    "GuardReason",
    "GuardService",
    "KeySetState",
    "RefreshingSource",
    "Route",
    "TrustedIssuer",
    "WatchedFile",
    "run",
    "serve",
]
