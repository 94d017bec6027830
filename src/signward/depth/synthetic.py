"""Generated models the size of an enterprise estate, for the benchmark and the tests.

Layers of nodes between one entry and one asset; each step goes to the next layer (some
skip one), guarded by one or two controls drawn from a shared pool, so most controls guard
many steps (MFA, EDR, a proxy). Options add AND steps (two sources), costs 1 to 3,
depends_on between controls and back edges that close cycles. Fixed seeds give fixed models.
"""

from __future__ import annotations

import random


def layered(steps: int, controls: int | None = None, *, and_steps: float = 0.0, costs: bool = False,
            depends: float = 0.0, back_edges: float = 0.0, layers: int | None = None, seed: int = 1) -> str:
    """The YAML of a layered model with `steps` steps; `controls` shared controls, or one
    control per step (no sharing) when None."""
    rng = random.Random(seed)
    if layers is None:
        width = max(4, int(steps ** 0.5) // 2)
        layers = max(2, steps // (width * 2))
    else:
        width = max(4, steps // (layers * 2))
    shared = controls is not None
    pool = controls if controls is not None else steps
    lines = ["name: generated", "controls:"]
    for i in range(pool):
        fields = []
        if costs:
            fields.append(f"cost: {rng.choice([1, 1, 2, 3])}")
        if depends and i > 0 and rng.random() < depends:
            fields.append(f"depends_on: [c{rng.randrange(i)}]")
        lines.append(f"  c{i}: {{{', '.join(fields)}}}")
    lines += ["nodes:", "  attacker: {entry: true}", "  asset: {asset: true}"]
    lines += [f"  n{i}_{j}: {{}}" for i in range(layers) for j in range(width)]
    lines.append("steps:")
    made = 0

    def guard() -> str:
        nonlocal made
        made += 1
        if not shared:
            return f"c{made - 1}"
        picked = {rng.randrange(pool) for _ in range(rng.choice([1, 1, 2]))}
        return ", ".join(f"c{c}" for c in sorted(picked))

    for j in range(width):
        lines.append(f"  - {{from: attacker, to: n0_{j}, blocked_by: [{guard()}]}}")
    while made < steps - width:
        i = rng.randrange(layers - 1)
        to = min(layers - 1, i + (2 if rng.random() < 0.1 else 1))
        if back_edges and rng.random() < back_edges:
            i, to = to, max(0, i - rng.randrange(3))
        sources = [f"n{i}_{rng.randrange(width)}"]
        if and_steps and rng.random() < and_steps:
            sources.append(f"n{i}_{rng.randrange(width)}")
        lines.append(f"  - {{from: [{', '.join(dict.fromkeys(sources))}], to: n{to}_{rng.randrange(width)}, "
                     f"blocked_by: [{guard()}]}}")
    while made < steps:
        lines.append(f"  - {{from: n{layers - 1}_{rng.randrange(width)}, to: asset, blocked_by: [{guard()}]}}")
    return "\n".join(lines) + "\n"


__all__ = ["layered"]
