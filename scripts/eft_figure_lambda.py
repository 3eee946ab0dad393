"""Rule eft_figure_lambda: the λ mixture of two fine-tuning deltas, per task and as a trade-off."""

from sahlab.figures.eft import plot_sweep, tradeoff_panel
from sahlab.figures.theme import apply_theme, save
from sahlab.logs import log_to

log_to(snakemake.log[0])
apply_theme(snakemake.params.style["context"])
import pandas as pd  # noqa: E402

df = pd.read_csv(snakemake.input[0])
names, (tasks_a, tasks_b) = snakemake.params.variants, snakemake.params.variant_tasks
save(
    plot_sweep(
        df, "lam", f"λ (1 = {names[0]}, 0 = {names[1]})", extra=tradeoff_panel(df, tasks_a, tasks_b, names)
    ),
    snakemake.output,
)
