"""Rule figure_world: corpus mix and task sizes."""

from pathlib import Path

from sahlab.figures.theme import apply_theme, save
from sahlab.figures.world import plot_world
from sahlab.io import read_jsonl
from sahlab.logs import log_to

log_to(snakemake.log[0])
apply_theme(snakemake.params.style["context"])
corpus = {Path(p).stem: read_jsonl(p) for p in snakemake.input.corpus}
sizes = {(Path(p).parent.name, Path(p).stem): len(read_jsonl(p)) for p in snakemake.input.tasks}
save(plot_world(corpus, sizes), snakemake.output)
