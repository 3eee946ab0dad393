"""Rule inductive_summary: MDL table, per-run and per-pair summaries and the pair-level correlations
between relative extractability and feature use (CSV + markdown)."""

import pandas as pd

from sahlab.inductive.analysis import CORR_COLUMNS, MDL_COLUMNS, correlation_caption, summarise, write_table
from sahlab.io import read_json
from sahlab.logs import log_to

log = log_to(snakemake.log[0])
p, out = snakemake.params, snakemake.output
use = pd.read_csv(snakemake.input.use).to_dict("records")
tables = summarise(
    [r for path in snakemake.input.mdl for r in read_json(path)],
    use,
    p.rates,
    threshold=p.threshold,
    n_permutations=p.n_permutations,
    n_boot=p.n_boot,
    seed=p.seed,
)
write_table(
    tables["mdl"],
    out.mdl_csv,
    out.mdl_md,
    MDL_COLUMNS,
    "Online-code MDL (bits, mean over probe seeds) of each pair's target and spurious "
    "feature; acc = accuracy of the last online-code block's probe; relative "
    "extractability = MDL(spurious) / MDL(target).",
)
write_table(
    tables["correlations"], out.corr_csv, out.corr_md, CORR_COLUMNS, correlation_caption(p.converged_at)
)
write_table(tables["pairs"], out.pairs)
write_table(tables["runs"], out.runs)
