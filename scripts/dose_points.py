"""Rule dose_points: the prompt programs of one post-training arm (<scale>, n per task) on every
task of the dose study, as (bits, performance) points."""
from sahlab.complexity.dose import arm_points
from sahlab.io import first_examples, read_examples, write_json
from sahlab.logs import log_to, set_threads

log = log_to(snakemake.log[0])
set_threads(snakemake.threads)
opts, results = snakemake.params.opts, []
for task, train, test in zip(snakemake.params.tasks, snakemake.input.train, snakemake.input.test):
    res = arm_points(snakemake.input.model, task, read_examples(train),
                     first_examples(test, opts["n_test"], "complexity.n_test"), opts,
                     snakemake.params.seed, snakemake.params.strategies, threads=snakemake.threads)
    log.info("%s n=%s %s: %d programs, %.1f s", snakemake.wildcards.scale, snakemake.wildcards.n,
             task, len(res["points"]), res["seconds"])
    results.append(res)
write_json(snakemake.output[0], {"scale": snakemake.wildcards.scale,
                                 "n_per_task": int(snakemake.wildcards.n), "results": results})
