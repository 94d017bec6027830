"""Exact answers against brute force over every control subset, on random models with AND
steps, cycles, costs and depends_on; and the known cases."""

from __future__ import annotations

import itertools
import random

import pytest

from signward.depth.model import parse_model
from signward.depth.semantics import attack_path, reaches
from signward.depth.solver import minimum_failing_sets, polynomial_applies, shortest_path


def random_model(rng: random.Random, n_nodes: int, n_controls: int, n_steps: int) -> str:
    controls = [f"c{i}" for i in range(n_controls)]
    lines = ["name: random", "controls:"]
    for c in controls:
        cost = rng.choice([1, 1, 1, 2, 3])
        deps = rng.sample([d for d in controls if d != c], k=rng.choice([0, 0, 0, 1]))
        lines.append(f"  {c}: {{cost: {cost}, depends_on: [{', '.join(deps)}]}}")
    nodes = [f"n{i}" for i in range(n_nodes)]
    lines.append("nodes:")
    lines.append("  n0: {entry: true}")
    for v in nodes[1:-1]:
        lines.append(f"  {v}: {{}}")
    lines.append(f"  {nodes[-1]}: {{asset: true}}")
    lines.append("steps:")
    for _ in range(n_steps):
        srcs = rng.sample(nodes, k=rng.choice([1, 1, 1, 2]))
        dst = rng.choice(nodes[1:])
        guards = rng.sample(controls, k=rng.choice([0, 1, 1, 2]))
        lines.append(f"  - {{from: [{', '.join(srcs)}], to: {dst}, blocked_by: [{', '.join(guards)}]}}")
    return "\n".join(lines) + "\n"


def brute_force(model, asset):  # type: ignore[no-untyped-def]
    names = sorted(model.controls)
    best = None
    best_sets: list[list[str]] = []
    for r in range(len(names) + 1):
        for subset in itertools.combinations(names, r):
            cost = sum(model.controls[c].cost for c in subset)
            if best is not None and cost > best:
                continue
            if reaches(model, subset, asset):
                if best is None or cost < best:
                    best, best_sets = cost, [list(subset)]
                elif cost == best:
                    best_sets.append(list(subset))
    return best, best_sets


@pytest.mark.parametrize("seed", range(300))
def test_exact_against_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    model = parse_model(random_model(rng, rng.randint(3, 7), rng.randint(2, 8), rng.randint(3, 12)))
    asset = model.assets[0]
    want, want_sets = brute_force(model, asset)
    got = minimum_failing_sets(model, asset, max_sets=50)
    assert got.exact
    assert got.cost == want
    if want is not None:
        minimal = [s for s in want_sets if not any(set(o) < set(s) for o in want_sets)]
        assert all(s in want_sets for s in got.sets)
        assert sorted(map(tuple, minimal)) == sorted(map(tuple, got.sets)) or len(got.sets) == 50
        for s in got.sets:
            path = attack_path(model, s, asset)
            assert path and path[-1].target == asset


def chain_model(rng: random.Random, steps: tuple[int, int] = (2, 10), max_cost: int = 3) -> str:
    """Single-source steps, each control on at most one step: the polynomial case."""
    n = rng.randint(3, 8)
    controls = [f"c{i}" for i in range(12)]
    lines = ["name: chain", "controls:"] + [f"  {c}: {{cost: {rng.randint(1, max_cost)}}}" for c in controls]
    lines += (["nodes:", "  n0: {entry: true}"] + [f"  n{i}: {{}}" for i in range(1, n - 1)]
              + [f"  n{n-1}: {{asset: true}}"])
    lines.append("steps:")
    free = list(controls)
    rng.shuffle(free)
    for _ in range(rng.randint(*steps)):
        u, v = rng.randrange(n), rng.randrange(1, n)
        guards = [free.pop() for _ in range(min(len(free), rng.choice([0, 1, 1, 2])))]
        lines.append(f"  - {{from: n{u}, to: n{v}, blocked_by: [{', '.join(guards)}]}}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("seed", range(60))
def test_shortest_path_agrees_where_it_applies(seed: int) -> None:
    model = parse_model(chain_model(random.Random(1000 + seed)))
    assert polynomial_applies(model)
    asset = model.assets[0]
    assert shortest_path(model, asset, frozenset()).cost == brute_force(model, asset)[0]


KNOWN = {
    "chain": ("""
name: chain
controls: {a: {}, b: {}, c: {}}
nodes: {x: {entry: true}, y: {}, z: {}, k: {asset: true}}
steps:
  - {from: x, to: y, blocked_by: [a]}
  - {from: y, to: z, blocked_by: [b]}
  - {from: z, to: k, blocked_by: [c]}
""", 3, [["a", "b", "c"]]),
    "parallel": ("""
name: parallel
controls: {a: {}, b: {}, c: {cost: 5}}
nodes: {x: {entry: true}, k: {asset: true}}
steps:
  - {from: x, to: k, blocked_by: [a, b]}
  - {from: x, to: k, blocked_by: [c]}
""", 2, [["a", "b"]]),
    "shared": ("""
name: shared
controls: {a: {}, b: {}, s: {cost: 1}}
nodes: {x: {entry: true}, m: {}, k: {asset: true}}
steps:
  - {from: x, to: m, blocked_by: [a, s]}
  - {from: m, to: k, blocked_by: [b, s]}
""", 3, [["a", "b", "s"]]),
    "common_mode": ("""
name: common
controls: {hsm: {depends_on: [vendor]}, redaction: {depends_on: [vendor]}, vendor: {}}
nodes: {x: {entry: true}, k: {asset: true}}
steps:
  - {from: x, to: k, blocked_by: [hsm, redaction]}
""", 1, [["vendor"]]),
    "and_step": ("""
name: and
controls: {a: {}, b: {cost: 2}}
nodes: {x: {entry: true}, p: {}, q: {}, k: {asset: true}}
steps:
  - {from: x, to: p, blocked_by: [a]}
  - {from: x, to: q, blocked_by: [b]}
  - {from: [p, q], to: k}
""", 3, [["a", "b"]]),
    "cycle_no_self_support": ("""
name: cycle
controls: {a: {}}
nodes: {x: {entry: true}, p: {}, q: {}, k: {asset: true}}
steps:
  - {from: p, to: q}
  - {from: q, to: p}
  - {from: [p, q], to: k}
  - {from: x, to: p, blocked_by: [a]}
""", 1, [["a"]]),
    "unreachable": ("""
name: unreachable
controls: {a: {}}
nodes: {x: {entry: true}, p: {}, k: {asset: true}}
steps:
  - {from: p, to: k, blocked_by: [a]}
""", None, []),
}


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_known_cases(name: str) -> None:
    text, cost, sets = KNOWN[name]
    model = parse_model(text)
    got = minimum_failing_sets(model, model.assets[0], max_sets=10)
    assert got.cost == cost and got.sets == sets


def test_known_failed_gives_residual_depth() -> None:
    model = parse_model(KNOWN["chain"][0])
    got = minimum_failing_sets(model, "k", known_failed=frozenset({"a", "b"}))
    assert got.cost == 1 and got.sets == [["c"]]
