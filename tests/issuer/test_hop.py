"""The grant's hop off the event loop (issue 39): results come back to their loop in bunches,
none lost, each to its own request, errors as errors, and a result for a closed loop is dropped
without killing the thread."""

from __future__ import annotations

import asyncio
import time

import pytest

from signward.issuer.app import _Hop


def _job(n: int) -> int:
    time.sleep(0.001 * (n % 3))
    if n % 7 == 0:
        raise ValueError(f"job {n}")
    return n * n


def test_every_result_reaches_its_own_request() -> None:
    hop = _Hop(8)

    async def main() -> list[object]:
        return await asyncio.gather(*(hop.run(_job, n) for n in range(400)), return_exceptions=True)

    try:
        for _ in range(2):  # a second loop on the same hop
            answers = asyncio.run(main())
            for n, answer in enumerate(answers):
                if n % 7 == 0:
                    assert isinstance(answer, ValueError) and str(answer) == f"job {n}"
                else:
                    assert answer == n * n
    finally:
        hop.shutdown()


def test_a_result_for_a_closed_loop_is_dropped_and_the_thread_goes_on() -> None:
    hop = _Hop(1)
    try:
        loop = asyncio.new_event_loop()
        future = loop.run_until_complete(_submit(hop, 0.2))
        loop.close()  # the request's loop is gone before its result
        time.sleep(0.4)
        assert not future.done()
        assert asyncio.run(_await(hop)) == 9  # the one thread still serves
    finally:
        hop.shutdown()


async def _submit(hop: _Hop, seconds: float) -> asyncio.Future[object]:
    return hop.run(time.sleep, seconds)


async def _await(hop: _Hop) -> object:
    return await asyncio.wait_for(hop.run(_job, 3), 10)


@pytest.mark.parametrize("threads", [1, 16])
def test_results_are_settled_in_bunches_without_loss(threads: int) -> None:
    hop = _Hop(threads)

    async def main() -> list[object]:
        return await asyncio.gather(*(hop.run(pow, n, 2) for n in range(2000)))

    try:
        assert asyncio.run(main()) == [n * n for n in range(2000)]
    finally:
        hop.shutdown()
