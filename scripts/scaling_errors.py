"""Rule scaling_errors: format and content error shares per (model, task, N, seed)."""

import csv

from sahlab.io import atomic_path, read_examples, read_jsonl
from sahlab.logs import log_to
from sahlab.scaling.analysis import ERROR_COLUMNS, error_split

log = log_to(snakemake.log[0])
p = snakemake.params
records = [
    r | {"model": m, "task": t}
    for path, (m, t) in zip(snakemake.input.records, p.cells)
    for r in read_jsonl(path)
]
tests = {t: read_examples(f) for t, f in zip(p.tasks, snakemake.input.tests)}
refs = {t: read_examples(f) + tests[t] for t, f in zip(p.tasks, snakemake.input.trains)}
rows = error_split(records, tests, refs)
with atomic_path(snakemake.output[0]) as tmp, open(tmp, "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=ERROR_COLUMNS)
    w.writeheader()
    w.writerows(rows)
