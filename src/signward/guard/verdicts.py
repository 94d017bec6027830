"""Valid verdicts remembered per (token, audience), so a client's repeated requests skip the
parse and the signature check, and nothing else.

An entry lives until the token expires (its `exp` plus the skew) or its key's window closes,
whichever is first, and every hit is checked again against the state of the world now: the
key must still be in its issuer's current, usable key set with the same thumbprint and window
(a revoked key leaves the JWKS and its tokens stop at the next refresh), and neither the kid nor
the thumbprint may have become a honey key. Only valid verdicts are kept (a refusal is cheap,
and a cache of refusals would be a cache an attacker fills); at most `size` entries, the oldest
dropped first. A check that introspects (a route with `introspect = true`) is not kept here: the
Introspector caches its answers for a bounded time, so a revocation still reaches the guard.
"""

from __future__ import annotations

import threading

from ..verify.sources import JwksUnavailable
from ..verify.validator import Validator, Verdict

Fingerprint = tuple[str, float | None, float | None]


class VerdictCache:
    def __init__(self, validator: Validator, size: int = 10_000) -> None:
        self.validator = validator
        self.size = size
        self.hits = 0
        self._entries: dict[tuple[str, str], tuple[Verdict, float, Fingerprint]] = {}
        self._lock = threading.Lock()

    def _fingerprint(self, verdict: Verdict) -> Fingerprint | None:
        """The verdict's key as its issuer's current set has it; None if gone, closed or honey."""
        if verdict.issuer is None or verdict.kid is None or verdict.kid in self.validator.honey:
            return None
        try:
            key = self.validator.sources[verdict.issuer].keys().get(verdict.kid)
        except JwksUnavailable:
            return None
        if key is None or key.thumbprint in self.validator.honey:
            return None
        return key.thumbprint, key.nbf, key.exp

    def verify(self, token: str, audience: str, introspect: bool = False) -> Verdict:
        """The validator's verdict, from the cache when a valid one still holds (never for a check
        that introspects: the Introspector keeps its own, revocation-bound cache)."""
        if introspect:
            return self.validator.verify(token, audience=audience, introspect=True)
        entry = (token, audience)
        now = self.validator.clock.now()
        found = self._entries.get(entry)
        if found is not None:
            verdict, until, fingerprint = found
            if now < until and self._fingerprint(verdict) == fingerprint:
                self.hits += 1
                return verdict
            with self._lock:
                self._entries.pop(entry, None)
        verdict = self.validator.verify(token, audience=audience, introspect=False)
        if not verdict.valid or verdict.claims is None or self.size <= 0:
            return verdict
        key = self._fingerprint(verdict)
        exp = verdict.claims.get("exp")
        if key is None or not isinstance(exp, (int, float)):
            return verdict
        until = min(float(exp) + self.validator.skew, key[2] if key[2] is not None else float("inf"))
        with self._lock:
            while len(self._entries) >= self.size:
                self._entries.pop(next(iter(self._entries)))
            self._entries[entry] = (verdict, until, key)
        return verdict
