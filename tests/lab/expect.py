"""Assertions the lab's tests share: what a run with every control on must show, whichever
custody (embedded HSM or Transit) holds the deployments' keys."""

from __future__ import annotations

from signward.lab import LabResult
from signward.lab.scenario import STEPS


def assert_stopped_at_the_crash_by_the_hsm(result: LabResult) -> None:
    """Not breached, nothing stolen, every step run, stopped at the crash by the HSM (no key in
    the core), and every later step blocked without being reached. (Pytest rewrites the asserts
    of test modules only: each one here says what it saw.)"""
    steps = [(s.step, s.outcome, s.blocked_by, s.reached) for s in result.steps]
    assert not result.breached and result.stolen == [], (result.stolen, steps)
    assert [s.step for s in result.steps] == list(STEPS), steps
    assert result.stopped_by is not None, steps
    assert (result.stopped_by.step, result.stopped_by.blocked_by) == ("crash", "hsm"), steps
    assert all(s.outcome == "blocked" and not s.reached for s in result.steps[1:]), steps
