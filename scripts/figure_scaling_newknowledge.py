"""Rule figure_scaling_newknowledge: direct / 2-hop exact match on the held-out new people per model
and condition, and the paired differences between the arms and between the models."""

import pandas as pd

from sahlab.figures.scaling import plot_newknowledge
from sahlab.figures.theme import apply_theme, save
from sahlab.logs import log_to

log_to(snakemake.log[0])
apply_theme(snakemake.params.style["context"])
save(
    plot_newknowledge(
        pd.read_csv(snakemake.input.acc).to_dict("records"),
        pd.read_csv(snakemake.input.paired).to_dict("records"),
    ),
    snakemake.output,
)
