"""Rule eft_figure_grid: the 2×2 pre-training × fine-tuning grid per task and metric."""

from sahlab.figures.eft import plot_grid
from sahlab.figures.theme import apply_theme, save
from sahlab.logs import log_to

log_to(snakemake.log[0])
apply_theme(snakemake.params.style["context"])
import pandas as pd  # noqa: E402

save(plot_grid(pd.read_csv(snakemake.input.cells), pd.read_csv(snakemake.input.gains)), snakemake.output)
