"""Rule figure_stages: stage x scale x task figure with CIs."""

import pandas as pd

from sahlab.eval.scorers import MAIN_METRIC
from sahlab.eval.tables import PROBE_METRIC
from sahlab.figures.stages import plot_stages
from sahlab.figures.theme import apply_theme, save
from sahlab.logs import log_to

log_to(snakemake.log[0])
apply_theme(snakemake.params.style["context"])
df = pd.read_csv(snakemake.input[0])
tasks = [t for t in dict.fromkeys(df.task) if t in MAIN_METRIC]
knowledge = {"knowledge": PROBE_METRIC["knowledge"]} if (df.task == "knowledge").any() else {}
save(plot_stages(df, {t: MAIN_METRIC[t] for t in tasks} | knowledge), snakemake.output)
