"""Rule dose_ceiling: L(D_post | base) of every post-training arm of one scale (the online code
length of the post-training mixture under the base model)."""

from pathlib import Path

from sahlab.complexity.dose import measure_ceiling
from sahlab.io import read_examples, write_json
from sahlab.logs import log_to, set_threads

log = log_to(snakemake.log[0])
set_threads(snakemake.threads)
sizes = snakemake.params.sizes
# the mixture of posttrain.py: the first n training examples of every task
per_task = {Path(p).parent.name: read_examples(p)[: max(sizes)] for p in snakemake.input.train}
res = measure_ceiling(snakemake.input.model, per_task, sizes, snakemake.params.lr)
write_json(snakemake.output[0], {"scale": snakemake.wildcards.scale, **res})
for arm in res["arms"]:
    log.info(
        "n=%d per task: %d examples, L(D_post | base) = %.0f bits",
        arm["n_per_task"],
        arm["n_examples"],
        arm["bits"],
    )
log.info("online pass over %d examples: %.1f s", len(res["per_example"]), res["seconds"])
