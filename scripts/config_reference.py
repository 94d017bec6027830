"""Write docs/configuration.md from the code's own tables (`signward.config_reference.render`).

    python scripts/config_reference.py           # write the page
    python scripts/config_reference.py --check   # exit 1 (naming the page) when it differs from the code
"""

from __future__ import annotations

import sys
from pathlib import Path

from signward.config_reference import render

PAGE = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"


def main(argv: list[str]) -> int:
    text = render()
    if argv[1:] == ["--check"]:
        if PAGE.read_text(encoding="utf-8") != text:
            print(f"{PAGE} differs from the code: run python scripts/config_reference.py", file=sys.stderr)
            return 1
        return 0
    if argv[1:]:
        print("usage: config_reference.py [--check]", file=sys.stderr)
        return 2
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
