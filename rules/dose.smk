# Study B beyond the paper — the collapse's dose–response and its information ceiling: each
# scale post-trained with several sizes of post-training data (the same stages as `posttrain`;
# the size posttrain.n_per_task is the main <scale>-post model, not trained twice), the arms'
# prompt programs at δ = the pre-trained model's best, and L(D_post | base), the online code
# length of each arm's post-training data under the base model. Logic: sahlab/complexity/dose.py.
# Included after rules/complexity.smk (CX: the resolved complexity section).
from sahlab.complexity.dose import check_dose_config

DOSE = check_dose_config(config)  # bad sizes / scales / tasks fail here, before any job
DOSE_DIR = f"{RESULTS}/dose"


localrules:
    dose_table,
    figure_dose,


rule dose_posttrain_stage:
    input:
        unpack(dose_posttrain_input),
    output:
        directory(f"{DOSE_DIR}/{{scale}}/n{{n}}/{{stage}}"),
    log:
        f"{RESULTS}/logs/dose/{{scale}}-n{{n}}-{{stage}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/dose_posttrain_{{scale}}_n{{n}}_{{stage}}.tsv"
    wildcard_constraints:
        scale=one_of(DOSE["scales"]),
        n=one_of([str(n) for n in DOSE["new_sizes"]]),
        stage=one_of(POST_STAGES),
    conda:
        ENV["train"]
    threads: 1
    resources:
        mem_mb=8000,
        runtime=120,
        gpu=1,
    params:
        stage=lambda wc: config["posttrain"]["stages"][POST_STAGES.index(wc.stage)],
        n_per_task=lambda wc: int(wc.n),
        seed=config["seed"],
    script:
        "../scripts/posttrain.py"


# One job per arm: the post-trained model is loaded once per task (seconds), not once per process.
rule dose_points:
    input:
        model=f"{DOSE_DIR}/{{scale}}/n{{n}}/{POST_STAGES[-1]}",
        train=expand(f"{RESULTS}/data/tasks/{{task}}/train.jsonl", task=DOSE["tasks"]),
        test=expand(f"{RESULTS}/data/tasks/{{task}}/test.jsonl", task=DOSE["tasks"]),
    output:
        f"{DOSE_DIR}/{{scale}}/n{{n}}/points.json",
    log:
        f"{RESULTS}/logs/dose/{{scale}}-n{{n}}-points.log",
    benchmark:
        f"{RESULTS}/benchmarks/dose_points_{{scale}}_n{{n}}.tsv"
    wildcard_constraints:
        scale=one_of(DOSE["scales"]),
        n=one_of([str(n) for n in DOSE["new_sizes"]]),
    conda:
        ENV["train"]
    threads: 1
    resources:
        mem_mb=6000,
        runtime=60,
        gpu=1,
    params:
        opts=CX,
        tasks=DOSE["tasks"],
        strategies=DOSE["strategies"],
        seed=config["seed"],
    script:
        "../scripts/dose_points.py"


rule dose_ceiling:
    input:
        model=lambda wc: model_dir(f"{wc.scale}-base"),
        # the whole post-training mixture: every task, as posttrain_stage trains on
        train=expand(f"{RESULTS}/data/tasks/{{task}}/train.jsonl", task=TASKS),
    output:
        f"{DOSE_DIR}/{{scale}}/ceiling.json",
    log:
        f"{RESULTS}/logs/dose/{{scale}}-ceiling.log",
    benchmark:
        f"{RESULTS}/benchmarks/dose_ceiling_{{scale}}.tsv"
    wildcard_constraints:
        scale=one_of(DOSE["scales"]),
    conda:
        ENV["train"]
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=1,
    params:
        sizes=DOSE["sizes"],
        lr=CX["online_lr"],
    script:
        "../scripts/dose_ceiling.py"


rule dose_table:
    input:
        base=expand(
            f"{RESULTS}/complexity/{{scale}}-base/{{task}}/points.json",
            scale=DOSE["scales"],
            task=DOSE["tasks"],
        ),
        main=(
            expand(
                f"{RESULTS}/complexity/{{scale}}-post/{{task}}/points.json",
                scale=DOSE["scales"],
                task=DOSE["tasks"],
            )
            if DOSE["default_size"] in DOSE["sizes"]
            else []
        ),
        arms=expand(f"{DOSE_DIR}/{{scale}}/n{{n}}/points.json", scale=DOSE["scales"], n=DOSE["new_sizes"]),
        ceilings=expand(f"{DOSE_DIR}/{{scale}}/ceiling.json", scale=DOSE["scales"]),
    output:
        csv=f"{RESULTS}/tables/complexity_dose.csv",
        md=f"{RESULTS}/tables/complexity_dose.md",
    log:
        f"{RESULTS}/logs/tables/complexity_dose.log",
    conda:
        ENV["figures"]
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        strategies=DOSE["strategies"],
        main_size=DOSE["default_size"],
    script:
        "../scripts/dose_table.py"


rule figure_dose:
    input:
        rules.dose_table.output.csv,
    output:
        report(
            figure_paths("complexity_dose"),
            caption="../report/complexity_dose.rst",
            category="Study B: task complexity",
        ),
    log:
        f"{RESULTS}/logs/figures/complexity_dose.log",
    conda:
        ENV["figures"]
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        style=config["figures"],
    script:
        "../scripts/figure_dose.py"


STUDY_TARGETS.extend(
    figure_paths("complexity_dose")
    + [f"{RESULTS}/tables/complexity_dose.csv", f"{RESULTS}/tables/complexity_dose.md"]
)
