# The evaluation harness: every model on every task's test split (one job per model, so the
# model is loaded once), per-example outputs beside metrics with bootstrap CIs. Each model is asked
# in its own format (base/random: the corpus's native layout; post: its chat template) under
# eval/<model>/<task>/; the random and base models of pipeline-built scales are also asked in the
# chat format (eval/<model>/chat/<task>/), so the stage table separates format from access.


rule evaluate:
    input:
        model=lambda wc: model_dir(wc.model),
        tests=expand(f"{RESULTS}/data/tasks/{{task}}/test.jsonl", task=TASKS),
    output:
        metrics=expand(f"{RESULTS}/eval/{{{{model}}}}/{{task}}/metrics.json", task=TASKS),
        outputs=expand(f"{RESULTS}/eval/{{{{model}}}}/{{task}}/outputs.jsonl", task=TASKS),
    log:
        f"{RESULTS}/logs/eval/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/eval_{{model}}.tsv"
    priority: 10  # the models chain first: the studies on post-trained models wait for it
    conda:
        ENV["eval"]
    threads: 1
    resources:
        **parallel_resources("evaluate"),
        mem_mb=6000,
        runtime=60,
    params:
        tasks=TASKS,
        opts=config["evaluation"],
        seed=config["seed"],
        fmt=None,  # the model's own format (sahlab.json)
    script:
        "../scripts/evaluate.py"


CROSS_FORMAT_MODELS = [f"{s}-{st}" for s in NAMES["built"] for st in ("random", "base")]


use rule evaluate as evaluate_format with:
    output:
        metrics=expand(f"{RESULTS}/eval/{{{{model}}}}/{{{{fmt}}}}/{{task}}/metrics.json", task=TASKS),
        outputs=expand(f"{RESULTS}/eval/{{{{model}}}}/{{{{fmt}}}}/{{task}}/outputs.jsonl", task=TASKS),
    log:
        f"{RESULTS}/logs/eval/{{model}}_{{fmt}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/eval_{{model}}_{{fmt}}.tsv"
    wildcard_constraints:
        fmt="chat|native",
    params:
        tasks=TASKS,
        opts=config["evaluation"],
        seed=config["seed"],
        fmt=lambda wc: wc.fmt,


# Probes of what pre-training put in a model, on the embedded corpus and world: held-out loss and
# cloze knowledge of the corpus people's facts (no answer format needed, so every stage compares).
rule corpus_probes:
    input:
        model=lambda wc: model_dir(wc.model),
        val=rules.corpus.output.val,
        world=rules.world.output[0],
    output:
        loss=f"{RESULTS}/eval/{{model}}/corpus_loss.json",
        knowledge=f"{RESULTS}/eval/{{model}}/knowledge/metrics.json",
        knowledge_outputs=f"{RESULTS}/eval/{{model}}/knowledge/outputs.jsonl",
    log:
        f"{RESULTS}/logs/eval/{{model}}_corpus_probes.log",
    conda:
        ENV["eval"]
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        seq_len=256,
        n_boot=config["evaluation"]["n_boot"],
        seed=config["seed"],
    script:
        "../scripts/corpus_probes.py"


BUILT_MODELS = [f"{s}-{st}" for s in NAMES["built"] for st in STAGES]


rule stages_table:
    input:
        metrics=expand(f"{RESULTS}/eval/{{model}}/{{task}}/metrics.json", model=MODELS, task=TASKS),
        cross=expand(
            f"{RESULTS}/eval/{{model}}/chat/{{task}}/metrics.json", model=CROSS_FORMAT_MODELS, task=TASKS
        ),
        # corpus loss and knowledge of the embedded world mean something only for pipeline-built models
        losses=expand(f"{RESULTS}/eval/{{model}}/corpus_loss.json", model=BUILT_MODELS),
        knowledge=expand(f"{RESULTS}/eval/{{model}}/knowledge/metrics.json", model=BUILT_MODELS),
    output:
        csv=f"{RESULTS}/tables/stages.csv",
        md=f"{RESULTS}/tables/stages.md",
    log:
        f"{RESULTS}/logs/tables/stages.log",
    conda:
        ENV["figures"]
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/stages_table.py"
