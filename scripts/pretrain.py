"""Rule pretrain: pre-train one scale from random initialisation on the corpus (resumable)."""

from sahlab.io import read_jsonl
from sahlab.logs import log_to, set_threads
from sahlab.models.pretrain import pretrain
from sahlab.parallel import rank_log, relaunch, rule_block

# a `parallel:` block: run this script under accelerate launch and exit with its code
relaunch(rule_block(snakemake.config, snakemake.rule), snakemake.log[0])
log = log_to(rank_log(snakemake.log[0]))
set_threads(snakemake.threads)
summary = pretrain(
    build=snakemake.params.build,
    tokenizer_dir=snakemake.input.tokenizer,
    train_docs=[d["text"] for d in read_jsonl(snakemake.input.train)],
    val_docs=[d["text"] for d in read_jsonl(snakemake.input.val)],
    out_dir=snakemake.output[0],
    ckpt_dir=snakemake.params.ckpt_dir,
    hparams=snakemake.params.hparams,
    seed=snakemake.params.seed,
    threads=snakemake.threads,
)
log.info("pre-training done: %s", summary)
