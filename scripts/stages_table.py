"""Rule stages_table: stage x scale x task table (main metric, format score, knowledge, corpus loss)."""
from sahlab.eval.scorers import MAIN_METRIC
from sahlab.eval.tables import PROBE_METRIC, collect_metrics, to_markdown
from sahlab.io import atomic_path
from sahlab.logs import log_to

log = log_to(snakemake.log[0])
df = collect_metrics([*snakemake.input.metrics, *snakemake.input.knowledge], snakemake.input.losses)
with atomic_path(snakemake.output.csv) as tmp:
    df.to_csv(tmp, index=False)
tasks = [t for t in dict.fromkeys(df.task) if t in MAIN_METRIC]
probes = {t: m for t, m in PROBE_METRIC.items() if (df.task == t).any()}
md = to_markdown(df, {t: MAIN_METRIC[t] for t in tasks} | probes)
md += "\nFormat score (answer parseable in the requested form):\n\n" + to_markdown(df, {t: "format" for t in tasks})
with atomic_path(snakemake.output.md) as tmp:
    tmp.write_text(md)
log.info("\n%s", md)
