# Study D (Cruz, Pona et al. 2023 after Lovering et al. 2021): is a (target, spurious) feature
# pair's relative extractability after pre-training (online-code MDL) predictive of the spurious
# feature's use by a policy fine-tuned with RL (and SFT)? Statistics are over pairs.
from sahlab.inductive.config import check_inductive_config

check_inductive_config(config)

IND = config["inductive"]
IND_MODELS = [f"{s}-base" for s in IND["scales"]]
IND_DIR = f"{RESULTS}/inductive/{{model}}/features"


rule inductive_mdl:
    input:
        model=lambda wc: model_dir(wc.model),
        world=rules.world.output[0],
    output:
        f"{IND_DIR}/mdl.json",
    log:
        f"{RESULTS}/logs/inductive/{{model}}_mdl.log",
    benchmark:
        f"{RESULTS}/benchmarks/inductive_{{model}}_mdl.tsv"
    wildcard_constraints:
        model=one_of(IND_MODELS),
    conda:
        ENV["train"]
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
        gpu=1,
    params:
        pairs=IND["pairs"],
        mdl=IND["mdl"],
        toy=IND.get("toy", {}),
        seed=config["seed"],
        prompt_format=IND["prompt_format"],
    script:
        "../scripts/inductive_mdl.py"


rule inductive_finetune:
    input:
        model=lambda wc: model_dir(wc.model),
        world=rules.world.output[0],
    output:
        f"{IND_DIR}/{{method}}/{{pair}}/seed{{seed}}.json",
    log:
        f"{RESULTS}/logs/inductive/{{model}}_{{method}}_{{pair}}_seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/inductive_{{model}}_{{method}}_{{pair}}_seed{{seed}}.tsv"
    wildcard_constraints:
        model=one_of(IND_MODELS),
        method=one_of(IND["methods"]),
        pair=one_of(IND["pairs"]),
        seed=r"\d+",
    conda:
        ENV["train"]
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=1,
    params:
        rates=IND["rates"],
        n_train=IND["n_train"],
        n_test=IND["n_test"],
        hparams=lambda wc: IND["hparams"][wc.method],
        toy=IND.get("toy", {}),
        converged_at=IND.get("converged_at", 0.95),
        evidence=IND.get("evidence", "spurious_only"),
        prompt_format=IND["prompt_format"],
        data_seed=config["seed"],
    script:
        "../scripts/inductive_finetune.py"


rule inductive_use_table:
    input:
        expand(
            f"{RESULTS}/inductive/{{model}}/features/{{method}}/{{pair}}/seed{{seed}}.json",
            model=IND_MODELS,
            method=IND["methods"],
            pair=IND["pairs"],
            seed=IND["seeds"],
        ),
    output:
        csv=f"{RESULTS}/tables/inductive_use.csv",
    log:
        f"{RESULTS}/logs/tables/inductive_use.log",
    conda:
        ENV["figures"]
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/inductive_use_table.py"


rule inductive_summary:
    input:
        use=rules.inductive_use_table.output.csv,
        mdl=expand(f"{RESULTS}/inductive/{{model}}/features/mdl.json", model=IND_MODELS),
    output:
        mdl_csv=f"{RESULTS}/tables/inductive_mdl.csv",
        mdl_md=f"{RESULTS}/tables/inductive_mdl.md",
        corr_csv=f"{RESULTS}/tables/inductive_correlations.csv",
        corr_md=f"{RESULTS}/tables/inductive_correlations.md",
        pairs=f"{RESULTS}/tables/inductive_pairs.csv",
        runs=f"{RESULTS}/tables/inductive_runs.csv",
    log:
        f"{RESULTS}/logs/tables/inductive_summary.log",
    conda:
        ENV["figures"]
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        rates=IND["rates"],
        threshold=IND["threshold"],
        converged_at=IND.get("converged_at", 0.95),
        n_permutations=IND["n_permutations"],
        n_boot=IND["n_boot"],
        seed=config["seed"],
    script:
        "../scripts/inductive_summary.py"


rule figure_inductive_use:
    input:
        rules.inductive_use_table.output.csv,
    output:
        report(
            figure_paths("inductive_use"),
            caption="../report/inductive_use.rst",
            category="Study D: inductive biases",
        ),
    log:
        f"{RESULTS}/logs/figures/inductive_use.log",
    conda:
        ENV["figures"]
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        style=config["figures"],
    script:
        "../scripts/inductive_figure_use.py"


rule figure_inductive_extractability:
    input:
        pairs=rules.inductive_summary.output.pairs,
        corr=rules.inductive_summary.output.corr_csv,
        use=rules.inductive_use_table.output.csv,
    output:
        report(
            figure_paths("inductive_extractability"),
            caption="../report/inductive_extractability.rst",
            category="Study D: inductive biases",
        ),
    log:
        f"{RESULTS}/logs/figures/inductive_extractability.log",
    conda:
        ENV["figures"]
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        style=config["figures"],
    script:
        "../scripts/inductive_figure_extractability.py"


STUDY_TARGETS.extend(
    figure_paths("inductive_use")
    + figure_paths("inductive_extractability")
    + [f"{RESULTS}/tables/inductive_mdl.md", f"{RESULTS}/tables/inductive_correlations.md"]
)
