"""Rule scaling_newknowledge: one model fine-tuned on new people's biographies, then asked about them."""
from sahlab.io import first_examples, read_jsonl, write_json, write_jsonl
from sahlab.logs import log_to, set_threads
from sahlab.scaling.newknowledge import run_newknowledge

log = log_to(snakemake.log[0])
set_threads(snakemake.threads)
p = snakemake.params
records, results = run_newknowledge(
    snakemake.input.model, read_jsonl(snakemake.input.bios),
    (first_examples(snakemake.input.qa, p.opts["n_qa"], "scaling.newknowledge.n_qa")
     if p.opts["n_qa"] else []),
    first_examples(snakemake.input.test, p.opts["n_test"], "scaling.newknowledge.n_test"), p.seed,
    bios_hparams=p.opts["bios"], qa_hparams=p.opts["qa"], max_new_tokens=p.opts["max_new_tokens"],
    batch_size=p.opts["batch_size"], n_boot=p.n_boot, threads=snakemake.threads,
    work_root=snakemake.output.records)
write_jsonl(snakemake.output.records, records)
write_json(snakemake.output.metrics, results)
