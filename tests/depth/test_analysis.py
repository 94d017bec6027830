"""Width and the controls in every minimum set, against their definitions on random models."""

from __future__ import annotations

import random

import networkx as nx
import pytest

from signward.depth.analysis import width
from signward.depth.model import Model, parse_model
from signward.depth.semantics import reaches
from signward.depth.solver import in_every_minimum_set, minimum_failing_sets, polynomial_applies

from .test_solver import chain_model, random_model


def flow_width(model: Model, asset: str) -> int:
    """Step-disjoint paths by networkx's max flow on the node-split graph."""
    graph = nx.DiGraph()
    for entry in model.entries:
        graph.add_edge("source", ("node", entry))
    for step in model.steps:
        graph.add_edge(("in", step.index), ("out", step.index), capacity=1)
        for u in step.sources:
            graph.add_edge(("node", u), ("in", step.index))
        graph.add_edge(("out", step.index), ("node", step.target))
    if asset in model.entries or ("node", asset) not in graph:
        return 0
    return int(nx.maximum_flow_value(graph, "source", ("node", asset)))


def cheapest(model: Model, asset: str, without: str) -> float | None:
    """Brute force: the minimum cost of a failing set that does not choose `without`."""
    names = sorted(c for c in model.controls if c != without)
    best = None
    for mask in range(1 << len(names)):
        chosen = [c for i, c in enumerate(names) if mask >> i & 1]
        cost = sum(model.controls[c].cost for c in chosen)
        if (best is None or cost < best) and reaches(model, chosen, asset):
            best = cost
    return best


@pytest.mark.parametrize("seed", range(80))
def test_width_is_the_max_flow_of_the_node_split_graph(seed: int) -> None:
    rng = random.Random(seed)
    model = parse_model(random_model(rng, rng.randint(3, 9), rng.randint(2, 6), rng.randint(3, 20)))
    assert width(model, model.assets[0]) == flow_width(model, model.assets[0])


@pytest.mark.parametrize("seed", range(80))
def test_in_every_minimum_set_means_the_minimum_rises_without_it(seed: int) -> None:
    rng = random.Random(500 + seed)
    text = (chain_model(rng, steps=(6, 14), max_cost=2) if seed % 2
            else random_model(rng, rng.randint(3, 6), rng.randint(2, 7), rng.randint(8, 14)))
    model = parse_model(text)
    asset = model.assets[0]
    solution = minimum_failing_sets(model, asset, max_sets=1)
    if solution.cost is None:
        return
    if seed % 2:
        assert polynomial_applies(model)  # the dominator answer, not the solver's
    want = [c for c in solution.sets[0] if (alt := cheapest(model, asset, c)) is None or alt > solution.cost]
    assert in_every_minimum_set(model, asset, solution) == want  # one solve per control
    every = minimum_failing_sets(model, asset, max_sets=50)  # all of them: their intersection
    assert every.sets[0] == solution.sets[0] and (every.complete or polynomial_applies(model))
    assert in_every_minimum_set(model, asset, every) == want
