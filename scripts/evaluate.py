"""Rules evaluate / evaluate_format: one model on every task's test split, in its own prompt
format or the one given; outputs and metrics per task."""

from sahlab.eval.run import evaluate_policy
from sahlab.io import read_examples, write_json, write_jsonl
from sahlab.logs import log_to, set_threads
from sahlab.models.registry import load_model, read_model_meta
from sahlab.parallel import is_main, local_device, rank_log, relaunch, rule_block

# a `parallel:` block: run this script under accelerate launch and exit with its code
relaunch(rule_block(snakemake.config, snakemake.rule), snakemake.log[0])
log = log_to(rank_log(snakemake.log[0]))
set_threads(snakemake.threads)
opts = snakemake.params.opts
from sahlab.eval.policy import ModelPolicy  # noqa: E402  (torch import after logging is set up)

model = load_model(snakemake.input.model, device=local_device())  # each process its own GPU
meta = read_model_meta(snakemake.input.model)
tasks = {t: read_examples(p)[: opts["n_test"]] for t, p in zip(snakemake.params.tasks, snakemake.input.tests)}
fmt = snakemake.params.fmt or meta["prompt_format"]
log.info("%s: prompt format %s", snakemake.input.model, fmt)
results = evaluate_policy(
    ModelPolicy(model),
    fmt,
    tasks,
    max_new_tokens=opts["max_new_tokens"],
    batch_size=opts["batch_size"],
    n_boot=opts["n_boot"],
    seed=snakemake.params.seed,
)
for i, task in enumerate(snakemake.params.tasks if is_main() else ()):  # rank 0 writes
    records, metrics = results[task]
    write_jsonl(snakemake.output.outputs[i], records)
    write_json(snakemake.output.metrics[i], metrics)
