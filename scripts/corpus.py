"""Rule corpus: the pre-training corpus (train + held-out validation) drawn from the world."""

from pathlib import Path

from sahlab.io import write_jsonl
from sahlab.logs import log_to
from sahlab.world.build import World, make_corpus, validate_world_config

log = log_to(snakemake.log[0])
cfg = validate_world_config(snakemake.params.world)
world = World.from_json(Path(snakemake.input.world).read_text())
corpus = make_corpus(world, cfg, seed=snakemake.params.seed)
for split in ("train", "val"):
    n = write_jsonl(snakemake.output[split], corpus[split])
    log.info("corpus %s: %d documents, %d characters", split, n, sum(len(d["text"]) for d in corpus[split]))
