"""Rule complexity_points: every study-B program (baseline, ICL, URIAL, LoRA, full FT, data) of one
conditioning model on one task, as (bits, performance) points; wall-clock timings apart."""

from sahlab.complexity.strategies import run_complexity
from sahlab.io import read_examples, write_json
from sahlab.logs import log_to, set_threads

log = log_to(snakemake.log[0])
set_threads(snakemake.threads)
opts = snakemake.params.opts
# n_test is a cap: a smaller test split (the default multihop has 160) is used whole
result = run_complexity(
    snakemake.input.model,
    snakemake.wildcards.task,
    read_examples(snakemake.input.train),
    read_examples(snakemake.input.test)[: opts["n_test"]],
    opts,
    snakemake.params.seed,
    threads=snakemake.threads,
)
timings = result.pop("timings")
write_json(snakemake.output.points, result)
write_json(snakemake.output.timing, {"model": result["model"], "task": result["task"], "timings": timings})
log.info(
    "%d programs (selection %d, evaluation %d examples), %d skipped settings, %.1f s",
    len(result["points"]),
    result["n_select"],
    result["n_eval"],
    len(result["skipped"]),
    timings[-1]["seconds"],
)
