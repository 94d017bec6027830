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

from . import one_argument, ready_then_wait

USAGE = "python -m signward.probes.programs.signer HOME"


def main(argv: Sequence[str] | None = None) -> int:
    root = one_argument(argv, USAGE)
    if root is None:
        return 2
    from ...errors import ConfigError, SignwardError
    from ...home import Home
    from ...keys import PROBE_SUBJECT
    from ...services import open_services

    try:
        services = open_services(Home(Path(root)), actor="signward-watch")  # open until the process is killed
        held = services.issuer_context()
        for hook in held.startup:
            hook()
        for realm in services.registry.realms():
            services.tokens.issue(realm.name, sub=PROBE_SUBJECT, audience=PROBE_SUBJECT, tenant=PROBE_SUBJECT,
                                  ttl=60)
    except (SignwardError, ConfigError, OSError) as exc:  # the drill reports this line: the signer did not start
        print(f"signer: {exc}", file=sys.stderr)
        return 3
    ready_then_wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
