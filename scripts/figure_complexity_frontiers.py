"""Rule figure_complexity_frontiers: Pareto frontiers per conditioning model and task."""

from sahlab.complexity.summary import read_point_rows
from sahlab.figures.complexity import plot_frontiers
from sahlab.figures.theme import apply_theme, save
from sahlab.logs import log_to

log = log_to(snakemake.log[0])
apply_theme(snakemake.params.style.get("context", "paper"))
save(plot_frontiers(read_point_rows(snakemake.input[0]), snakemake.params.deltas), snakemake.output)
