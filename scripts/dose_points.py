"""Rule dose_points: the prompt programs of one post-training arm (<scale>, n per task) on every
task of the dose study, as (bits, performance) points."""

from sahlab.complexity.dose import arm_points
from sahlab.io import read_examples, write_json
from sahlab.logs import log_to, set_threads

log = log_to(snakemake.log[0])
set_threads(snakemake.threads)
opts, results = snakemake.params.opts, []
for task, train, test in zip(snakemake.params.tasks, snakemake.input.train, snakemake.input.test):
    # n_test is a cap, as in complexity_points: a smaller test split is used whole
    res = arm_points(
        snakemake.input.model,
        task,
        read_examples(train),
        read_examples(test)[: opts["n_test"]],
        opts,
        snakemake.params.seed,
        snakemake.params.strategies,
        threads=snakemake.threads,
    )
    timings = res.pop("timings")  # wall-clock in the log, not in the output (byte-identical reruns)
    log.info(
        "%s n=%s %s: %d programs, %.1f s",
        snakemake.wildcards.scale,
        snakemake.wildcards.n,
        task,
        len(res["points"]),
        timings[-1]["seconds"],
    )
    results.append(res)
write_json(
    snakemake.output[0],
    {"scale": snakemake.wildcards.scale, "n_per_task": int(snakemake.wildcards.n), "results": results},
)
