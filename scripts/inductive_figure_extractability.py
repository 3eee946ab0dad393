"""Rule figure_inductive_extractability: per-pair errors vs relative extractability, ρ, p, CI."""

import pandas as pd

from sahlab.figures.inductive import evidence_note, plot_extractability_scatter
from sahlab.figures.theme import apply_theme, save
from sahlab.logs import log_to

log_to(snakemake.log[0])
apply_theme(snakemake.params.style["context"])
note = "errors averaged over " + evidence_note(pd.read_csv(snakemake.input.use))
save(
    plot_extractability_scatter(
        pd.read_csv(snakemake.input.pairs), pd.read_csv(snakemake.input.corr), note=note
    ),
    snakemake.output,
)
