"""The HSM crash drill's process: a drill instance of the issuer's signing path. It opens the
home's services, runs the issuer's startup (its canaries held as the issuer holds them),
signs one token for every realm with the configured backend, then waits to be dumped; the drill
searches its core for every realm key.

Usage: python -m signward.probes.programs.signer HOME
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from . import main as run_program

USAGE = "python -m signward.probes.programs.signer HOME"


def hold(root: str) -> None:
    """Open the home's services (open until the process is killed), run the issuer's startup
    and sign one token for every realm."""
    from ...home import Home
    from ...keys import PROBE_SUBJECT
    from ...services import open_services

    services = open_services(Home(Path(root)), actor="signward-watch")
    held = services.issuer_context()
    for hook in held.startup:
        hook()
    for realm in services.registry.realms():
        services.tokens.issue(realm.name, sub=PROBE_SUBJECT, audience=PROBE_SUBJECT, tenant=PROBE_SUBJECT, ttl=60)


def main(argv: Sequence[str] | None = None) -> int:
    return run_program(argv, "signer", USAGE, hold, failure=3)  # the drill reports the line: the signer did not start


if __name__ == "__main__":
    sys.exit(main())
