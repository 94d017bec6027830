"""Audit append benchmark: AuditLog.append (hash chain, one write transaction each) against a
plain INSERT of the same rows, one transaction each, in the same run. SQLite only for now
(the PostgreSQL backend is still to come).

Run: .venv/bin/python bench/audit.py [--n 3000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from signward.audit import AuditLog
from signward.store import open_store


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=3000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    log = AuditLog(open_store(tmp / "chain.db"))
    started = time.perf_counter()
    for i in range(args.n):
        log.append("bench", "token.issue", f"kid-{i}", {"jti": str(i), "tid": "t"})
    chained = args.n / (time.perf_counter() - started)
    plain = open_store(tmp / "plain.db")
    started = time.perf_counter()
    for i in range(args.n):
        with plain.transaction() as tx:
            tx.execute("INSERT INTO audit_records (seq, time, actor, action, object, severity, details, prev_hash, "
                       "hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (i + 1, time.time(), "bench", "token.issue", f"kid-{i}", "info",
                        json.dumps({"jti": str(i), "tid": "t"}), "0" * 64, "0" * 64))
    plain_rate = args.n / (time.perf_counter() - started)
    started = time.perf_counter()
    ok = log.verify().ok
    verify_rate = args.n / (time.perf_counter() - started)
    print(json.dumps({"sqlite_appends_per_s": round(chained), "sqlite_plain_inserts_per_s": round(plain_rate),
                      "ratio": round(chained / plain_rate, 3), "verify_records_per_s": round(verify_rate),
                      "verify_ok": ok, "postgresql": "not implemented yet"}, indent=2))


if __name__ == "__main__":
    main()
