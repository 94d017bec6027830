"""The token grant's pipeline (issue 39): signing threads that take waiting grants in batches,
one committer that makes their records durable together. Every request is answered, each with
its own result or its own error, never hung: a full queue and a grant past its deadline are
refused with HsmUnavailable (the token endpoint's 503), an error in the commit fails only the
grants of that batch, and a batch whose one record the store refuses releases the others."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from typing import Any

import pytest

from signward.errors import HsmUnavailable, StoreError
from signward.hsm import Alg
from signward.issuer.app import _Outcome, _Pipeline
from signward.services import Services


def _square(n: int) -> int:
    if n % 7 == 0:
        raise ValueError(f"job {n}")
    return n * n


def _identity(outcomes: list[_Outcome]) -> list[_Outcome]:
    return outcomes


def test_every_grant_gets_its_own_answer_and_records_commit_in_batches() -> None:
    sizes: list[int] = []

    def commit(outcomes: list[_Outcome]) -> list[_Outcome]:
        sizes.append(len(outcomes))
        return outcomes

    pipeline = _Pipeline(4, _square, commit)

    async def main() -> list[object]:
        answers: list[object] = await asyncio.gather(*(pipeline.run(n) for n in range(600)), return_exceptions=True)
        return answers

    try:
        expected = [f"job {n}" if n % 7 == 0 else n * n for n in range(600)]
        for _ in range(2):  # a second loop on the same pipeline
            got = [str(a) if isinstance(a, ValueError) else a for a in asyncio.run(main())]
            assert got == expected
        assert sum(sizes) == 1200 and max(sizes) > 1  # batched: fewer commits than grants
    finally:
        pipeline.shutdown()


class _StuckAtZero:
    """A prepare step whose grant 0 blocks (an HSM call that does not return) until released;
    it keeps the order in which grants were signed."""

    def __init__(self) -> None:
        self.started, self.release = threading.Event(), threading.Event()
        self.prepared: list[int] = []

    def __call__(self, n: int) -> int:
        self.prepared.append(n)
        if n == 0:
            self.started.set()
            self.release.wait(60)
        return n


def test_a_grant_past_its_deadline_is_refused_and_the_signer_goes_on() -> None:
    stuck = _StuckAtZero()
    started, release, prepared = stuck.started, stuck.release, stuck.prepared
    pipeline = _Pipeline(1, stuck, _identity, deadline=0.2)

    async def main() -> None:
        first = pipeline.run(0)
        await asyncio.to_thread(started.wait, 30)
        queued = pipeline.run(1)  # behind the stuck one: past its deadline before a signer is free
        for refused in (first, queued):
            with pytest.raises(HsmUnavailable, match=r"no signature within 0\.2 s"):
                await asyncio.wait_for(refused, 20)  # only the deadline ends it: the job is still inside
        release.set()
        assert await asyncio.wait_for(pipeline.run(5), 30) == 5
        assert prepared == [0, 5]  # the grant refused while it waited was never signed

    try:
        asyncio.run(main())
    finally:
        release.set()
        pipeline.shutdown()


def test_a_grant_cancelled_while_it_waited_is_never_signed() -> None:
    """The request went away (its task cancelled) while its grant queued: the signing thread
    skips it by the mark set on the loop, not by reading the asyncio future from its thread."""
    stuck = _StuckAtZero()
    started, release, prepared = stuck.started, stuck.release, stuck.prepared
    pipeline = _Pipeline(1, stuck, _identity, deadline=600)  # no deadline can refuse it here

    async def main() -> None:
        first = pipeline.run(0)
        await asyncio.to_thread(started.wait, 30)
        queued = pipeline.run(1)
        queued.cancel()
        await asyncio.sleep(0)  # the loop runs the future's done callbacks: the mark is set
        release.set()
        assert await asyncio.wait_for(first, 30) == 0
        assert await asyncio.wait_for(pipeline.run(5), 30) == 5
        assert prepared == [0, 5]

    try:
        asyncio.run(main())
    finally:
        release.set()
        pipeline.shutdown()


def test_a_full_queue_refuses_at_once_and_the_queued_grants_are_served() -> None:
    started, release = threading.Event(), threading.Event()

    def held(n: int) -> int:
        if n == 0:
            started.set()
            release.wait(60)
        return n

    pipeline = _Pipeline(1, held, _identity, queue_max=2)

    async def main() -> None:
        first = pipeline.run(0)
        await asyncio.to_thread(started.wait, 30)  # the one signer holds grant 0: the queue is empty
        queued = [pipeline.run(1), pipeline.run(2)]
        refused = pipeline.run(3)
        assert refused.done()
        with pytest.raises(HsmUnavailable, match="2 grants are waiting for the HSM"):
            await refused
        release.set()
        assert await asyncio.wait_for(asyncio.gather(first, *queued), 30) == [0, 1, 2]

    try:
        asyncio.run(main())
    finally:
        release.set()
        pipeline.shutdown()


def test_a_failing_commit_fails_its_batch_only() -> None:
    calls = 0

    def commit(outcomes: list[_Outcome]) -> list[_Outcome]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise StoreError("the database went away")
        return outcomes

    pipeline = _Pipeline(1, lambda n: n, commit)

    async def main() -> None:
        with pytest.raises(StoreError, match="the database went away"):
            await asyncio.wait_for(pipeline.run(1), 30)
        assert await asyncio.wait_for(pipeline.run(2), 30) == 2  # the committer outlived it

    try:
        asyncio.run(main())
    finally:
        pipeline.shutdown()


def _signed(services: Services, realm: str, client: tuple[str, str], secret_hash: str | None = None) -> Any:
    found = services.clients.authenticate_cached(realm, *client)
    assert found is not None
    check = found[1] if secret_hash is None else (found[1][0], found[1][1], secret_hash)
    return services.tokens.sign(realm, sub=client[0], audience="mail", tenant="t", client_id=client[0],
                                 scope="", client=check)


def test_a_batch_with_one_refused_record_releases_the_others(services: Services) -> None:
    services.registry.create_realm("batch", "https://issuer.example/realms/batch", Alg.ES256)
    made, secret = services.clients.create("batch", "t", ["mail"], [])
    client = (made.client_id, secret)
    services.audit.checkpoint_every = 2
    tail_before = services.audit.unsigned_tail()
    good1, bad, good2 = (_signed(services, "batch", client),
                         _signed(services, "batch", client, secret_hash="not-the-stored-hash"),
                         _signed(services, "batch", client))
    errors = services.tokens.record_all([good1[1], bad[1], good2[1]])
    assert errors[0] is None and errors[2] is None
    assert isinstance(errors[1], StoreError)  # the record's own client check refused it
    for issued, refused in ((good1[0], False), (bad[0], True), (good2[0], False)):
        assert services.issuance is not None
        assert services.issuance.introspect("batch", issued.token)["active"] is not refused
        jtis = [r.details["jti"] for r in services.audit.records(action="token.issue")]
        assert (issued.jti in jtis) is not refused
    assert tail_before >= 0 and services.audit.unsigned_tail() == 0  # a record crossed checkpoint_every
    with sqlite3.connect(services.store.path) as db:  # type: ignore[attr-defined]
        rows = db.execute("SELECT COUNT(*) FROM issued_tokens WHERE realm = 'batch'").fetchone()[0]
    assert rows == 2


def test_a_batch_of_records_extends_the_audit_logs_remembered_range_and_checkpoints(services: Services) -> None:
    """`record_all` writes through `AuditLog.append_batch`: one transaction, the log's remembered
    Merkle range follows it to the head (the next checkpoint re-reads nothing), and a record on a
    multiple of checkpoint_every signs a checkpoint."""
    services.registry.create_realm("range", "https://issuer.example/realms/range", Alg.ES256)
    made, secret = services.clients.create("range", "t", ["mail"], [])
    services.audit.checkpoint()  # the range starts at a signed head
    head = services.audit.unsigned_tail()
    assert head == 0
    services.audit.checkpoint_every = 3
    batches = services.audit.batcher.stats.batches
    signed = [_signed(services, "range", (made.client_id, secret)) for _ in range(3)]
    assert services.tokens.record_all([record for _, record in signed]) == [None, None, None]
    assert services.audit.batcher.stats.batches == batches + 1  # one transaction, counted
    seqs = [r.seq for r in services.audit.records(action="token.issue")][-3:]
    tree = services.audit._tree
    assert tree is not None and tree[0] == seqs[-1]  # the remembered range is at the batch's last record
    assert seqs == list(range(seqs[0], seqs[0] + 3))
    assert services.audit.unsigned_tail() == 0  # one of three seqs in a row is a multiple of 3: signed at the head
