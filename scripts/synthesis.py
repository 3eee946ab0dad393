"""Rule synthesis: paired stage gains, the synthesis table and the claims' verdicts."""

import pandas as pd

from sahlab.eval.scorers import MAIN_METRIC
from sahlab.inductive.analysis import markdown_table
from sahlab.io import atomic_path, read_jsonl
from sahlab.logs import log_to
from sahlab.synthesis import table, verdicts
from sahlab.synthesis.inputs import record_key
from sahlab.synthesis.stage_gains import CAPTION, COLUMNS, gains_rows

log = log_to(snakemake.log[0])
p, out = snakemake.params, snakemake.output
records = {record_key(f): read_jsonl(f) for f in [*snakemake.input.own, *snakemake.input.cross]}
gains = pd.DataFrame(gains_rows(records, MAIN_METRIC, n_boot=p.n_boot, seed=p.seed), columns=list(COLUMNS))
with atomic_path(out.gains_csv) as tmp:
    gains.to_csv(tmp, index=False)
with atomic_path(out.gains_md) as tmp:
    tmp.write_text(CAPTION + "\n\n" + markdown_table(gains.to_dict("records"), list(gains.columns)))
log.info("stage gains: %d contrasts", len(gains))

tables = {"stage_gains": gains} | {n: pd.read_csv(f) for n, f in zip(p.names, snakemake.input.tables)}
tables["complexity_dose"] = table.read_optional(snakemake.input.dose)
synth = table.build(tables)
table.write(synth, out.csv, out.md)
claims = verdicts.load_claims(snakemake.input.claims)
rows = verdicts.verdict_rows(claims, synth, alpha=p.alpha)
with atomic_path(out.verdicts_csv) as tmp:
    pd.DataFrame(rows).to_csv(tmp, index=False)
with atomic_path(out.verdicts_md) as tmp:
    tmp.write_text(verdicts.markdown(rows, claims, p.alpha))
log.info("verdicts: %s", ", ".join(f"{r['claim']} {r['scope']}: {r['verdict']}" for r in rows))
