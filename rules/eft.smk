# Study C (Mitchell et al. 2024, emulated fine-tuning): the 2×2 pre-training × fine-tuning grid
# (diagonal = the real post-trained models, off-diagonal = EFT up-/down-scaling), a β sweep of
# up-scaling, a λ mixture of two fine-tuned variants of the small base, and speculative up-scaling.
from sahlab.eft.config import (
    EMULATED,
    check_eft_config,
    eft_tasks,
    max_new_tokens_for,
    mixture_tasks,
    scale_models,
    variant_names,
)
from sahlab.eft.experiment import EMULATION

# Bad grid values (unknown scale or task, n_test beyond a split, λ outside [0, 1]) stop here.
check_eft_config(config)

EFT = config["eft"]
EFT_M = scale_models(config)  # role (small_base, ...) -> model name
EFT_TASKS = eft_tasks(config)
EFT_MIX_TASKS = mixture_tasks(config)
EFT_VARIANTS = variant_names(config)
EFT_TESTS = expand(f"{RESULTS}/data/tasks/{{task}}/test.jsonl", task=EFT_TASKS)
EFT_UP_MODELS = {r: model_dir(EFT_M[r]) for r in EMULATION["up"]}
# Factuality by likelihood asks the embedded world's facts: only when both scales were pre-trained
# on its corpus here (hub models never saw it).
EFT_KNOWLEDGE = all(EFT[r] in NAMES["built"] for r in ("small", "large"))

STUDY_TARGETS.extend(
    figure_paths("eft_grid")
    + figure_paths("eft_beta")
    + figure_paths("eft_lambda")
    + expand(
        f"{RESULTS}/tables/eft_{{name}}.{{ext}}", name=["grid", "gains", "speculative"], ext=["csv", "md"]
    )
    + [f"{RESULTS}/tables/eft_beta.csv", f"{RESULTS}/tables/eft_lambda.csv"]
)


rule eft_grid_cell:
    input:
        unpack(lambda wc: {r: model_dir(EFT_M[r]) for r in EMULATION[wc.cell]}),
        tests=EFT_TESTS,
    output:
        metrics=f"{RESULTS}/eft/grid/{{cell}}/metrics.json",
        records=f"{RESULTS}/eft/grid/{{cell}}/records.jsonl",
    log:
        f"{RESULTS}/logs/eft/grid_{{cell}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/eft_grid_{{cell}}.tsv"
    wildcard_constraints:
        cell=one_of(EMULATED),
    conda:
        ENV["eval"]
    threads: 1
    resources:
        mem_mb=6000,
        runtime=60,
        gpu=1,
    params:
        cell=lambda wc: wc.cell,
        roles=lambda wc: list(EMULATION[wc.cell]),
        tasks=EFT_TASKS,
        n_test=EFT["n_test"],
        # the diagonal cells are the harness's outputs: same token budget and batch size
        max_new_tokens={t: config["evaluation"]["max_new_tokens"] for t in EFT_TASKS},
        batch_size=config["evaluation"]["batch_size"],
        n_boot=config["evaluation"]["n_boot"],
        seed=config["seed"],
    script:
        "../scripts/eft_grid_cell.py"


# Factuality by likelihood: the world's knowledge items (cloze: the true attribute value ranked among
# the world's candidate values) under each cell's teacher-forced distribution; all four cells in one
# job (four small models, loaded once).
rule eft_knowledge:
    input:
        **{r: model_dir(m) for r, m in EFT_M.items()},
        world=rules.world.output[0],
    output:
        metrics=f"{RESULTS}/eft/knowledge/metrics.json",
        records=f"{RESULTS}/eft/knowledge/records.jsonl",
    log:
        f"{RESULTS}/logs/eft/knowledge.log",
    benchmark:
        f"{RESULTS}/benchmarks/eft_knowledge.tsv"
    conda:
        ENV["eval"]
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
        gpu=1,
    params:
        roles=list(EFT_M),
        n_boot=config["evaluation"]["n_boot"],
        seed=config["seed"],
    script:
        "../scripts/eft_knowledge.py"


rule eft_grid_table:
    input:
        emulated=expand(f"{RESULTS}/eft/grid/{{cell}}/metrics.json", cell=EMULATED),
        emulated_records=expand(f"{RESULTS}/eft/grid/{{cell}}/records.jsonl", cell=EMULATED),
        knowledge=[rules.eft_knowledge.output.metrics] if EFT_KNOWLEDGE else [],
        knowledge_records=[rules.eft_knowledge.output.records] if EFT_KNOWLEDGE else [],
        small=expand(f"{RESULTS}/eval/{EFT_M['small_post']}/{{task}}/outputs.jsonl", task=EFT_TASKS),
        large=expand(f"{RESULTS}/eval/{EFT_M['large_post']}/{{task}}/outputs.jsonl", task=EFT_TASKS),
        tests=EFT_TESTS,
    output:
        csv=f"{RESULTS}/tables/eft_grid.csv",
        md=f"{RESULTS}/tables/eft_grid.md",
        gains_csv=f"{RESULTS}/tables/eft_gains.csv",
        gains_md=f"{RESULTS}/tables/eft_gains.md",
    log:
        f"{RESULTS}/logs/eft/grid_table.log",
    conda:
        ENV["eval"]
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        tasks=EFT_TASKS,
        n_test=EFT["n_test"],
        n_boot=config["evaluation"]["n_boot"],
        seed=config["seed"],
    script:
        "../scripts/eft_grid_table.py"


rule eft_beta:
    input:
        **EFT_UP_MODELS,
        tests=EFT_TESTS,
    output:
        csv=f"{RESULTS}/tables/eft_beta.csv",
    log:
        f"{RESULTS}/logs/eft/beta.log",
    benchmark:
        f"{RESULTS}/benchmarks/eft_beta.tsv"
    conda:
        ENV["eval"]
    threads: 1
    resources:
        mem_mb=6000,
        runtime=60,
        gpu=1,
    params:
        roles=list(EFT_UP_MODELS),
        tasks=EFT_TASKS,
        betas=EFT["beta"]["values"],
        n_test=EFT["beta"]["n_test"],
        max_new_tokens={t: max_new_tokens_for(config, t) for t in EFT_TASKS},
        batch_size=config["evaluation"]["batch_size"],
        n_boot=config["evaluation"]["n_boot"],
        seed=config["seed"],
    script:
        "../scripts/eft_beta.py"


rule eft_variant:
    input:
        model=model_dir(EFT_M["small_base"]),
        train=lambda wc: expand(
            f"{RESULTS}/data/tasks/{{task}}/train.jsonl", task=EFT["mixture"]["variants"][wc.variant]
        ),
    output:
        directory(f"{RESULTS}/eft/variants/{{variant}}"),
    log:
        f"{RESULTS}/logs/eft/variant_{{variant}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/eft_variant_{{variant}}.tsv"
    wildcard_constraints:
        variant=one_of(EFT_VARIANTS),
    conda:
        ENV["train"]
    threads: 1
    resources:
        mem_mb=6000,
        runtime=60,
        gpu=1,
    params:
        variant=lambda wc: wc.variant,
        tasks=lambda wc: EFT["mixture"]["variants"][wc.variant],
        n_per_task=EFT["mixture"]["n_per_task"],
        hparams=EFT["mixture"]["hparams"],
        seed=config["seed"],
    script:
        "../scripts/eft_variant.py"


rule eft_lambda:
    input:
        small_base=model_dir(EFT_M["small_base"]),
        large_base=model_dir(EFT_M["large_base"]),
        variants=expand(f"{RESULTS}/eft/variants/{{variant}}", variant=EFT_VARIANTS),
        tests=expand(f"{RESULTS}/data/tasks/{{task}}/test.jsonl", task=EFT_MIX_TASKS),
    output:
        csv=f"{RESULTS}/tables/eft_lambda.csv",
    log:
        f"{RESULTS}/logs/eft/lambda.log",
    benchmark:
        f"{RESULTS}/benchmarks/eft_lambda.tsv"
    conda:
        ENV["eval"]
    threads: 1
    resources:
        mem_mb=6000,
        runtime=60,
        gpu=1,
    params:
        variants=EFT_VARIANTS,
        tasks=EFT_MIX_TASKS,
        lambdas=EFT["mixture"]["lambdas"],
        beta=EFT["mixture"]["beta"],
        n_test=EFT["mixture"]["n_test"],
        max_new_tokens={t: max_new_tokens_for(config, t) for t in EFT_MIX_TASKS},
        batch_size=config["evaluation"]["batch_size"],
        n_boot=config["evaluation"]["n_boot"],
        seed=config["seed"],
    script:
        "../scripts/eft_lambda.py"


rule eft_speculative:
    input:
        **EFT_UP_MODELS,
        tests=EFT_TESTS,
    output:
        csv=f"{RESULTS}/tables/eft_speculative.csv",
        md=f"{RESULTS}/tables/eft_speculative.md",
    log:
        f"{RESULTS}/logs/eft/speculative.log",
    benchmark:
        f"{RESULTS}/benchmarks/eft_speculative.tsv"
    conda:
        ENV["eval"]
    threads: 1
    resources:
        mem_mb=6000,
        runtime=60,
        gpu=1,
    params:
        roles=list(EFT_UP_MODELS),
        tasks=EFT_TASKS,
        n_prompts=EFT["speculative"]["n_prompts"],
        k=EFT["speculative"]["k"],
        batch_sizes=EFT["speculative"]["batch_sizes"],
        temperatures=EFT["speculative"]["temperatures"],
        max_new_tokens=EFT["speculative"]["max_new_tokens"],
        seed=config["seed"],
    script:
        "../scripts/eft_speculative.py"


rule eft_figure_grid:
    input:
        cells=rules.eft_grid_table.output.csv,
        gains=rules.eft_grid_table.output.gains_csv,
    output:
        report(
            figure_paths("eft_grid"),
            caption="../report/eft_grid.rst",
            category="Study C: emulated fine-tuning",
        ),
    log:
        f"{RESULTS}/logs/figures/eft_grid.log",
    conda:
        ENV["figures"]
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        style=config["figures"],
    script:
        "../scripts/eft_figure_grid.py"


rule eft_figure_beta:
    input:
        rules.eft_beta.output.csv,
    output:
        report(
            figure_paths("eft_beta"),
            caption="../report/eft_beta.rst",
            category="Study C: emulated fine-tuning",
        ),
    log:
        f"{RESULTS}/logs/figures/eft_beta.log",
    conda:
        ENV["figures"]
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        style=config["figures"],
    script:
        "../scripts/eft_figure_beta.py"


rule eft_figure_lambda:
    input:
        rules.eft_lambda.output.csv,
    output:
        report(
            figure_paths("eft_lambda"),
            caption="../report/eft_lambda.rst",
            category="Study C: emulated fine-tuning",
        ),
    log:
        f"{RESULTS}/logs/figures/eft_lambda.log",
    conda:
        ENV["figures"]
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        style=config["figures"],
        variants=EFT_VARIANTS,
        variant_tasks=[EFT["mixture"]["variants"][v] for v in EFT_VARIANTS],
    script:
        "../scripts/eft_figure_lambda.py"
