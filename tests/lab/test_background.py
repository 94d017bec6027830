"""The background jobs of tests/lab/conftest.py: made once by whoever claims them first, their
failure is the test's, and the late tests run after every other selected test."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.lab.conftest import LabJob, Preparation, on_a_worker
from tests.workers import group_of


def test_a_job_is_made_once_and_its_waiter_gets_the_same_process(tmp_path: Path) -> None:
    started, release = threading.Event(), threading.Event()

    def job(directory: Path) -> subprocess.CompletedProcess[str]:
        started.set()
        release.wait(30)
        return subprocess.run([sys.executable, "-c", "print('made in', __import__('os').getcwd())"],
                              cwd=directory, capture_output=True, text=True, timeout=30)

    made = LabJob(job, tmp_path / "job")
    worker = threading.Thread(target=made.make)
    worker.start()
    assert started.wait(30)
    got: list[subprocess.CompletedProcess[str]] = []
    waiter = threading.Thread(target=lambda: got.append(made.result()))  # the test, while the worker makes it
    waiter.start()
    release.set()
    worker.join(30)
    waiter.join(30)
    assert made.made == 1 and got[0] is made.result() and got[0].stdout.strip() == f"made in {tmp_path / 'job'}"


def test_a_failed_job_fails_its_test_with_the_cause(tmp_path: Path) -> None:
    def job(directory: Path) -> subprocess.CompletedProcess[str]:
        raise subprocess.TimeoutExpired(["signward", "lab"], 900)

    preparation = Preparation(tmp_path, [], [job])
    preparation.add_worker()
    preparation.stop()  # the worker made it (no captures queued), or the test below will
    with pytest.raises(subprocess.TimeoutExpired):
        preparation.jobs[job].result()
    assert preparation.jobs[job].made == 1


@pytest.mark.lab_late
def test_the_late_tests_run_after_every_other_selected_test(request: pytest.FixtureRequest) -> None:
    items = request.session.items
    if on_a_worker(request.config):  # the lab's tests are one group, run on one worker in this order
        items = [item for item in items if group_of(item) == "lab"]
    late = [item.get_closest_marker("lab_late") is not None for item in items]
    assert late[late.index(True):] == [True] * (len(late) - late.index(True)), items
