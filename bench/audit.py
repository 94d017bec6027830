"""Audit append benchmark: AuditLog.append (hash chain, one write transaction each) against a
plain INSERT of the same rows, one transaction each, in the same run, on SQLite and, given
a connection string, on PostgreSQL.

Run: .venv/bin/python bench/audit.py [--n 3000] [--postgres "host=/tmp/pg port=5432 user=postgres dbname=bench"]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from signward.audit import AuditLog
from signward.store import open_store


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--postgres", default="", help="libpq conninfo of an empty database to also measure")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    out = measure(AuditLog(open_store(tmp / "chain.db")), open_store(tmp / "plain.db"), args.n, "sqlite")
    if args.postgres:
        from signward.store import PostgresStore

        store = PostgresStore(args.postgres)
        with store.transaction() as tx:
            tx.execute("DELETE FROM audit_records")
            tx.execute("CREATE TABLE IF NOT EXISTS plain_records (LIKE audit_records INCLUDING ALL)")
            tx.execute("DELETE FROM plain_records")
        out.update(measure(AuditLog(store), store, args.n, "postgresql", table="plain_records"))
    else:
        out["postgresql"] = "pass --postgres CONNINFO to measure"
    print(json.dumps(out, indent=2))


def measure(log: AuditLog, plain: Any, n: int, name: str, table: str = "audit_records") -> dict[str, Any]:
    started = time.perf_counter()
    for i in range(n):
        log.append("bench", "token.issue", f"kid-{i}", {"jti": str(i), "tid": "t"})
    chained = n / (time.perf_counter() - started)
    started = time.perf_counter()
    for i in range(n):
        with plain.transaction() as tx:
            tx.execute(f"INSERT INTO {table} (seq, time, actor, action, object, severity, details, prev_hash, "
                       "hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (i + 1, time.time(), "bench", "token.issue", f"kid-{i}", "info",
                        json.dumps({"jti": str(i), "tid": "t"}), "0" * 64, "0" * 64))
    plain_rate = n / (time.perf_counter() - started)
    started = time.perf_counter()
    ok = log.verify().ok
    verify_rate = n / (time.perf_counter() - started)
    return {f"{name}_appends_per_s": round(chained), f"{name}_plain_inserts_per_s": round(plain_rate),
            f"{name}_ratio": round(chained / plain_rate, 3), f"{name}_verify_records_per_s": round(verify_rate),
            f"{name}_verify_ok": ok}


if __name__ == "__main__":
    main()
