"""Rule dose_table: the collapse of every post-training arm against its ceiling L(D_post | base)."""

from sahlab.complexity.dose import dose_rows, write_dose_tables
from sahlab.complexity.summary import split_model
from sahlab.io import read_json
from sahlab.logs import log_to

log = log_to(snakemake.log[0])
p = snakemake.params
arms = {}
for path in snakemake.input.arms:
    arm = read_json(path)
    arms[(arm["scale"], arm["n_per_task"])] = arm["results"]
for path in snakemake.input.main:  # the arm of size posttrain.n_per_task: the main <scale>-post
    res = read_json(path)
    arms.setdefault((split_model(res["model"])[0], p.main_size), []).append(res)
ceilings = {c["scale"]: c for c in map(read_json, snakemake.input.ceilings)}
rows = dose_rows(
    [read_json(x) for x in snakemake.input.base], arms, ceilings, p.strategies, main_size=p.main_size
)
write_dose_tables(rows, snakemake.output.csv, snakemake.output.md)
log.info("%d rows", len(rows))
