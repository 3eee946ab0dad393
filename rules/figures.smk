# Figures: one seaborn theme, PDF + PNG, each flagged for the HTML report with an RST caption.


rule figure_world:
    input:
        corpus=[rules.corpus.output.train, rules.corpus.output.val],
        tasks=expand(f"{RESULTS}/data/tasks/{{task}}/{{split}}.jsonl", task=TASKS, split=["train", "test"]),
    output:
        report(figure_paths("world"), caption="../report/world.rst", category="Data"),
    log:
        f"{RESULTS}/logs/figures/world.log",
    conda:
        ENV["figures"]
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        style=config["figures"],
    script:
        "../scripts/figure_world.py"


rule figure_stages:
    input:
        rules.stages_table.output.csv,
    output:
        report(figure_paths("stages"), caption="../report/stages.rst", category="Models"),
    log:
        f"{RESULTS}/logs/figures/stages.log",
    conda:
        ENV["figures"]
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        style=config["figures"],
    script:
        "../scripts/figure_stages.py"


rule figure_pretrain_loss:
    input:
        expand(f"{RESULTS}/models/{{scale}}-base", scale=NAMES["built"]),
    output:
        report(figure_paths("pretrain_loss"), caption="../report/pretrain_loss.rst", category="Models"),
    log:
        f"{RESULTS}/logs/figures/pretrain_loss.log",
    conda:
        ENV["figures"]
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        style=config["figures"],
        scales=NAMES["built"],
    script:
        "../scripts/figure_pretrain_loss.py"


rule provenance:
    output:
        report(f"{RESULTS}/provenance.json", caption="../report/provenance.rst", category="Provenance"),
    log:
        f"{RESULTS}/logs/provenance.log",
    conda:
        ENV["data"]
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        config=config,
    script:
        "../scripts/provenance.py"
