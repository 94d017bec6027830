"""One lab for the session: its deployments, crashes and pipeline runs are shared by every test,
as the ablation shares them across runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from signward.lab import Ablation, Lab, ablate


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab(tmp_path_factory.mktemp("lab")) as the_lab:
        yield the_lab


@pytest.fixture(scope="session")
def ablation(lab: Lab) -> Ablation:
    return ablate(lab)
