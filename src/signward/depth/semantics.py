"""What the attacker holds when some controls fail: the least fixpoint, and the path to an asset."""

from __future__ import annotations

from collections.abc import Iterable

from .model import Model, Step


def failed_controls(model: Model, chosen: Iterable[str]) -> frozenset[str]:
    """The chosen controls and every control that depends (transitively) on one of them."""
    chosen = set(chosen)
    return frozenset(c for c, causes in model.closure.items() if causes & chosen)


def holdings(model: Model, failed: frozenset[str]) -> dict[str, int]:
    """Least fixpoint of the steps under `failed`: node -> round in which it was first held."""
    held = {n: 0 for n in model.entries}
    usable = [s for s in model.steps if all(c in failed for c in s.blocked_by)]
    round_ = 0
    changed = True
    while changed:
        changed = False
        round_ += 1
        new = {}
        for step in usable:
            if step.target not in held and step.target not in new and all(u in held for u in step.sources):
                new[step.target] = round_
        if new:
            held.update(new)
            changed = True
    return held


def reaches(model: Model, chosen: Iterable[str], asset: str) -> bool:
    return asset in holdings(model, failed_controls(model, chosen))


def attack_path(model: Model, chosen: Iterable[str], asset: str) -> list[Step]:
    """The steps that take the attacker to `asset` (each node justified by an earlier round)."""
    failed = failed_controls(model, chosen)
    held = holdings(model, failed)
    if asset not in held:
        return []
    usable = [s for s in model.steps if all(c in failed for c in s.blocked_by)]
    needed: list[Step] = []
    todo = [asset]
    done: set[str] = set()
    while todo:
        node = todo.pop()
        if node in done or held[node] == 0:
            continue
        done.add(node)
        step = next(s for s in usable if s.target == node and all(u in held and held[u] < held[node]
                                                                  for u in s.sources))
        needed.append(step)
        todo.extend(step.sources)
    return sorted(needed, key=lambda s: held[s.target])
