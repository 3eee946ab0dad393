#!/usr/bin/env bash
# Create .venv with exactly the files of requirements.lock (pins + sha256, written by lock.sh;
# idempotent: re-installs only when the lock or pyproject.toml changed). Needs Python >= 3.11 and
# pip; nothing else.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
"$PY" -c 'import sys; assert sys.version_info >= (3, 11), f"sahlab needs Python >= 3.11, found {sys.version.split()[0]}"'
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ "$(cat .venv/.sahlab-lock 2>/dev/null)" = "$want" ]; then
  exit 0
fi
echo "setup: installing the pinned environment into .venv (first time: a few minutes)" >&2
"$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check pip==25.3
.venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
echo "$want" > .venv/.sahlab-lock
echo "setup: done ($(.venv/bin/python -c 'import torch, transformers, trl; print("torch", torch.__version__, "transformers", transformers.__version__, "trl", trl.__version__)'))" >&2
