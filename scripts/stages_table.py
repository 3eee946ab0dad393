"""Rule stages_table: stage x format x scale x task table (main metric, format score, every
metric variant, knowledge, corpus loss)."""

from sahlab.eval.scorers import MAIN_METRIC
from sahlab.eval.tables import PROBE_METRIC, all_metrics_markdown, collect_metrics, to_markdown
from sahlab.io import atomic_path
from sahlab.logs import log_to

log = log_to(snakemake.log[0])
df = collect_metrics(
    [*snakemake.input.metrics, *snakemake.input.cross, *snakemake.input.knowledge], snakemake.input.losses
)
with atomic_path(snakemake.output.csv) as tmp:
    df.to_csv(tmp, index=False)
tasks = [t for t in dict.fromkeys(df.task) if t in MAIN_METRIC]
probes = {t: m for t, m in PROBE_METRIC.items() if (df.task == t).any()}
md = to_markdown(df, {t: MAIN_METRIC[t] for t in tasks} | probes)
md = (
    "Format: the prompt format the model was asked in (native: the task's layout in the "
    "pre-training corpus; chat: the chat template). Knowledge (cloze) and held-out loss do not "
    "depend on a prompt format and are given once per model (·).\n\n" + md
)
md += "\nFormat score (answer parseable in the requested form):\n\n" + to_markdown(
    df, {t: "format" for t in tasks}
)
md += "\nEvery metric variant (95 % bootstrap CIs):\n\n" + all_metrics_markdown(df, tasks)
with atomic_path(snakemake.output.md) as tmp:
    tmp.write_text(md)
log.info("\n%s", md)
