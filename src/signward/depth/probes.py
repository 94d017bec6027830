"""The generic probe runner: check on the live system whether a control really works.

A probe is `module:function` (called with the caller's context object, returns True or
(works, detail)) or `cmd: shell command` (exit 0 when it works, run with the caller's
environment). Each runs with a timeout; a probe that fails, raises, cannot be imported or
times out marks its control failed (fail closed). The product's own probes live in
`signward.probes`; this module knows nothing of them.
"""

from __future__ import annotations

import importlib
import shlex
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ProbeResult:
    control: str
    probe: str
    works: bool
    detail: str
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"control": self.control, "probe": self.probe, "works": self.works, "detail": self.detail,
                "seconds": round(self.seconds, 3)}


def run_probe(control: str, probe: str, ctx: object, timeout: float = 60.0,
              env: Mapping[str, str] | None = None) -> ProbeResult:
    """Run one probe for `control`; `ctx` goes to function probes, `env` to command probes."""
    started = time.monotonic()
    if probe.startswith("cmd:"):
        try:
            done = subprocess.run(shlex.split(probe[4:]), capture_output=True, text=True, timeout=timeout,
                                  env={"PATH": "/usr/bin:/bin:/usr/local/bin", **(env or {})})
            works, detail = done.returncode == 0, (done.stdout or done.stderr).strip()[:200]
        except (OSError, subprocess.TimeoutExpired) as exc:
            works, detail = False, f"{type(exc).__name__}: {exc}"
        return ProbeResult(control, probe, works, detail, time.monotonic() - started)
    outcome: dict[str, Any] = {}

    def call() -> None:
        try:
            module_name, _, func_name = probe.partition(":")
            func = getattr(importlib.import_module(module_name), func_name)
            value = func(ctx)
            outcome["works"], outcome["detail"] = (value if isinstance(value, tuple) else (bool(value), ""))
        except Exception as exc:  # a probe that cannot run says the control is not shown to work
            outcome["works"], outcome["detail"] = False, f"{type(exc).__name__}: {exc}"

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        return ProbeResult(control, probe, False, f"timed out after {timeout:.0f}s", time.monotonic() - started)
    return ProbeResult(control, probe, bool(outcome.get("works")), str(outcome.get("detail", ""))[:300],
                       time.monotonic() - started)
