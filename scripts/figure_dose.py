"""Rule figure_dose: the collapse (bits saved) of every post-training arm against its ceiling."""

import csv

from sahlab.figures.dose import plot_dose
from sahlab.figures.theme import apply_theme, save
from sahlab.logs import log_to

log = log_to(snakemake.log[0])
apply_theme(snakemake.params.style.get("context", "paper"))
with open(snakemake.input[0], newline="") as f:
    rows = list(csv.DictReader(f))
save(plot_dose(rows), snakemake.output)
