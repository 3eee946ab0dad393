# Study B — task complexity (Vergara-Browne et al. 2026): per conditioning model × task, every
# program (baseline, ICL, URIAL, LoRA, full fine-tuning, data) as (bits, performance); then Pareto
# frontiers, complexity at δ and reduction factors. Logic: sahlab/complexity/.
from sahlab.complexity.config import check_complexity_config

# Bad grids (unknown model/task, N beyond a train split, empty lists...) fail here, before any job.
CX = check_complexity_config(config)


# One job per (model, task): the model is loaded once and every strategy's programs are built
# and scored on the selection split, the chosen ones also on the evaluation split (trained
# adapters/models live in a temporary folder).
rule complexity_points:
    input:
        model=lambda wc: model_dir(wc.model),
        train=f"{RESULTS}/data/tasks/{{task}}/train.jsonl",
        test=f"{RESULTS}/data/tasks/{{task}}/test.jsonl",
    output:
        points=f"{RESULTS}/complexity/{{model}}/{{task}}/points.json",
        # wall-clock timings, kept out of points.json so reruns give byte-identical results
        timing=f"{RESULTS}/benchmarks/complexity_{{model}}_{{task}}_timing.json",
    log:
        f"{RESULTS}/logs/complexity/{{model}}_{{task}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/complexity_{{model}}_{{task}}.tsv"
    conda:
        ENV["train"]
    threads: 1
    resources:
        mem_mb=6000,
        runtime=60,
        gpu=1,
    params:
        opts=CX,
        seed=config["seed"],
    script:
        "../scripts/complexity_points.py"


rule complexity_table:
    input:
        expand(f"{RESULTS}/complexity/{{model}}/{{task}}/points.json", model=CX["models"], task=CX["tasks"]),
    output:
        points=f"{RESULTS}/tables/complexity_points.csv",
        csv=f"{RESULTS}/tables/complexity.csv",
        reductions=f"{RESULTS}/tables/complexity_reductions.csv",
        headline=f"{RESULTS}/tables/complexity_headline.csv",
        md=f"{RESULTS}/tables/complexity.md",
    log:
        f"{RESULTS}/logs/tables/complexity.log",
    conda:
        ENV["figures"]
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        deltas=CX["deltas"],
    script:
        "../scripts/complexity_table.py"


rule figure_complexity_frontiers:
    input:
        rules.complexity_table.output.points,
    output:
        report(
            figure_paths("complexity_frontiers"),
            caption="../report/complexity_frontiers.rst",
            category="Study B: task complexity",
        ),
    log:
        f"{RESULTS}/logs/figures/complexity_frontiers.log",
    conda:
        ENV["figures"]
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        style=config["figures"],
        deltas=CX["deltas"],
    script:
        "../scripts/figure_complexity_frontiers.py"


rule figure_complexity_strategies:
    input:
        rules.complexity_table.output.points,
    output:
        report(
            figure_paths("complexity_strategies"),
            caption="../report/complexity_strategies.rst",
            category="Study B: task complexity",
        ),
    log:
        f"{RESULTS}/logs/figures/complexity_strategies.log",
    conda:
        ENV["figures"]
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        style=config["figures"],
    script:
        "../scripts/figure_complexity_strategies.py"


STUDY_TARGETS.extend(
    figure_paths("complexity_frontiers")
    + figure_paths("complexity_strategies")
    + [
        f"{RESULTS}/tables/complexity.csv",
        f"{RESULTS}/tables/complexity.md",
        f"{RESULTS}/tables/complexity_reductions.csv",
        f"{RESULTS}/tables/complexity_headline.csv",
    ]
)
