"""Prometheus metrics of the issuer (text format via prometheus_client, one registry per app)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class IssuerMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.tokens_issued = Counter("signward_tokens_issued", "Access tokens issued", ["realm"],
                                     registry=self.registry)
        self.token_errors = Counter("signward_token_errors", "Token requests refused", ["realm", "error"],
                                    registry=self.registry)
        self.hsm_errors = Counter("signward_hsm_errors", "Signing failures in the HSM path", ["realm"],
                                  registry=self.registry)
        self.rotation_failures = Counter("signward_rotation_failures", "Rotation rounds a realm did not rotate in",
                                         ["realm"], registry=self.registry)
        self.rotation_loop_errors = Counter("signward_rotation_loop_errors",
                                            "Rotation rounds that raised before every realm was tried",
                                            registry=self.registry)
        self.sign_seconds = Histogram("signward_sign_seconds", "Time to sign one token in the HSM path",
                                      ["realm"], registry=self.registry,
                                      buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1.0))

        self.hsm_seconds = Histogram("signward_hsm_sign_seconds", "Time of the HSM signature alone",
                                     ["realm"], registry=self.registry,
                                     buckets=(0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.5))
        self._hsm_children: dict[str, Histogram] = {}
        self.audit_batch_size = Histogram("signward_audit_batch_size", "Audit records committed per transaction",
                                          registry=self.registry, buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 1024))
        self.audit_batch_seconds = Histogram("signward_audit_batch_seconds", "Time to commit one audit batch",
                                             registry=self.registry,
                                             buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1.0))

    def observe_hsm(self, realm: str, seconds: float) -> None:
        child = self._hsm_children.get(realm)  # labels() takes the family's lock and builds a key each call
        if child is None:
            child = self._hsm_children.setdefault(realm, self.hsm_seconds.labels(realm))
        child.observe(seconds)

    def observe_batch(self, size: int, seconds: float) -> None:
        self.audit_batch_size.observe(size)
        self.audit_batch_seconds.observe(seconds)

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))
