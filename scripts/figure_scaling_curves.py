"""Rule figure_scaling_curves: performance vs N with both fits, per task and model."""

from sahlab.figures.scaling import plot_curves
from sahlab.figures.theme import apply_theme, save
from sahlab.io import read_json
from sahlab.logs import log_to
from sahlab.scaling.analysis import harness_performance

log_to(snakemake.log[0])
apply_theme(snakemake.params.style["context"])
refs = {
    key: harness_performance(read_json(path), key.split("/")[1])
    for key, path in zip(snakemake.params.cells, snakemake.input.refs)
}
save(plot_curves(read_json(snakemake.input.fits), refs, snakemake.params.bounds), snakemake.output)
