"""Audit append benchmark: durable appends/s with group commit against one append per
transaction (the chain without batching) and against plain INSERTs of the same rows, one per
transaction (no chain: the database's own floor), from the same number of threads, in one run,
on SQLite and on PostgreSQL (a temporary server started here unless --postgres names one).
Then `audit verify` speed and the Merkle checkpoint cost.

Run: .venv/bin/python bench/audit.py [--n 6000] [--threads 32] [--postgres CONNINFO]
Goal (issue 17): at least 3,000 durable appends/s on PostgreSQL on this machine (Tessera
appends about 2,900/s on local disk by batching).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from signward.audit import AuditLog  # noqa: E402
from signward.store import PostgresStore, Store, open_store  # noqa: E402

INSERT = ("INSERT INTO plain_records (seq, time, actor, action, object, severity, details, prev_hash, hash) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")


def threaded(threads: int, n: int, work: Callable[[int], None]) -> float:
    """n calls of work(i) spread over `threads` threads; calls per second."""
    per = n // threads
    barrier = threading.Barrier(threads + 1)

    def run(t: int) -> None:
        barrier.wait()
        for i in range(per):
            work(t * per + i)

    pool = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in pool:
        thread.join()
    return per * threads / (time.perf_counter() - started)


def measure(make_store: Callable[[str], Store], n: int, threads: int, name: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, batch_max in (("group_commit", 256), ("one_per_transaction", 1)):
        store = make_store(label)
        log = AuditLog(store, batch_max=batch_max)
        rate = threaded(threads, n, lambda i: log.append("bench", "token.issue", f"kid-{i}", {"jti": str(i)}))
        out[f"{name}_{label}_per_s"] = round(rate)
        if label == "group_commit":
            sizes = log.batcher.stats.sizes
            out[f"{name}_mean_batch"] = round(sum(sizes) / max(1, len(sizes)), 1)
            started = time.perf_counter()
            assert log.verify().ok
            out[f"{name}_verify_records_per_s"] = round(n / (time.perf_counter() - started))
        store.close()
    store = make_store("plain")
    with store.transaction() as tx:
        tx.execute("CREATE TABLE IF NOT EXISTS plain_records (seq INTEGER PRIMARY KEY, time REAL, actor TEXT, "
                   "action TEXT, object TEXT, severity TEXT, details TEXT, prev_hash TEXT, hash TEXT)")

    def plain(i: int) -> None:
        with store.transaction() as tx:
            tx.execute(INSERT, (i + 1, time.time(), "bench", "token.issue", f"kid-{i}", "info",
                                json.dumps({"jti": str(i)}), "0" * 64, "0" * 64))

    out[f"{name}_plain_insert_per_s"] = round(threaded(threads, n, plain))
    store.close()
    out[f"{name}_ratio_group_vs_plain"] = round(out[f"{name}_group_commit_per_s"]
                                                / out[f"{name}_plain_insert_per_s"], 2)
    out[f"{name}_ratio_group_vs_one_per_tx"] = round(
        out[f"{name}_group_commit_per_s"] / out[f"{name}_one_per_transaction_per_s"], 2)
    return out


@contextlib.contextmanager
def postgres(conninfo: str) -> Iterator[str]:
    if conninfo:
        yield conninfo
        return
    from tests.helpers import temporary_postgres

    with temporary_postgres() as started:
        yield started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=6000)
    parser.add_argument("--threads", type=int, default=32, help="appending threads (the issuer's pool has 40)")
    parser.add_argument("--postgres", default="", help="libpq conninfo of a server to use (default: start one)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    out = {"threads": args.threads, "appends": args.n}
    out.update(measure(lambda label: open_store(tmp / f"{label}.db"), args.n, args.threads, "sqlite"))
    with postgres(args.postgres) as conninfo:
        import psycopg

        def fresh(label: str) -> Store:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS bench_{label}")
                conn.execute(f"CREATE DATABASE bench_{label}")
            return PostgresStore(conninfo.replace("dbname=postgres", f"dbname=bench_{label}"))

        out.update(measure(fresh, args.n, args.threads, "postgresql"))
    out["goal_postgresql_3000_per_s"] = out["postgresql_group_commit_per_s"] >= 3000
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
