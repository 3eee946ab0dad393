"""Rule inductive_mdl: online-code MDL of every pair's target and spurious feature on one model."""

import json

from sahlab.inductive.experiment import measure_mdl, nan_to_none
from sahlab.io import read_json, write_json
from sahlab.logs import log_to, set_threads
from sahlab.timing import split_timings

log = log_to(snakemake.log[0])
set_threads(snakemake.threads)
opts = snakemake.params.mdl
rows = measure_mdl(
    snakemake.input.model,
    snakemake.params.pairs,
    opts["n"],
    opts["probe_seeds"],
    snakemake.params.seed,
    world=read_json(snakemake.input.world),
    probes=opts.get("probes", ["linear"]),
    probe_opts=opts.get("probe_opts", {}),
    pooling=opts.get("pooling", "last"),
    layer=opts.get("layer", -1),
    toy=snakemake.params.toy,
    prompt_format=snakemake.params.prompt_format,
)
# wall-clock fields go to the log, not the metrics file (byte-identical re-runs: sahlab.timing)
rows, timings = split_timings(rows)
log.info("timings (s): %s", json.dumps(timings))
write_json(snakemake.output[0], nan_to_none(rows))
