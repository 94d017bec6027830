#!/usr/bin/env bash
# Run the whole test suite (after scripts/setup.sh). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m pytest -q --durations=25 "$@"   # the slowest 25: where CI time goes
