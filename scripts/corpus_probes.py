"""Rule corpus_probes: held-out corpus loss (nats per token) and cloze knowledge of one model."""

import math

from sahlab.io import read_jsonl, write_json, write_jsonl
from sahlab.logs import log_to, set_threads
from sahlab.models.pretrain import corpus_loss
from sahlab.world.entities import World

log = log_to(snakemake.log[0])
set_threads(snakemake.threads)
docs = [d["text"] for d in read_jsonl(snakemake.input.val)]
loss = corpus_loss(snakemake.input.model, docs, seq_len=snakemake.params.seq_len, batch_size=16)
log.info("held-out loss %.4f nats/token", loss)

from sahlab.eval.knowledge import knowledge_probe  # noqa: E402  (torch import after logging is set up)
from sahlab.models.registry import load_model, load_tokenizer  # noqa: E402

world = World.from_json(open(snakemake.input.world).read())
records, metrics = knowledge_probe(
    load_model(snakemake.input.model),
    load_tokenizer(snakemake.input.model),
    world,
    n_boot=snakemake.params.n_boot,
    seed=snakemake.params.seed,
)
log.info(
    "knowledge: cloze accuracy %.3f (chance %.3f) over %d facts",
    metrics["cloze_accuracy"]["value"],
    metrics["chance"]["value"],
    len(records),
)
write_jsonl(snakemake.output.knowledge_outputs, records)
write_json(snakemake.output.knowledge, metrics)
write_json(snakemake.output.loss, {"val_loss": loss, "val_ppl": math.exp(loss), "n_docs": len(docs)})
