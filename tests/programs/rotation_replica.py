"""One replica of the rotation race: `rotation_replica.py HOME REALM START T1 [T2 ...]` opens the
home's services (its PostgreSQL store and HSM) and, for each step i, waits until the wall clock
reaches START + 2i (a replica a little late on a loaded machine still races its own step), then
runs the realm's rotation with its clock injected at Ti. Prints the events of each step as one
JSON line."""

from __future__ import annotations

import json
import sys
import time

from signward.clock import FixedClock
from signward.home import Home
from signward.services import open_services


def main(home: str, realm: str, start: float, times: list[float]) -> None:
    clock = FixedClock(times[0])
    with open_services(Home(home), clock=clock, actor="replica") as services:
        services.backend.status()  # the HSM session pool is open before the race starts
        for step, at in enumerate(times):
            clock.advance(at - clock.now())
            time.sleep(max(0.0, start + 2 * step - time.time()))
            events = services.registry.rotate(realm)
            print(json.dumps({"step": step, "events": events}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]), [float(t) for t in sys.argv[4:]])
