"""A process that rotates one realm for ever, for the SIGKILL consistency test:
`rotating_registry.py HOME DB` (the HSM of HOME, the registry in DB), prints "ready", then
"grew" each time a rotation has committed a new key."""

from __future__ import annotations

import sys
from pathlib import Path

from signward.clock import FixedClock
from signward.home import Home
from signward.hsm import Alg
from signward.keys import RotationPolicy
from signward.services import open_services
from signward.store import open_store


def main(home_dir: str, db: str) -> None:
    store = open_store(Path(db))
    with store.snapshot() as tx:
        row = tx.one("SELECT MAX(sign_until) AS t FROM keys")
    clock = FixedClock(row["t"] if row and row["t"] else 1767225600.0)
    services = open_services(Home(home_dir), clock=clock, store=store)
    registry = services.registry
    if not registry.realms():
        registry.create_realm("churn", "https://churn.example.com", Alg.ES256,
                              RotationPolicy(max_signing_lifetime=10 * 86400, prepublish_lead=86400, destroy_after=0))
    print("ready", flush=True)
    known = len(registry.keys("churn"))
    while True:
        clock.advance(5 * 86400)
        registry.rotate("churn")
        if (count := len(registry.keys("churn"))) > known:  # a key made and committed
            known = count
            print("grew", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
