#!/usr/bin/env bash
# Regenerate requirements.lock — exact pins and the sha256 of every file of each pin — from the
# dependencies pyproject.toml declares (all extras), with uv. Pins already in the lock are kept
# (uv prefers its output file's versions); to move one, change pyproject.toml or pass
# --upgrade-package NAME. setup.sh installs the lock with pip --require-hashes.
# torch is PyTorch's CPU build (2.13.0+cpu: the default study needs no GPU, and the CUDA build
# drags ~3 GB of nvidia-* wheels): taken from pip's find-links where the machine has it, from
# PyTorch's CPU index otherwise.
set -euo pipefail
cd "$(dirname "$0")"
UV_VERSION=0.13.9
if ! [ -x .lock-venv/bin/uv ] || [ "$(.lock-venv/bin/uv --version | cut -d' ' -f2)" != "$UV_VERSION" ]; then
  python3 -m venv .lock-venv
  .lock-venv/bin/python -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
links=$(python3 -m pip config list 2>/dev/null | sed -n "s/.*find-links='\(.*\)'/\1/p" | head -1)
if [ -n "$links" ]; then src=(--find-links "$links"); else src=(--extra-index-url https://download.pytorch.org/whl/cpu); fi
.lock-venv/bin/uv pip compile pyproject.toml --all-extras --generate-hashes --python-version 3.11 \
  --index-url https://pypi.org/simple "${src[@]}" --no-emit-find-links --emit-index-annotation \
  --custom-compile-command "bash lock.sh" --quiet -o requirements.lock "$@"
