#!/usr/bin/env bash
# Set up (first time) and run the test suite: `bash test.sh [pytest options]`. Two pytest-xdist
# workers, one module each at a time (TEST_WORKERS=0: one process); they share one smoke run (tests/conftest.py).
set -euo pipefail
cd "$(dirname "$0")"
bash setup.sh
exec .venv/bin/python -m pytest -n "${TEST_WORKERS:-2}" --dist loadfile "$@"
