#!/usr/bin/env bash
# Run the whole test suite (after scripts/setup.sh). Extra arguments go to pytest.
# Two pytest-xdist workers by default (pytest-xdist is in the test extras; SIGNWARD_TEST_WORKERS=1
# for one serial pytest, or another count): `--dist loadgroup`, the tests that share a lab, a wheel
# or a module's fixture on one worker (tests/workers.py); the lab's group first
# (--no-loadscope-reorder keeps the collection order, which puts it first on a worker). The whole
# suite passed on two workers in 2,246 s against about 3,200 s serial (docs/testing.md, "On two cores").
set -euo pipefail
cd "$(dirname "$0")/.."
workers="${SIGNWARD_TEST_WORKERS:-2}"
parallel=()
if [ "$workers" -gt 1 ] && .venv/bin/python -c "import xdist" 2>/dev/null; then
  parallel=(-n "$workers" --dist loadgroup --no-loadscope-reorder)
fi
exec .venv/bin/python -m pytest -q --durations=25 "${parallel[@]}" "$@"   # the slowest 25: where CI time goes
