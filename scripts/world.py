"""Rule world: generate the embedded world's entities and facts from the seed."""

from sahlab.io import atomic_path
from sahlab.logs import log_to
from sahlab.world.build import build_world, validate_world_config

log = log_to(snakemake.log[0])
cfg = validate_world_config(snakemake.params.world)
world = build_world(cfg, seed=snakemake.params.seed)
with atomic_path(snakemake.output[0]) as tmp:
    tmp.write_text(world.to_json())
log.info(
    "world: %d corpus people, %d new people -> %s",
    len(world.corpus_people),
    len(world.new_people),
    snakemake.output[0],
)
