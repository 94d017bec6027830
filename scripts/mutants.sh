#!/usr/bin/env bash
# Every control's check, broken one at a time in a copy of the source, must be caught by its
# tests (the list is in scripts/mutants.py). Exit 0 only when every mutant is killed.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python scripts/mutants.py "$@"
