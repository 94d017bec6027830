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
    """The full ablation (1,981 runs over 16 captures of real cores): only with --long."""
    return ablate(lab)


SHORT_GIVEN_OFF = frozenset({"hsm", "rotation"})


@pytest.fixture(scope="session")
def short_ablation(lab: Lab) -> Ablation:
    """The ablation from the HSM and rotation off (one crash, four captures, 466 runs over the
    nine other controls): the same search and the same comparison with the analyzer, told those
    two failed, on a fifth of the pipeline runs."""
    return ablate(lab, given_off=SHORT_GIVEN_OFF)
