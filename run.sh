#!/usr/bin/env bash
# Set up (first time) and run the embedded default study: `bash run.sh [snakemake options]`.
# CORES=N sets the number of cores (default 2); extra arguments go to snakemake, e.g.
# `bash run.sh results/figures/stages.pdf` or `bash run.sh -n`.
set -euo pipefail
cd "$(dirname "$0")"
cores="${CORES:-2}"
# snakemake accepts --cores 0 and then waits forever for a free core: refuse it up front.
if ! [[ "$cores" =~ ^[1-9][0-9]*$ || "$cores" == all ]]; then
  echo "run.sh: CORES must be a positive integer or 'all', got '$cores'" >&2
  exit 2
fi
bash setup.sh
# A missing or tab-indented --configfile: one line naming the file (snakemake: a traceback).
.venv/bin/python -m sahlab.config "$@"
exec .venv/bin/snakemake --profile profiles/default --cores "$cores" "$@"
