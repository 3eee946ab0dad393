"""Rule posttrain_stage: one post-training stage (SFT, GRPO/RLOO, DPO) on the task mixture."""

from sahlab.io import read_examples
from sahlab.logs import log_to, set_threads
from sahlab.parallel import rank_log, relaunch, rule_block
from sahlab.train import make_preference_pairs, train

# a `parallel:` block: run this script under accelerate launch and exit with its code
relaunch(rule_block(snakemake.config, snakemake.rule), snakemake.log[0])
log = log_to(rank_log(snakemake.log[0]))
set_threads(snakemake.threads)
stage, n = snakemake.params.stage, snakemake.params.n_per_task
# The mixture: the first n training examples of every task (the same rows for every scale).
per_task = {path.split("/")[-2]: read_examples(path)[:n] for path in snakemake.input.train}
if stage["method"] == "dpo":
    data = [
        p
        for task, rows in per_task.items()
        for p in make_preference_pairs(rows, task, seed=snakemake.params.seed)
    ]
else:
    data = [row | {"task": task} for task, rows in per_task.items() for row in rows]
summary = train(
    snakemake.input.model,
    data,
    stage["method"],
    stage.get("hparams", {}),
    seed=snakemake.params.seed,
    out_dir=snakemake.output[0],
    reward_model_dir=snakemake.input.get("reward_model"),
    threads=snakemake.threads,
    stage="post",
)
log.info("stage %s (%s) done: %s", stage["name"], stage["method"], summary)
