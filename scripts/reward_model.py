"""Rule reward_model: a reward model trained with TRL RewardTrainer on preference pairs built
from the world (chosen: correct and compliant; rejected: wrong or non-compliant)."""

from sahlab.io import read_examples
from sahlab.logs import log_to, set_threads
from sahlab.parallel import rank_log, relaunch, rule_block
from sahlab.train import make_preference_pairs, train

# a `parallel:` block: run this script under accelerate launch and exit with its code
relaunch(rule_block(snakemake.config, snakemake.rule), snakemake.log[0])
log = log_to(rank_log(snakemake.log[0]))
set_threads(snakemake.threads)
n = snakemake.params.n_per_task
pairs = [
    p
    for path in snakemake.input.train
    for p in make_preference_pairs(read_examples(path)[:n], path.split("/")[-2], seed=snakemake.params.seed)
]
summary = train(
    snakemake.input.model,
    pairs,
    "reward",
    snakemake.params.hparams,
    seed=snakemake.params.seed,
    out_dir=snakemake.output[0],
    threads=snakemake.threads,
    stage="reward_model",
)
log.info("reward model on %d pairs: %s", len(pairs), summary)
