"""Rule figure_inductive_use: s-only and t-only errors vs evidence rate per pair and method."""

import pandas as pd

from sahlab.figures.inductive import evidence_note, plot_use_vs_rate
from sahlab.figures.theme import apply_theme, save
from sahlab.logs import log_to

log_to(snakemake.log[0])
apply_theme(snakemake.params.style["context"])
use = pd.read_csv(snakemake.input[0])
save(plot_use_vs_rate(use, note=evidence_note(use)), snakemake.output)
