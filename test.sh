#!/usr/bin/env bash
# Set up (first time) and run the test suite: `bash test.sh [pytest options]`. Two pytest-xdist
# workers (TEST_WORKERS=0 runs in one process); tests/conftest.py groups what must share a worker.
set -euo pipefail
cd "$(dirname "$0")"
bash setup.sh
exec .venv/bin/python -m pytest -n "${TEST_WORKERS:-2}" --dist loadgroup "$@"
