"""Rule figure_pretrain_loss: loss curves saved by pre-training."""

from pathlib import Path

from sahlab.figures.pretrain_loss import plot_pretrain_loss
from sahlab.figures.theme import apply_theme, save
from sahlab.io import read_json
from sahlab.logs import log_to

log_to(snakemake.log[0])
apply_theme(snakemake.params.style["context"])
curves = {s: read_json(Path(d) / "loss_curve.json") for s, d in zip(snakemake.params.scales, snakemake.input)}
save(plot_pretrain_loss(curves), snakemake.output)
