"""One lab for the session: its deployments, crashes and pipeline runs are shared by every test,
as the ablation shares them across runs.

Each capture of a core (with its four releases) costs over a minute of one core. A test says which
lab runs it makes (`@pytest.mark.lab_runs(...)`), and what the selected tests need is made in the
background (`Preparation`): from the end of collection by one thread, while the suite's other
tests run on the other core, and from the first test that runs a lab on by two. A test's run
waits in `Lab.prepare` for the capture it needs, or makes it itself if no one has begun it: every
test still makes and judges its own run against the same real stages; only when the stages are
made changed. A declared run that no test makes costs time, never a verdict; a run not declared
is made when the test asks for it, as before. SIGNWARD_LAB_BACKGROUND=0: no background (each test
makes what it needs, when it needs it).

Every test that runs a lab runs after the rest of the suite (in its order), so that one thread
makes the captures during the whole suite on the core its other tests leave idle, and the lab's
tests find them made instead of waiting for them (two one-control-off tests waited 86 and 55 s
for theirs when tests/lab ran in its place in file order). Tests
marked `lab_late` run at the very end of the session, and their runs and jobs come last in the
queue: a job (`@pytest.mark.lab_job(function)`, a test's own subprocess such as the CLI's 2021
`--watch` run) is made once, by a worker after every capture, or by its test if no worker began
it. The second core, idle in most of the suite after tests/lab (lint, mypy, packaging, the
scanner's tests run one process at a time), makes them while those tests run."""

from __future__ import annotations

import os
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from signward.errors import UsageError
from signward.lab import Ablation, Lab, ablate
from signward.lab.deployment import bao_binary


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "lab_runs(*disabled, custody='pkcs11'): the sets of switched-off controls a "
                            "test runs in the session's lab of that custody (a set, or a function of the test's "
                            "parameters giving the sets); their stages are made in the background first "
                            "(tests/lab/conftest.py)")
    config.addinivalue_line("markers", "lab_job(function): the test's own run, function(directory) -> a completed "
                            "process, made once in the background after the captures (the lab_job fixture)")
    config.addinivalue_line("markers", "lab_late: the test runs at the end of the session, its runs and job made in "
                            "the background after every other test's captures (tests/lab/conftest.py)")


LAB_FIXTURES = frozenset({"lab", "transit_lab", "short_ablation", "ablation", "lab_job"})


def runs_a_lab(item: pytest.Item) -> bool:
    """Whether the test runs a lab (declares runs or a job, or takes a lab fixture)."""
    return (item.get_closest_marker("lab_runs") is not None or item.get_closest_marker("lab_job") is not None
            or not LAB_FIXTURES.isdisjoint(getattr(item, "fixturenames", ())))


def on_a_worker(config: pytest.Config) -> bool:
    """Whether this process is a pytest-xdist worker (tests/workers.py: the lab's tests are one group)."""
    return hasattr(config, "workerinput")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The tests that run a lab after every other test, in their order, and the `lab_late` tests
    last: what they need is made in the background while the rest of the suite runs on the other
    core, so they find their captures made instead of waiting for them. On a pytest-xdist worker
    they come first instead (the other worker is the other core): their group, the longest unit
    of work, starts at once on one worker while the other takes the rest of the suite."""
    late = [item for item in items if item.get_closest_marker("lab_late") is not None]
    labs = [item for item in items if item.get_closest_marker("lab_late") is None and runs_a_lab(item)]
    if late or labs:
        moved = {id(item) for item in late + labs}
        rest = [item for item in items if id(item) not in moved]
        items[:] = labs + late + rest if on_a_worker(config) else rest + labs + late


SHORT_GIVEN_OFF = frozenset({"hsm", "rotation"})
# the controls that choose a crash and a capture: the short ablation's four captures
CAPTURE_CONTROLS = ("redaction", "canary_check")


def _sets(mark: pytest.Mark, params: dict[str, Any]) -> Iterable[Iterable[str]]:
    for arg in mark.args:
        if callable(arg):
            function: Callable[..., Iterable[Iterable[str]]] = arg
            yield from function(**params)
        else:
            yield arg


def lab_runs(items: Iterable[pytest.Item]) -> list[tuple[str, frozenset[str]]]:
    """The (custody, run) pairs the selected, not skipped, tests declare, and the short ablation's
    captures when a test uses it (in the order first declared). Transit runs only where OpenBao's
    `bao` is installed (their test skips without it)."""
    wanted: dict[tuple[str, frozenset[str]], None] = {}
    for item in items:
        if _skipped(item):
            continue
        params = dict(item.callspec.params) if hasattr(item, "callspec") else {}
        for mark in item.iter_markers("lab_runs"):
            custody = mark.kwargs.get("custody", "pkcs11")
            if custody == "transit" and not has_bao():
                continue
            wanted.update(((custody, frozenset(s)), None) for s in _sets(mark, params))
        if "short_ablation" in getattr(item, "fixturenames", ()):
            wanted.update((("pkcs11", SHORT_GIVEN_OFF | {c for c, off in zip(CAPTURE_CONTROLS, offs, strict=True)
                                                         if off}), None)
                          for offs in ((False, False), (True, False), (False, True), (True, True)))
    return list(wanted)


def lab_jobs(items: Iterable[pytest.Item]) -> list[Callable[[Path], subprocess.CompletedProcess[str]]]:
    """The jobs the selected, not skipped, tests declare (`lab_job`), in order."""
    return list(dict.fromkeys(mark.args[0] for item in items if not _skipped(item)
                              for mark in item.iter_markers("lab_job")))


class LabJob:
    """A test's own run, `function(directory)`, made once: by the first of a worker and the test
    to claim it; the other waits for its result (or its failure)."""

    def __init__(self, function: Callable[[Path], subprocess.CompletedProcess[str]], directory: Path) -> None:
        self.function = function
        self.directory = directory
        self.made = 0
        self._lock = threading.Lock()
        self._future: Future[subprocess.CompletedProcess[str]] | None = None

    def make(self) -> None:
        """Run the job unless someone has begun it."""
        with self._lock:
            if self._future is not None:
                return
            future: Future[subprocess.CompletedProcess[str]] = Future()
            self._future = future
            self.made += 1
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            future.set_result(self.function(self.directory))
        except BaseException as exc:  # to the test, which fails with it
            future.set_exception(exc)

    def result(self) -> subprocess.CompletedProcess[str]:
        """The job's completed process (made now if no one has begun it)."""
        self.make()
        assert self._future is not None
        return self._future.result()


def has_bao() -> bool:
    try:
        bao_binary()
    except UsageError:
        return False
    return True


class Preparation:
    """The declared runs' stages, made by background threads in the session's labs: one thread from
    the end of collection (the suite's other tests keep the other core), a second one from the
    first test that runs a lab on (two pipelines at a time, as `Lab.workers`; the CLI's own lab
    run, in the test before it, shares the machine with one). Each takes the next run from one
    queue and makes what no one has claimed (`Lab.prepare(wait=False)`): a capture is made once."""

    def __init__(self, root: Path, runs: Iterable[tuple[str, frozenset[str]]],
                 jobs: Iterable[Callable[[Path], subprocess.CompletedProcess[str]]] = ()) -> None:
        self.root = root
        self.labs: dict[str, Lab] = {}
        self.jobs = {function: LabJob(function, root / "jobs" / function.__name__) for function in jobs}
        self.job_queue: deque[LabJob] = deque(self.jobs.values())
        self.failed: list[BaseException] = []
        self.threads: list[threading.Thread] = []
        self.queue: deque[tuple[str, frozenset[str]]] = deque(runs)
        for custody, _ in self.queue:  # the workers' labs; the main thread makes any other
            self.lab(custody)

    def lab(self, custody: str) -> Lab:
        """The session's lab with this custody (made on first use)."""
        if custody not in self.labs:
            self.labs[custody] = Lab(self.root / custody, custody=custody)
        return self.labs[custody]

    def add_worker(self) -> None:
        thread = threading.Thread(target=self._work, name=f"lab-prepare-{len(self.threads)}", daemon=True)
        self.threads.append(thread)
        thread.start()

    def _work(self) -> None:
        while True:
            try:
                custody, run = self.queue.popleft()
            except IndexError:
                break
            try:
                self.labs[custody].prepare([run], wait=False)
            except BaseException as exc:  # raised in the main thread at the end (the test that needs the
                self.failed.append(exc)  # run makes it again and fails there with its own cause)
        while True:  # then the jobs, one at a time; their tests run last (`lab_late`)
            try:
                job = self.job_queue.popleft()
            except IndexError:
                return
            job.make()  # a failure is the job's result, raised in its test

    def stop(self) -> None:
        """No new captures or jobs; wait for the ones under way."""
        self.queue.clear()
        self.job_queue.clear()
        for thread in self.threads:
            thread.join()


PREPARATION = pytest.StashKey[Preparation]()


def _skipped(item: pytest.Item) -> bool:
    return item.get_closest_marker("skip") is not None or any(
        mark.args and mark.args[0] is True for mark in item.iter_markers("skipif"))


def pytest_collection_finish(session: pytest.Session) -> None:
    runs, jobs = lab_runs(session.items), lab_jobs(session.items)
    if (runs or jobs) and not session.config.option.collectonly and \
            os.environ.get("SIGNWARD_LAB_BACKGROUND", "1") != "0":
        factory: pytest.TempPathFactory = session.config._tmp_path_factory  # the tmp_path_factory fixture's
        preparation = Preparation(factory.mktemp("lab"), runs, jobs)
        session.config.stash[PREPARATION] = preparation
        if not on_a_worker(session.config):  # on a worker: from its first lab test (`_session_lab`)
            preparation.add_worker()


def pytest_sessionfinish(session: pytest.Session) -> None:
    preparation = session.config.stash.get(PREPARATION, None)
    if preparation is not None:
        preparation.stop()
        for lab in preparation.labs.values():
            lab.close()


def _session_lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                 custody: str) -> Iterator[Lab]:
    preparation = request.config.stash.get(PREPARATION, None)
    if preparation is not None:  # closed at the end of the session, after its workers
        # the first test that runs a lab: a second thread (on an xdist worker, whose lab tests are one
        # group with the other worker running the rest of the suite, the first and only one)
        if len(preparation.threads) == (0 if on_a_worker(request.config) else 1):
            preparation.add_worker()
        yield preparation.lab(custody)
        return
    with Lab(tmp_path_factory.mktemp("lab"), custody=custody) as the_lab:
        yield the_lab


@pytest.fixture(scope="session")
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from _session_lab(request, tmp_path_factory, "pkcs11")


@pytest.fixture(scope="session")
def transit_lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The lab with Transit custody (`signward lab storm-0558 --custody transit`): a dev OpenBao
    started on its first run."""
    yield from _session_lab(request, tmp_path_factory, "transit")


@pytest.fixture(scope="session", autouse=True)
def lab_prepared(request: pytest.FixtureRequest) -> Iterator[None]:
    """At the end of the lab's tests, a failure of a worker is raised, and every capture was made
    once (by the workers or by a test, never by two of them)."""
    preparation = request.config.stash.get(PREPARATION, None)
    if preparation is None:
        yield
        return
    yield
    preparation.stop()
    if preparation.failed:
        raise preparation.failed[0]
    for lab in preparation.labs.values():
        made = lab.stage_runs["capture"]
        assert made == len(lab._captures), f"{lab.custody}: {made} captures made for {len(lab._captures)}"
    for job in preparation.jobs.values():
        assert job.made <= 1, f"{job.function.__name__} made {job.made} times"


@pytest.fixture
def lab_job(request: pytest.FixtureRequest, tmp_path: Path) -> LabJob:
    """The test's declared job (`@pytest.mark.lab_job(function)`), made in the background or now."""
    marker = request.node.get_closest_marker("lab_job")
    assert marker is not None, "the lab_job fixture needs @pytest.mark.lab_job(function)"
    preparation = request.config.stash.get(PREPARATION, None)
    if preparation is not None and marker.args[0] in preparation.jobs:
        return preparation.jobs[marker.args[0]]
    return LabJob(marker.args[0], tmp_path / "job")


@pytest.fixture(scope="session")
def ablation(lab: Lab) -> Ablation:
    """The full ablation (1,981 runs over 16 captures of real cores): only with --long."""
    return ablate(lab)


@pytest.fixture(scope="session")
def short_ablation(lab: Lab) -> Ablation:
    """The ablation from the HSM and rotation off (one crash, four captures, 466 runs over the
    nine other controls): the same search and the same comparison with the analyzer, told those
    two failed, on a fifth of the pipeline runs."""
    return ablate(lab, given_off=SHORT_GIVEN_OFF)
