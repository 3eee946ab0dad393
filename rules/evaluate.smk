# The evaluation harness: every model on every task's test split (one job per model, so the
# model is loaded once), per-example outputs beside metrics with bootstrap CIs.


rule evaluate:
    input:
        model=lambda wc: model_dir(wc.model),
        tests=expand(f"{RESULTS}/data/tasks/{{task}}/test.jsonl", task=TASKS),
    output:
        metrics=expand(f"{RESULTS}/eval/{{{{model}}}}/{{task}}/metrics.json", task=TASKS),
        outputs=expand(f"{RESULTS}/eval/{{{{model}}}}/{{task}}/outputs.jsonl", task=TASKS),
    params:
        tasks=TASKS,
        opts=config["evaluation"],
        seed=config["seed"],
    log:
        f"{RESULTS}/logs/eval/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/eval_{{model}}.tsv"
    priority: 10  # the models chain first: the studies on post-trained models wait for it
    threads: 1
    resources:
        mem_mb=6000,
        runtime=60,
        gpu=1,
    conda:
        ENV["eval"]
    script:
        "../scripts/evaluate.py"


rule corpus_loss:
    input:
        model=lambda wc: model_dir(wc.model),
        val=rules.corpus.output.val,
    output:
        f"{RESULTS}/eval/{{model}}/corpus_loss.json",
    params:
        seq_len=256,
    log:
        f"{RESULTS}/logs/eval/{{model}}_corpus_loss.log",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        ENV["eval"]
    script:
        "../scripts/corpus_loss.py"


rule stages_table:
    input:
        metrics=expand(f"{RESULTS}/eval/{{model}}/{{task}}/metrics.json",
                       model=MODELS, task=TASKS),
        # held-out loss on the embedded corpus means something only for pipeline-built models
        losses=expand(f"{RESULTS}/eval/{{model}}/corpus_loss.json",
                      model=[f"{s}-{st}" for s in NAMES["built"] for st in STAGES]),
    output:
        csv=f"{RESULTS}/tables/stages.csv",
        md=f"{RESULTS}/tables/stages.md",
    log:
        f"{RESULTS}/logs/tables/stages.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENV["figures"]
    script:
        "../scripts/stages_table.py"
