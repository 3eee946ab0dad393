"""Rule eft_grid_cell: one emulated cell of the 2×2 grid (up- or down-scaling) on every task."""

from sahlab.eft.experiment import run_grid_cell
from sahlab.io import read_examples, write_json, write_jsonl
from sahlab.logs import log_to, set_threads

log = log_to(snakemake.log[0])
set_threads(snakemake.threads)
p = snakemake.params
# eft.n_test is a cap, like evaluation.n_test: a smaller test split is used whole (the diagonal
# re-scores the harness's outputs of the same examples)
tests = {t: read_examples(path)[: p.n_test] for t, path in zip(p.tasks, snakemake.input.tests)}
dirs = {role: snakemake.input[role] for role in p.roles}
rows, records = run_grid_cell(
    p.cell, dirs, tests, p.max_new_tokens, batch_size=p.batch_size, n_boot=p.n_boot, seed=p.seed
)
write_jsonl(snakemake.output.records, records)
write_json(snakemake.output.metrics, rows)
