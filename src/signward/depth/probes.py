"""The generic probe runner: check on the live system whether a control really works.

A probe is `module:function` (a `signward.probes.base.Probe`: called with the caller's
`ProbeContext`, returns a `ProbeOutcome`, or a bool for a probe that has nothing to say) or
`cmd: shell command` (exit 0 when it works, run with the context's environment). Each runs with
a timeout; a probe that fails, raises, cannot be imported, returns anything else or times out
marks its control failed (fail closed), with the outcome's reason saying which. The product's
own probes live in `signward.probes` and `signward.watch`; this module knows only their shared
vocabulary (`signward.probes.base`, which imports nothing of signward).
"""

from __future__ import annotations

import importlib
import shlex
import subprocess
import threading
import time
from collections.abc import Mapping

from ..probes.base import ProbeContext, ProbeOutcome, ProbeReason

CMD = "cmd:"


def _command(probe: str, timeout: float, env: Mapping[str, str]) -> ProbeOutcome:
    try:
        done = subprocess.run(shlex.split(probe[len(CMD):]), capture_output=True, text=True, timeout=timeout,
                              env={"PATH": "/usr/bin:/bin:/usr/local/bin", **env})
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        reason = ProbeReason.TIMED_OUT if isinstance(exc, subprocess.TimeoutExpired) else ProbeReason.COMMAND_FAILED
        return ProbeOutcome.failed(reason, f"{type(exc).__name__}: {exc}")
    detail = (done.stdout or done.stderr).strip()[:200]
    if done.returncode == 0:
        return ProbeOutcome.passed(detail)
    return ProbeOutcome.failed(ProbeReason.COMMAND_FAILED, detail)


def _call(probe: str, ctx: ProbeContext) -> ProbeOutcome:
    try:
        module_name, _, func_name = probe.partition(":")
        func = getattr(importlib.import_module(module_name), func_name)
        if not callable(func):
            raise TypeError(f"{probe} is not callable")
    except Exception as exc:  # a probe that cannot load shows nothing: failed
        return ProbeOutcome.failed(ProbeReason.UNLOADABLE, f"{type(exc).__name__}: {exc}")
    try:
        value = func(ctx)
    except Exception as exc:  # a probe that cannot run says the control is not shown to work
        return ProbeOutcome.failed(ProbeReason.RAISED, f"{type(exc).__name__}: {exc}")
    if isinstance(value, ProbeOutcome):
        return value
    if isinstance(value, bool):
        return ProbeOutcome.passed() if value else ProbeOutcome.failed(ProbeReason.FAILED, "")
    return ProbeOutcome.failed(ProbeReason.BAD_RESULT, f"{probe} returned {type(value).__name__}, not a ProbeOutcome")


def run_probe(control: str, probe: str, ctx: ProbeContext, timeout: float = 60.0,
              env: Mapping[str, str] | None = None) -> ProbeOutcome:
    """Run one probe for `control`; `ctx` goes to function probes, `env` (default: the
    context's) to command probes. Never raises: every failure is an outcome that did not hold."""
    started = time.monotonic()
    if probe.startswith(CMD):
        found = _command(probe, timeout, ctx.env() if env is None else env)
        return found.completed(probe, control, time.monotonic() - started)
    outcome: list[ProbeOutcome] = []
    thread = threading.Thread(target=lambda: outcome.append(_call(probe, ctx)), daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive() or not outcome:
        found = ProbeOutcome.failed(ProbeReason.TIMED_OUT, f"timed out after {timeout:.0f}s")
    else:
        found = outcome[0]
    return found.completed(probe, control, time.monotonic() - started)


__all__ = ["ProbeContext", "ProbeOutcome", "ProbeReason", "run_probe"]
