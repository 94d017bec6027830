"""Asking the issuer whether it issued a token (RFC 7662 introspection), for relying parties
that guard high-value data.

A stolen key signs tokens that pass every local check; what it cannot do is put them into the
issuer's own record. `Introspector.issued(token, exp)` posts the token to the issuer's
introspection endpoint, authenticated as a client holding the `introspect` scope, and caches
the answer by the token's SHA-256: an active answer until the token's `exp` or `active_ttl`
(60 s) whichever is first (so a revocation reaches this relying party within a minute), an
inactive one for `inactive_ttl` (10 s). No redirects, a 64 KiB answer at most, a 2 s timeout;
any failure raises IntrospectionUnavailable and the validator refuses (fail closed).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict

import httpx

from ..clock import Clock, SystemClock
from ..errors import SignwardError
from .bounded import read_limited

MAX_ANSWER = 64 * 1024


class IntrospectionUnavailable(SignwardError):
    """The issuer could not say whether it issued the token: refuse."""


class Introspector:
    def __init__(self, url: str, client_id: str, secret: str, *, clock: Clock | None = None, timeout: float = 2.0,
                 active_ttl: float = 60.0, inactive_ttl: float = 10.0, size: int = 10_000,
                 client: httpx.Client | None = None) -> None:
        if not url.startswith(("https://", "http://")):
            raise ValueError(f"introspection URL must be http(s): {url!r}")
        self.url = url
        self.clock = clock or SystemClock()
        self.active_ttl = active_ttl
        self.inactive_ttl = inactive_ttl
        self.size = size
        self.calls = 0
        self._auth = (client_id, secret)
        self._client = client or httpx.Client(timeout=timeout, follow_redirects=False)
        self._cache: OrderedDict[str, tuple[float, bool]] = OrderedDict()
        self._lock = threading.Lock()

    def close(self) -> None:
        self._client.close()

    def _ask(self, token: str) -> bool:
        self.calls += 1
        try:
            with self._client.stream("POST", self.url, auth=self._auth,
                                     data={"token": token, "token_type_hint": "access_token"},
                                     headers={"Accept": "application/json"}) as resp:
                if resp.status_code != 200:
                    raise ValueError(f"HTTP {resp.status_code}")
                body = read_limited(resp, MAX_ANSWER)
            answer = json.loads(body.decode("utf-8"))
        except (httpx.HTTPError, ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise IntrospectionUnavailable(f"introspection at {self.url} failed: {exc}") from None
        if not isinstance(answer, dict) or not isinstance(answer.get("active"), bool):
            raise IntrospectionUnavailable(f"introspection at {self.url} gave no boolean 'active'")
        return answer["active"] is True

    def issued(self, token: str, exp: float) -> bool:
        """Whether the issuer says the token is active (issued by it, not expired, not revoked)."""
        key = hashlib.sha256(token.encode("ascii", "replace")).hexdigest()
        now = self.clock.now()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and now < hit[0]:
                return hit[1]
        active = self._ask(token)
        until = min(exp, now + self.active_ttl) if active else now + self.inactive_ttl
        with self._lock:
            self._cache[key] = (until, active)
            self._cache.move_to_end(key)
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return active
