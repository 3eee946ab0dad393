# Beyond the papers: the four studies side by side per (scale, task), the papers' headline claims
# as computed verdicts, a figure of the SAH's two readings, and every table in the HTML report.
from pathlib import Path

SY = config["synthesis"]
# each study's table the synthesis reads (sahlab/synthesis/sources.py), for the studies this run has
SY_TABLES = {
    name: f"{RESULTS}/tables/{name}.csv"
    for name, study in (
        ("scaling_fits", "scaling"),
        ("complexity_headline", "complexity"),
        ("eft_gains", "eft"),
        ("inductive_correlations", "inductive"),
    )
    if config.get(study) is not None
}
# study B's dose-response tables, when a rule of this run writes them
SY_DOSE = [p for p in STUDY_TARGETS if Path(p).name.startswith("complexity_dose") and p.endswith(".csv")]


rule synthesis:
    input:
        own=expand(f"{RESULTS}/eval/{{model}}/{{task}}/outputs.jsonl", model=MODELS, task=TASKS),
        cross=expand(
            f"{RESULTS}/eval/{{model}}/chat/{{task}}/outputs.jsonl", model=CROSS_FORMAT_MODELS, task=TASKS
        ),
        tables=list(SY_TABLES.values()),
        dose=SY_DOSE,
        claims="report/claims.yaml",  # relative: a moved checkout is the same input
    output:
        gains_csv=f"{RESULTS}/tables/stage_gains.csv",
        gains_md=f"{RESULTS}/tables/stage_gains.md",
        csv=f"{RESULTS}/tables/synthesis.csv",
        md=f"{RESULTS}/tables/synthesis.md",
        verdicts_csv=f"{RESULTS}/tables/verdicts.csv",
        verdicts_md=f"{RESULTS}/tables/verdicts.md",
    log:
        f"{RESULTS}/logs/tables/synthesis.log",
    benchmark:
        f"{RESULTS}/benchmarks/synthesis.tsv"
    conda:
        ENV["figures"]
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        names=list(SY_TABLES),
        alpha=SY["alpha"],
        n_boot=config["evaluation"]["n_boot"],
        seed=config["seed"],
    script:
        "../scripts/synthesis.py"


rule figure_synthesis:
    input:
        rules.synthesis.output.csv,
    output:
        report(figure_paths("synthesis"), caption="../report/synthesis.rst", category="Synthesis"),
    log:
        f"{RESULTS}/logs/figures/synthesis.log",
    conda:
        ENV["figures"]
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        style=config["figures"],
    script:
        "../scripts/figure_synthesis.py"


# Every table the rules above write (results/tables/*, no wildcards), rendered as HTML for
# `snakemake --report`: one file per table, headed by its markdown caption where it has one.
SY_REPORT_TABLES = sorted(
    {
        str(f)
        for r in workflow.rules
        for f in r.output
        if Path(str(f)).parent.name == "tables" and "{" not in str(f)
    }
    | {str(f) for f in rules.synthesis.output}
)
SY_REPORT_STEMS = sorted({Path(p).stem for p in SY_REPORT_TABLES})


rule report_tables:
    input:
        SY_REPORT_TABLES,
    output:
        report(
            expand(f"{RESULTS}/report_tables/{{stem}}.html", stem=SY_REPORT_STEMS),
            caption="../report/tables.rst",
            category="Tables",
        ),
    log:
        f"{RESULTS}/logs/tables/report_tables.log",
    conda:
        ENV["figures"]
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/report_tables.py"


STUDY_TARGETS.extend(
    figure_paths("synthesis") + list(rules.synthesis.output) + list(rules.report_tables.output)
)
