"""Rule pretrain: pre-train one scale from random initialisation on the corpus (resumable)."""
from sahlab.io import read_jsonl
from sahlab.logs import log_to, set_threads
from sahlab.parallel import rank_log, relaunch
from sahlab.models.pretrain import pretrain

relaunch(snakemake.params.parallel, snakemake.log[0])  # a parallel block: accelerate launch, exit
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
