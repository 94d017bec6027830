"""The probe vocabulary shared by `signward depth analyze --probe` and the watch: one context
(`ProbeContext`: the home and the watch configuration), one protocol (`Probe`: a callable that
takes the context and returns an outcome) and one outcome (`ProbeOutcome`: held or not, with a
`ProbeReason` and a detail). The generic runner (`signward.depth.probes`) fills in the probe's
name, its control and the time it took.

This module imports nothing of signward at run time (the home and the watch configuration are
annotations only), so `signward.depth` imports it without the issuer, the HSM or the dump path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..home import Home
    from ..watch.config import WatchConfig

MAX_DETAIL = 300  # characters of a detail kept in the outcome, the audit log and --json


class ProbeReason(StrEnum):
    """Why a probe says what it says: `held` when the control was shown to work, else the cause."""

    HELD = "held"  # the control was exercised where it lives and refused what it must refuse
    FAILED = "failed"  # the control was exercised and did not hold (accepted, leaked, released ...)
    NOT_SHOWN = "not_shown"  # nothing in the deployment can show that it holds (no relying party, no canaries)
    PROBE_BROKEN = "probe_broken"  # the probe's own control case failed: the probe, not the control, is broken
    RAISED = "raised"  # the probe raised: fail closed
    TIMED_OUT = "timed_out"  # the probe ran past its timeout: fail closed
    UNLOADABLE = "unloadable"  # `module:function` cannot be imported or is not callable
    BAD_RESULT = "bad_result"  # a function probe returned neither a ProbeOutcome nor a bool
    COMMAND_FAILED = "command_failed"  # a `cmd:` probe exited non-zero or could not start


def _default_watch() -> WatchConfig:
    from ..watch.config import WatchConfig

    return WatchConfig()


@dataclass(frozen=True)
class ProbeContext:
    """What every probe is given: the home whose deployment it probes and the watch
    configuration (relying parties, the signing-lifetime policy; its defaults outside the watch)."""

    home: Home
    watch: WatchConfig = field(default_factory=_default_watch)

    def env(self) -> dict[str, str]:
        """The environment for `cmd:` probes."""
        return {"SIGNWARD_HOME": str(self.home.root)}


@dataclass(frozen=True)
class ProbeOutcome:
    """What one probe found. A probe returns it through `held`/`failed` (probe and control
    empty, no duration); the runner completes it with `completed`."""

    held: bool
    reason: ProbeReason
    detail: str = ""
    probe: str = ""
    control: str = ""
    duration: float = 0.0

    def __post_init__(self) -> None:
        if self.held is not (self.reason is ProbeReason.HELD):
            raise ValueError(f"an outcome is held exactly when its reason is held, not {self.reason}")

    @classmethod
    def passed(cls, detail: str = "") -> ProbeOutcome:
        """The control held."""
        return cls(True, ProbeReason.HELD, detail[:MAX_DETAIL])

    @classmethod
    def failed(cls, reason: ProbeReason, detail: str) -> ProbeOutcome:
        """The control is not shown to hold, for `reason`."""
        return cls(False, reason, detail[:MAX_DETAIL])

    def completed(self, probe: str, control: str, duration: float) -> ProbeOutcome:
        """This outcome named after its probe and control, with the time it took."""
        return ProbeOutcome(self.held, self.reason, self.detail[:MAX_DETAIL], probe, control, duration)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (`--json`, the audit log's probe records); `works` and `seconds` are the
        names these documents carried before the outcome had a reason, kept for their readers."""
        return {"control": self.control, "probe": self.probe, "works": self.held, "reason": self.reason.value,
                "detail": self.detail, "seconds": round(self.duration, 3)}


class Probe(Protocol):
    """A probe: exercises one control through its real interface and says whether it held."""

    def __call__(self, ctx: ProbeContext, /) -> ProbeOutcome: ...


__all__ = ["MAX_DETAIL", "Probe", "ProbeContext", "ProbeOutcome", "ProbeReason"]
