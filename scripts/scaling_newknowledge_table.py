"""Rule scaling_newknowledge_table: accuracies per model x condition x question kind and the paired
differences (new-people QA arm − old-people QA arm, post − base), with bootstrap CIs over the
held-out people's questions."""

import csv

from sahlab.io import atomic_path, read_jsonl
from sahlab.logs import log_to
from sahlab.scaling.newknowledge import newknowledge_markdown, newknowledge_tables

log = log_to(snakemake.log[0])
p = snakemake.params
records = [r | {"model": m} for m, path in zip(p.models, snakemake.input) for r in read_jsonl(path)]
heldout_only = all(r.get("heldout") is not None for r in records)
acc, diffs = newknowledge_tables(records, n_boot=p.n_boot, seed=p.seed, heldout_only=heldout_only)
for path, rows in ((snakemake.output.csv, acc), (snakemake.output.paired, diffs)):
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
with atomic_path(snakemake.output.md) as tmp:
    tmp.write_text(
        newknowledge_markdown(
            acc,
            diffs,
            heldout=(
                "the held-out new people (no QA about them in any arm)"
                if heldout_only
                else "all new people (no QA/held-out split configured)"
            ),
        )
    )
