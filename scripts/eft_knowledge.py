"""Rule eft_knowledge: cloze accuracy of the world's knowledge items in every cell of the 2×2 grid."""

from sahlab.eft.knowledge import run_knowledge
from sahlab.io import write_json, write_jsonl
from sahlab.logs import log_to, set_threads
from sahlab.world.entities import World

log = log_to(snakemake.log[0])
set_threads(snakemake.threads)
p = snakemake.params
world = World.from_json(open(snakemake.input.world).read())
rows, records = run_knowledge(
    {role: snakemake.input[role] for role in p.roles}, world, n_boot=p.n_boot, seed=p.seed
)
for r in rows:
    log.info(
        "knowledge %s: %s %.3f [%.3f, %.3f]", r["cell"], r["metric"], r["value"], r["ci_low"], r["ci_high"]
    )
write_jsonl(snakemake.output.records, records)
write_json(snakemake.output.metrics, rows)
