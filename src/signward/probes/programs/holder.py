"""The redaction and canary drills' process: holds the home's canary keys in memory in every
form the issuer holds them (`signward.dumps.canary.hold_canaries`), then waits to be dumped.

Usage: python -m signward.probes.programs.holder CANARY_FILE
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from . import main as run_program

USAGE = "python -m signward.probes.programs.holder CANARY_FILE"


def hold(path: str) -> None:
    from ...dumps.canary import hold_canaries

    hold_canaries(path)  # kept in the canary module's own list for the process's life


def main(argv: Sequence[str] | None = None) -> int:
    return run_program(argv, "holder", USAGE, hold, failure=2)  # a canary file that does not load: bad input


if __name__ == "__main__":
    sys.exit(main())
