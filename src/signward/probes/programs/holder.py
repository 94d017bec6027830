"""The redaction and canary drills' process: holds the home's canary keys in memory in every
form the issuer holds them (`signward.dumps.canary.hold_canaries`), then waits to be dumped.

Usage: python -m signward.probes.programs.holder CANARY_FILE
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from . import one_argument, ready_then_wait

USAGE = "python -m signward.probes.programs.holder CANARY_FILE"


def main(argv: Sequence[str] | None = None) -> int:
    path = one_argument(argv, USAGE)
    if path is None:
        return 2
    from ...dumps.canary import hold_canaries
    from ...errors import SignwardError

    try:
        hold_canaries(path)  # kept in the canary module's own list for the process's life
    except (SignwardError, OSError, ValueError) as exc:
        print(f"holder: {path}: {exc}", file=sys.stderr)
        return 2
    ready_then_wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
