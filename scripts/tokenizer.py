"""Rule tokenizer: byte-level BPE trained on the pre-training corpus, with the chat template."""

from sahlab.io import read_jsonl
from sahlab.logs import log_to
from sahlab.models.tokenizer import train_tokenizer

log = log_to(snakemake.log[0])
texts = [d["text"] for d in read_jsonl(snakemake.input.corpus)]
tok = train_tokenizer(texts, vocab_size=snakemake.params.vocab_size, out_dir=snakemake.output[0])
log.info("tokenizer: %d tokens in the vocabulary", len(tok))
