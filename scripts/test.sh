#!/usr/bin/env bash
# Run the whole test suite (after scripts/setup.sh). Extra arguments go to pytest.
# With pytest-xdist installed (the test extras) it runs on SIGNWARD_TEST_WORKERS workers (2, one a
# core on CI; 0 or 1: one serial pytest), `--dist loadgroup`: the tests that share a lab, a wheel or
# a module's fixture run on one worker (tests/workers.py, docs/testing.md). The lab's group goes
# first (--no-loadscope-reorder keeps the collection order, which puts it first on a worker).
set -euo pipefail
cd "$(dirname "$0")/.."
workers="${SIGNWARD_TEST_WORKERS:-2}"
parallel=()
if [ "$workers" -gt 1 ] && .venv/bin/python -c "import xdist" 2>/dev/null; then
  parallel=(-n "$workers" --dist loadgroup --no-loadscope-reorder)
fi
exec .venv/bin/python -m pytest -q --durations=25 "${parallel[@]}" "$@"   # the slowest 25: where CI time goes
