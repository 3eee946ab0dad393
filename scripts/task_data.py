"""Rule task_data: one task's train and test splits in the common schema, from the embedded
world or from the hub (the same schema either way)."""

from pathlib import Path

from sahlab.io import write_jsonl
from sahlab.logs import log_to

log = log_to(snakemake.log[0])
task, spec = snakemake.wildcards.task, snakemake.params.spec
if spec.get("source", "embedded") == "embedded":
    from sahlab.world.build import World, make_newknowledge, make_task, validate_world_config

    cfg = validate_world_config(snakemake.params.world)
    world = World.from_json(Path(snakemake.input.world).read_text())
    make = make_newknowledge if task == "newknowledge" else (lambda w, c, seed: make_task(w, task, c, seed))
    splits = make(world, cfg, seed=snakemake.params.seed)
else:
    from sahlab.data.hub import load_hub_task

    splits = {s: load_hub_task(spec[s]) for s in ("train", "test")}
for split in ("train", "test"):
    log.info("%s %s: %d rows", task, split, write_jsonl(snakemake.output[split], splits[split]))
