"""`python -m signward`: the console script (one line naming the extra when the CLI's is missing)."""

import sys

from .entry import main

sys.exit(main())
