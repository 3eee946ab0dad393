"""Rule inductive_finetune: fine-tune one model on one (target, spurious) pair with one method and
seed, once per evidence rate, and measure per-section metrics, feature use and convergence."""

import json

from sahlab.inductive.experiment import finetune_over_rates, nan_to_none
from sahlab.io import read_json, write_json
from sahlab.logs import log_to, set_threads
from sahlab.timing import split_timings

log = log_to(snakemake.log[0])
set_threads(snakemake.threads)
p = snakemake.params
rows = finetune_over_rates(
    snakemake.input.model,
    snakemake.wildcards.pair,
    snakemake.wildcards.method,
    int(snakemake.wildcards.seed),
    p.rates,
    p.n_train,
    p.n_test,
    p.hparams,
    data_seed=p.data_seed,
    world=read_json(snakemake.input.world),
    toy=p.toy,
    converged_at=p.converged_at,
    evidence=p.evidence,
    threads=snakemake.threads,
    work_root=snakemake.output[0],
    prompt_format=snakemake.params.prompt_format,
)
# wall-clock fields go to the log, not the metrics file (byte-identical re-runs: sahlab.timing)
rows, timings = split_timings(rows)
log.info("timings (s): %s", json.dumps(timings))
write_json(snakemake.output[0], nan_to_none(rows))
