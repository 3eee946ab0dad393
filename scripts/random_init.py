"""Rule random_init: the random-initialisation model of one scale (for pipeline-built scales the
very weights pre-training starts from; for hub scales the base architecture re-initialised)."""

from sahlab.logs import log_to

log = log_to(snakemake.log[0])
if "tokenizer" in snakemake.input.keys():
    from sahlab.models.pretrain import init_random

    init_random(
        snakemake.params.build, snakemake.input.tokenizer, snakemake.output[0], seed=snakemake.params.seed
    )
else:
    from sahlab.models.registry import reinit_like

    reinit_like(snakemake.input.base, snakemake.output[0], seed=snakemake.params.seed)
log.info("random-init model written to %s", snakemake.output[0])
