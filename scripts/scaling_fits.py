"""Rule scaling_fits: the paper's log-log line and the power law per (model, task), bootstrap
CIs, held-out checks, and where format errors vanish."""

import csv

from sahlab.io import atomic_path, read_jsonl, write_json
from sahlab.logs import log_to
from sahlab.scaling.analysis import FIT_COLUMNS, fit_all, fit_table, markdown_table

log = log_to(snakemake.log[0])
p = snakemake.params
records = [
    r | {"model": m, "task": t}
    for path, (m, t) in zip(snakemake.input.records, p.cells)
    for r in read_jsonl(path)
]
with open(snakemake.input.errors) as f:
    error_rows = list(csv.DictReader(f))
fits = fit_all(
    records,
    n_boot=p.n_boot,
    seed=p.seed,
    heldout=p.heldout,
    saturation=p.saturation,
    error_rows=error_rows,
    format_threshold=p.format_threshold,
)
write_json(snakemake.output.json, fits)
rows = fit_table(fits)
with atomic_path(snakemake.output.csv) as tmp, open(tmp, "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=FIT_COLUMNS)
    w.writeheader()
    w.writerows(rows)
with atomic_path(snakemake.output.md) as tmp:
    tmp.write_text(markdown_table(rows))
