"""A writer process for the concurrency tests: `audit_writer.py STORE WRITER N` appends N
records to the audit log in STORE (a SQLite path, or a PostgreSQL conninfo with `host=`)."""

from __future__ import annotations

import sys
from pathlib import Path

from signward.audit import AuditLog
from signward.store import PostgresStore, Store, open_store


def main(store_spec: str, writer: str, count: int) -> None:
    store: Store = PostgresStore(store_spec) if "host=" in store_spec else open_store(Path(store_spec))
    log = AuditLog(store)
    for i in range(count):
        log.append(f"writer-{writer}", "token.issue", f"jti-{writer}-{i}")
    store.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
