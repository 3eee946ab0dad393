"""Rule eft_figure_beta: up-scaling performance vs the delta strength β."""

from sahlab.figures.eft import plot_sweep
from sahlab.figures.theme import apply_theme, save
from sahlab.logs import log_to

log_to(snakemake.log[0])
apply_theme(snakemake.params.style["context"])
import pandas as pd  # noqa: E402

save(
    plot_sweep(pd.read_csv(snakemake.input[0]), "beta", "β (fine-tuning delta strength)", marks=[1.0]),
    snakemake.output,
)
