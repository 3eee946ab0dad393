"""Rule figure_synthesis: per task, each study's evidence against the SAH's two readings."""

import pandas as pd

from sahlab.figures.synthesis import plot
from sahlab.logs import log_to

log_to(snakemake.log[0])
plot(pd.read_csv(snakemake.input[0]), snakemake.output, context=snakemake.params.style["context"])
