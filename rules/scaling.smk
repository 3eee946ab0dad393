# Study A (Raghavendra et al. 2024, "Revisiting the SAH"): performance vs the number N of
# fine-tuning examples (one job per model x task x seed loops over the N grid), power-law fits,
# the format / reasoning error split, and new-knowledge integration (base vs post-trained).
from sahlab.scaling.config import (
    check_scaling_config,
    grid_for,
    grid_tasks,
    max_new_tokens_for,
    schedule_bounds,
    schedule_for,
)

# Bad grid values (negative N, N beyond a training split, unknown task/model) stop here.
check_scaling_config(config)

SC = config["scaling"]
SC_TASKS = grid_tasks(config)
SC_CELLS = [f"{m}/{t}" for m in SC["models"] for t in SC_TASKS]
SC_RUNS = [f"{RESULTS}/scaling/{c}/seed{s}/records.jsonl" for c in SC_CELLS for s in SC["seeds"]]
SC_RUN_CELLS = [c for c in SC_CELLS for s in SC["seeds"]]  # the cell of each file in SC_RUNS
NK = SC.get("newknowledge")
NK_MODELS = NK["models"] if NK else []

STUDY_TARGETS.extend(
    figure_paths("scaling_curves")
    + figure_paths("scaling_errors")
    + [f"{RESULTS}/tables/scaling_fits.csv", f"{RESULTS}/tables/scaling_fits.md"]
    + (
        figure_paths("scaling_newknowledge")
        + [
            f"{RESULTS}/tables/scaling_newknowledge.csv",
            f"{RESULTS}/tables/scaling_newknowledge_paired.csv",
            f"{RESULTS}/tables/scaling_newknowledge.md",
        ]
        if NK_MODELS
        else []
    )
    # across models (the paper: performance tracks reasoning ability) needs >= 3 models
    + ([f"{RESULTS}/tables/scaling_models.csv"] if len(SC["models"]) >= 3 else [])
)


rule scaling_run:
    input:
        model=lambda wc: model_dir(wc.model),
        train=f"{RESULTS}/data/tasks/{{task}}/train.jsonl",
        test=f"{RESULTS}/data/tasks/{{task}}/test.jsonl",
    output:
        records=f"{RESULTS}/scaling/{{model}}/{{task}}/seed{{seed}}/records.jsonl",
        summary=f"{RESULTS}/scaling/{{model}}/{{task}}/seed{{seed}}/summary.json",
        # wall-clock seconds per N, apart from the outputs downstream rules read
        timing=f"{RESULTS}/benchmarks/scaling_{{model}}_{{task}}_seed{{seed}}_per_N.json",
    log:
        f"{RESULTS}/logs/scaling/{{model}}-{{task}}-seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/scaling_{{model}}_{{task}}_seed{{seed}}.tsv"
    wildcard_constraints:
        model=one_of(SC["models"]),
        task=one_of(SC_TASKS),
        seed=r"\d+",
    conda:
        ENV["train"]
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=1,
    params:
        task=lambda wc: wc.task,
        grid=lambda wc: grid_for(config, wc.task),
        hparams=SC["hparams"],
        # scaling.epochs / min_steps / max_steps, or the task's own (scaling.schedule)
        schedule=lambda wc: schedule_for(config, wc.task),
        n_test=SC["n_test"],
        max_new_tokens=lambda wc: max_new_tokens_for(config, wc.task),
        batch_size=SC.get("batch_size") or config["evaluation"]["batch_size"],
    script:
        "../scripts/scaling_run.py"


rule scaling_fits:
    input:
        records=SC_RUNS,
        errors=f"{RESULTS}/scaling/errors.csv",
    output:
        json=f"{RESULTS}/scaling/fits.json",
        csv=f"{RESULTS}/tables/scaling_fits.csv",
        md=f"{RESULTS}/tables/scaling_fits.md",
    log:
        f"{RESULTS}/logs/scaling/fits.log",
    benchmark:
        f"{RESULTS}/benchmarks/scaling_fits.tsv"
    conda:
        ENV["eval"]  # scipy + tqdm (the bootstrap's progress bar)
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cells=[c.split("/") for c in SC_RUN_CELLS],
        n_boot=SC["n_boot"],
        heldout=SC["heldout"],
        saturation=SC.get("saturation", 0.95),
        format_threshold=SC.get("format_threshold", 0.05),
        seed=config["seed"],
    script:
        "../scripts/scaling_fits.py"


rule scaling_models:
    input:
        fits=rules.scaling_fits.output.json,
        stages=f"{RESULTS}/tables/stages.csv",
    output:
        f"{RESULTS}/tables/scaling_models.csv",
    log:
        f"{RESULTS}/logs/scaling/models.log",
    conda:
        ENV["eval"]
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/scaling_models.py"


rule scaling_errors:
    input:
        records=SC_RUNS,
        tests=expand(f"{RESULTS}/data/tasks/{{task}}/test.jsonl", task=SC_TASKS),
        trains=expand(f"{RESULTS}/data/tasks/{{task}}/train.jsonl", task=SC_TASKS),
    output:
        f"{RESULTS}/scaling/errors.csv",
    log:
        f"{RESULTS}/logs/scaling/errors.log",
    benchmark:
        f"{RESULTS}/benchmarks/scaling_errors.tsv"
    conda:
        ENV["eval"]  # the task scorers (sacrebleu, IFEval checks)
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        cells=[c.split("/") for c in SC_RUN_CELLS],
        tasks=SC_TASKS,
    script:
        "../scripts/scaling_errors.py"


rule scaling_newknowledge:
    input:
        model=lambda wc: model_dir(wc.model),
        bios=f"{RESULTS}/data/tasks/newknowledge/train.jsonl",
        test=f"{RESULTS}/data/tasks/newknowledge/test.jsonl",
        qa=f"{RESULTS}/data/tasks/multihop/train.jsonl" if NK and NK["n_qa"] else [],
        # the new arm draws its new-people QA from the world's facts
        world=f"{RESULTS}/data/world/world.json" if NK and NK.get("n_qa_new") else [],
        corpus=f"{RESULTS}/data/corpus/train.jsonl" if NK and NK.get("bios_replay") else [],
    output:
        metrics=f"{RESULTS}/scaling/{{model}}/newknowledge/metrics.json",
        records=f"{RESULTS}/scaling/{{model}}/newknowledge/records.jsonl",
    log:
        f"{RESULTS}/logs/scaling/{{model}}-newknowledge.log",
    benchmark:
        f"{RESULTS}/benchmarks/scaling_{{model}}_newknowledge.tsv"
    wildcard_constraints:
        model=one_of(NK_MODELS),
    conda:
        ENV["train"]
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=1,
    params:
        opts=NK,
        n_boot=config["evaluation"]["n_boot"],
        seed=config["seed"],
    script:
        "../scripts/scaling_newknowledge.py"


rule scaling_newknowledge_table:
    input:
        expand(f"{RESULTS}/scaling/{{model}}/newknowledge/records.jsonl", model=NK_MODELS),
    output:
        csv=f"{RESULTS}/tables/scaling_newknowledge.csv",
        paired=f"{RESULTS}/tables/scaling_newknowledge_paired.csv",
        md=f"{RESULTS}/tables/scaling_newknowledge.md",
    log:
        f"{RESULTS}/logs/scaling/newknowledge_table.log",
    conda:
        ENV["figures"]
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        models=NK_MODELS,
        n_boot=config["evaluation"]["n_boot"],
        seed=config["seed"],
    script:
        "../scripts/scaling_newknowledge_table.py"


rule figure_scaling_curves:
    input:
        fits=rules.scaling_fits.output.json,
        # the model's own harness evaluation: the zero-shot reference in its native format
        refs=[f"{RESULTS}/eval/{c}/metrics.json" for c in SC_CELLS],
    output:
        report(
            figure_paths("scaling_curves"),
            caption="../report/scaling_curves.rst",
            category="Study A: post-training scaling",
        ),
    log:
        f"{RESULTS}/logs/figures/scaling_curves.log",
    conda:
        ENV["figures"]
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        cells=SC_CELLS,
        # {task: N} whose step count the schedule's floor or cap changes (shaded in the figure)
        bounds=lambda wc: schedule_bounds(config),
        style=config["figures"],
    script:
        "../scripts/figure_scaling_curves.py"


rule figure_scaling_errors:
    input:
        errors=rules.scaling_errors.output[0],
        fits=rules.scaling_fits.output.json,
    output:
        report(
            figure_paths("scaling_errors"),
            caption="../report/scaling_errors.rst",
            category="Study A: post-training scaling",
        ),
    log:
        f"{RESULTS}/logs/figures/scaling_errors.log",
    conda:
        ENV["figures"]
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        style=config["figures"],
    script:
        "../scripts/figure_scaling_errors.py"


rule figure_scaling_newknowledge:
    input:
        acc=rules.scaling_newknowledge_table.output.csv,
        paired=rules.scaling_newknowledge_table.output.paired,
    output:
        report(
            figure_paths("scaling_newknowledge"),
            caption="../report/scaling_newknowledge.rst",
            category="Study A: post-training scaling",
        ),
    log:
        f"{RESULTS}/logs/figures/scaling_newknowledge.log",
    conda:
        ENV["figures"]
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        style=config["figures"],
    script:
        "../scripts/figure_scaling_newknowledge.py"
