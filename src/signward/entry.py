"""The `signward` console script: the CLI when its extras are installed, else one line saying
which to install (the bare package is the validator library only)."""

from __future__ import annotations

import sys


def main() -> int:
    try:
        from .cli import main as cli_main
    except ModuleNotFoundError as exc:
        print(f"signward: the command needs {exc.name}, which the bare package does not install; "
              f"install signward[all] (or [issuer], [dumps], [depth], [guard])", file=sys.stderr)
        return 2
    return cli_main()


__all__ = ["main"]
