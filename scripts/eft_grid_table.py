"""Rule eft_grid_table: the 2×2 grid (diagonal = harness outputs re-scored on the same examples, plus
the knowledge items by likelihood) and the scaling gains with paired bootstrap CIs."""

from sahlab.eft.experiment import diagonal_rows, gains_markdown, grid_tables, markdown, records_by_cell
from sahlab.io import atomic_path, read_examples, read_json, read_jsonl
from sahlab.logs import log_to

log = log_to(snakemake.log[0])
p = snakemake.params
tests = {t: read_examples(path) for t, path in zip(p.tasks, snakemake.input.tests)}
outputs = {
    cell: {t: read_jsonl(path) for t, path in zip(p.tasks, snakemake.input[cell])}
    for cell in ("small", "large")
}
rows, records = diagonal_rows(outputs, tests, p.n_test, n_boot=p.n_boot, seed=p.seed)
# knowledge: the likelihood-factuality items (embedded world only; an empty list otherwise)
rows += [r for path in (*snakemake.input.emulated, *snakemake.input.knowledge) for r in read_json(path)]
emulated = [
    r
    for path in (*snakemake.input.emulated_records, *snakemake.input.knowledge_records)
    for r in read_jsonl(path)
]
for cell, per_task in records_by_cell(emulated).items():
    records.setdefault(cell, {}).update(per_task)
cells, gains = grid_tables(rows, records, n_boot=p.n_boot, seed=p.seed)
for g in gains.itertuples():
    log.info(
        "%s/%s: Δft %+.3f (%s), Δpt %+.3f (%s)",
        g.task,
        g.metric,
        g.ft_gain,
        g.ft_verdict,
        g.pt_gain,
        g.pt_verdict,
    )
for df, csv, md, text in (
    (cells, snakemake.output.csv, snakemake.output.md, markdown(cells)),
    (gains, snakemake.output.gains_csv, snakemake.output.gains_md, gains_markdown(gains)),
):
    with atomic_path(csv) as tmp:
        df.to_csv(tmp, index=False)
    with atomic_path(md) as tmp:
        tmp.write_text(text)
