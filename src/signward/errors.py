"""The one exception tree of signward.

```
SignwardError                      everything signward raises on purpose
  Rejected(reason, detail)         validator and policy decisions; `.refusal` is the `Refusal`
  HsmError                         the signing backend
    HsmUnavailable                 the HSM process or module cannot be reached (exit 3)
    KeyNotFound                    no such key object in the token
    SignatureCheckFailed           a fresh signature did not verify; nothing is released
    AlgorithmUnsupported           the module does not offer the mechanism
  KeyLifecycleError                registry decisions (no signing key, bad state change)
    NoSigningKey
    InvalidTransition
  NotFound                         a named realm, key or client does not exist (exit 2)
  AuditIntegrityError              the audit chain is broken, has a gap or was reordered
  StoreError                       the database (exit 3)
  InsecureConfiguration            a weak option used without its explicit opt-in
  UsageError                       bad input from the operator (exit 2)
    DumpFormatError                a dump that cannot be read: empty, truncated, corrupt, unknown
    DumpRefused(reason)            the dump path says no (signward.dumps.DumpReason; exit 1)
ConfigError(ValueError)            mistakes in configuration, outside the tree (exit 2)
```

`diagnostics()` is the one-line message the CLI prints; `exit_code` is what it exits with.

`Refusal` is the one value of a "no" across the house: a reason (a member of a StrEnum: the
validator's `Reason`, `signward.dumps.DumpReason`, the guard's `GuardReason` and `PathReason`)
and a detail for people. Its value string is what JSON, metrics labels and audit records carry;
code and tests compare the member, never the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol


@dataclass(frozen=True)
class Refusal:
    """One "no": `reason` (a StrEnum member, the stable code) and `detail` (for people)."""

    reason: StrEnum
    detail: str = ""

    def to_dict(self) -> dict[str, str]:
        """The one JSON shape of a refusal's reason and detail."""
        return {"reason": self.reason.value, "detail": self.detail}

    def __str__(self) -> str:
        return f"{self.reason.value}: {self.detail}" if self.detail else self.reason.value


class Describes(Protocol):
    """What a refusing step knew, as JSON (a `SanitizeResult` from the sanitizer)."""

    def to_dict(self) -> dict[str, Any]: ...


class SignwardError(Exception):
    """Base of every error signward raises on purpose."""

    exit_code: int = 1

    def diagnostics(self) -> str:
        """One line for an operator: what went wrong, without a traceback."""
        text = str(self) or self.__class__.__name__
        return " ".join(text.split())


class Rejected(SignwardError):
    """A policy decision: the input was refused, `refusal` says why (`reason`, `detail`)."""

    def __init__(self, reason: StrEnum, detail: str = "") -> None:
        self.refusal = Refusal(reason, detail)
        super().__init__(str(self.refusal))

    @property
    def reason(self) -> StrEnum:
        return self.refusal.reason

    @property
    def detail(self) -> str:
        return self.refusal.detail

    @detail.setter
    def detail(self, value: str) -> None:
        """A new detail (a path renamed as its reader knows it): a new refusal, the same reason."""
        self.refusal = Refusal(self.refusal.reason, value)
        self.args = (str(self.refusal),)


class HsmError(SignwardError):
    """The signing backend failed."""

    exit_code = 3


class HsmUnavailable(HsmError):
    """The HSM cannot be reached: fail closed, nothing is signed."""


class KeyNotFound(HsmError):
    """The key object is not in the token."""


class SignatureCheckFailed(HsmError):
    """A signature fresh from the HSM did not verify under its public key."""


class AlgorithmUnsupported(HsmError):
    """The PKCS#11 module does not offer what this algorithm needs."""

    exit_code = 2


class KeyLifecycleError(SignwardError):
    """A key registry decision."""


class NoSigningKey(KeyLifecycleError):
    """The realm has no key allowed to sign now."""

    exit_code = 3


class InvalidTransition(KeyLifecycleError):
    """The requested state change is not allowed from the key's state."""

    exit_code = 2


class NotFound(SignwardError):
    """A realm, key or client named by the operator does not exist."""

    exit_code = 2


class AuditIntegrityError(SignwardError):
    """The audit chain does not verify."""


class StoreError(SignwardError):
    """The database failed (locked, corrupt, unreachable): fail closed."""

    exit_code = 3


class InsecureConfiguration(SignwardError):
    """A weak option is in use without its explicit, named opt-in."""

    exit_code = 2


class UsageError(SignwardError):
    """Bad input from the operator."""

    exit_code = 2


class DumpFormatError(UsageError):
    """A dump that cannot be read as what it claims to be: nothing is scanned or written."""


class DumpRefused(Rejected):
    """The dump path says no: the sanitizer will not certify, the gate or the store refuses,
    a fetch has no grant. `reason` is a `signward.dumps.DumpReason`; `result` is what the
    refusing step knew (a `SanitizeResult` from the sanitizer), or None."""

    def __init__(self, reason: StrEnum, detail: str = "", result: Describes | None = None) -> None:
        super().__init__(reason, detail)
        self.result = result

    def to_dict(self) -> dict[str, object]:
        """The one JSON shape of a refusal."""
        data: dict[str, object] = {"status": "refused", **self.refusal.to_dict()}
        if self.result is not None:
            data["result"] = self.result.to_dict()
        return data


class ConfigError(ValueError):
    """A mistake in configuration; outside the tree because it is a programming/operator error."""

    exit_code = 2

    def diagnostics(self) -> str:
        return " ".join((str(self) or "configuration error").split())
