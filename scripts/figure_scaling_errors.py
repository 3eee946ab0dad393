"""Rule figure_scaling_errors: format vs content errors vs N per task."""

import pandas as pd

from sahlab.figures.scaling import plot_errors
from sahlab.figures.theme import apply_theme, save
from sahlab.io import read_json
from sahlab.logs import log_to

log_to(snakemake.log[0])
apply_theme(snakemake.params.style["context"])
vanish = {k: f["format_vanish_N"] for k, f in read_json(snakemake.input.fits).items()}
save(plot_errors(pd.read_csv(snakemake.input.errors).to_dict("records"), vanish), snakemake.output)
