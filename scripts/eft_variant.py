"""Rule eft_variant: SFT of the small base model on one mixture variant's tasks (λ sweep)."""

from sahlab.eft.experiment import variant_dataset
from sahlab.io import read_examples
from sahlab.logs import log_to, set_threads
from sahlab.train import train

log = log_to(snakemake.log[0])
set_threads(snakemake.threads)
p = snakemake.params
data = variant_dataset(
    {t: read_examples(path) for t, path in zip(p.tasks, snakemake.input.train)}, p.tasks, p.n_per_task
)
summary = train(
    snakemake.input.model,
    data,
    "sft",
    p.hparams,
    seed=p.seed,
    out_dir=snakemake.output[0],
    threads=snakemake.threads,
    stage="post",
)
log.info("variant %s done: %s", p.variant, summary)
