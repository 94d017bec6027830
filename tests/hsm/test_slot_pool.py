"""The PKCS#11 backend's pool of free slots (issue 39: a list instead of queue.LifoQueue):
most recently used first, a taker that finds none waits and is woken by the next give-back,
and gives up with queue.Empty at its deadline."""

from __future__ import annotations

import queue
import threading
import time

import pytest

from signward.hsm.pkcs11_backend import _Slot, _SlotPool


def test_the_most_recently_returned_slot_is_taken_first() -> None:
    pool, a, b = _SlotPool(), _Slot(None), _Slot(None)
    pool.put(a)
    pool.put(b)
    assert pool.get(1) is b and pool.get(1) is a


def test_a_taker_with_no_free_slot_gives_up_at_its_deadline() -> None:
    pool = _SlotPool()
    started = time.monotonic()
    with pytest.raises(queue.Empty):
        pool.get(0.2)
    assert 0.15 <= time.monotonic() - started < 5


def test_waiting_takers_each_get_a_returned_slot() -> None:
    pool, got = _SlotPool(), []
    takers = [threading.Thread(target=lambda: got.append(pool.get(10))) for _ in range(4)]
    for taker in takers:
        taker.start()
    time.sleep(0.1)  # all four are waiting now: no slot was free
    slots = [_Slot(None) for _ in range(4)]
    for slot in slots:
        pool.put(slot)
    for taker in takers:
        taker.join(10)
    assert sorted(map(id, got)) == sorted(map(id, slots))


def test_many_threads_share_two_slots_without_losing_or_doubling_one() -> None:
    pool, slots = _SlotPool(), [_Slot(None), _Slot(None)]
    for slot in slots:
        pool.put(slot)
    holders: set[int] = set()
    clash = threading.Event()
    lock = threading.Lock()

    def work() -> None:
        for _ in range(300):
            slot = pool.get(10)
            with lock:
                if id(slot) in holders:
                    clash.set()
                holders.add(id(slot))
            with lock:
                holders.discard(id(slot))
            pool.put(slot)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not clash.is_set()
    assert {id(pool.get(1)), id(pool.get(1))} == set(map(id, slots))
    with pytest.raises(queue.Empty):
        pool.get(0.05)
