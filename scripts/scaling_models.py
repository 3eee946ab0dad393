"""Rule scaling_models: each model's fitted exponent and level beside its base reasoning score."""

import csv

from sahlab.io import atomic_path, read_json
from sahlab.logs import log_to
from sahlab.scaling.analysis import MODEL_COLUMNS, models_table

log = log_to(snakemake.log[0])
with open(snakemake.input.stages) as f:
    stages = list(csv.DictReader(f))
rows = models_table(read_json(snakemake.input.fits), stages)
with atomic_path(snakemake.output[0]) as tmp, open(tmp, "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=MODEL_COLUMNS)
    w.writeheader()
    w.writerows(rows)
