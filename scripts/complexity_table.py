"""Rule complexity_table: all programs, task complexity at each δ and the reduction factors."""

from sahlab.complexity.summary import write_tables
from sahlab.io import read_json
from sahlab.logs import log_to

log = log_to(snakemake.log[0])
write_tables(
    [read_json(p) for p in snakemake.input],
    snakemake.params.deltas,
    snakemake.output.points,
    snakemake.output.csv,
    snakemake.output.md,
    snakemake.output.reductions,
    snakemake.output.headline,
)
