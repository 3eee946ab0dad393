"""Rule scaling_run: one (model, task, seed) over the whole N grid (SFT, then evaluation)."""

from sahlab.io import read_examples, write_json, write_jsonl
from sahlab.logs import log_to, set_threads
from sahlab.scaling.run import run_scaling

log = log_to(snakemake.log[0])
set_threads(snakemake.threads)
p = snakemake.params
# scaling.n_test is a cap: a smaller test split (multihop: 160 rows) is used whole
records, summary, timing = run_scaling(
    snakemake.input.model,
    p.task,
    read_examples(snakemake.input.train),
    read_examples(snakemake.input.test)[: p.n_test],
    p.grid,
    int(snakemake.wildcards.seed),
    hparams=p.hparams,
    **p.schedule,  # epochs, min_steps, max_steps
    max_new_tokens=p.max_new_tokens,
    batch_size=p.batch_size,
    threads=snakemake.threads,
    work_root=snakemake.output.records,
)
write_jsonl(snakemake.output.records, records)
write_json(
    snakemake.output.summary,
    {
        "model": snakemake.wildcards.model,
        "task": p.task,
        "seed": int(snakemake.wildcards.seed),
        "per_N": summary,
    },
)
write_json(
    snakemake.output.timing,
    {
        "model": snakemake.wildcards.model,
        "task": p.task,
        "seed": int(snakemake.wildcards.seed),
        "per_N": timing,
    },
)
