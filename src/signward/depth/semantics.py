"""What the attacker holds when some controls fail: the least fixpoint, and the path to an asset."""

from __future__ import annotations

from collections.abc import Iterable

from .model import Model, Step


def failed_controls(model: Model, chosen: Iterable[str]) -> frozenset[str]:
    """The chosen controls and every control that depends (transitively) on one of them."""
    chosen = set(chosen)
    return frozenset(c for c, causes in model.closure.items() if causes & chosen)


def holdings(model: Model, failed: frozenset[str]) -> dict[str, int]:
    """Least fixpoint of the steps under `failed`: node -> round in which it was first held.

    A worklist over the steps each newly held node feeds, so one evaluation is linear in
    the model's size."""
    held = {n: 0 for n in model.entries}
    feeds: dict[str, list[Step]] = {}
    missing: dict[int, int] = {}
    for step in model.steps:
        if all(c in failed for c in step.blocked_by):
            missing[step.index] = len(step.sources)
            for u in step.sources:
                feeds.setdefault(u, []).append(step)
    frontier = list(held)
    round_ = 0
    while frontier:
        round_ += 1
        nxt: list[str] = []
        for node in frontier:
            for step in feeds.get(node, ()):
                missing[step.index] -= 1
                if missing[step.index] == 0 and step.target not in held:
                    held[step.target] = round_
                    nxt.append(step.target)
        frontier = nxt
    return held


def reaches(model: Model, chosen: Iterable[str], asset: str) -> bool:
    return asset in holdings(model, failed_controls(model, chosen))


def attack_path(model: Model, chosen: Iterable[str], asset: str) -> list[Step]:
    """The steps that take the attacker to `asset` (each node justified by an earlier round)."""
    failed = failed_controls(model, chosen)
    held = holdings(model, failed)
    if asset not in held:
        return []
    into: dict[str, list[Step]] = {}  # the usable steps, indexed by target once: linear in the model
    for s in model.steps:
        if all(c in failed for c in s.blocked_by):
            into.setdefault(s.target, []).append(s)
    needed: list[Step] = []
    todo = [asset]
    done: set[str] = set()
    while todo:
        node = todo.pop()
        if node in done or held[node] == 0:
            continue
        done.add(node)
        step = next(s for s in into[node] if all(u in held and held[u] < held[node] for u in s.sources))
        needed.append(step)
        todo.extend(step.sources)
    return sorted(needed, key=lambda s: held[s.target])
