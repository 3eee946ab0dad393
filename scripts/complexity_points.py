"""Rule complexity_points: every study-B program (baseline, ICL, LoRA, full FT, data) of one
conditioning model on one task, as (bits, performance) points."""
from sahlab.complexity.strategies import run_complexity
from sahlab.io import first_examples, read_examples, write_json
from sahlab.logs import log_to, set_threads

log = log_to(snakemake.log[0])
set_threads(snakemake.threads)
result = run_complexity(snakemake.input.model, snakemake.wildcards.task,
                        read_examples(snakemake.input.train),
                        first_examples(snakemake.input.test, snakemake.params.opts["n_test"],
                                       "complexity.n_test"),
                        snakemake.params.opts, snakemake.params.seed, threads=snakemake.threads)
write_json(snakemake.output[0], result)
log.info("%d programs, %d skipped settings, %.1f s", len(result["points"]), len(result["skipped"]),
         result["seconds"])
