# sahlab: one DAG from raw data to figures for four studies of the Superficial Alignment
# Hypothesis. Logic lives in sahlab/, rules only wire scripts/ to files. See README.md.
from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

from sahlab.config import check_cores, schema_error

min_version("9.0")
# --cores 0 would otherwise plan the jobs and then wait forever for a free core.
check_cores(getattr(workflow.resource_settings, "cores", None))  # None under --executor slurm


configfile: "config/config.yaml"


try:
    validate(config, "config/schema.yaml")
except WorkflowError as e:  # one line naming the key instead of the whole schema
    raise WorkflowError(schema_error(e)) from None


# `snakemake --report results/report.html`: this text (rendered with the config) opens the report.
report: "report/workflow.rst"


include: "rules/common.smk"


# Wildcards never swallow each other: each matches exactly the names the config defines.
wildcard_constraints:
    task=one_of(TASKS + ["newknowledge"]),
    scale=one_of(SCALES),
    model=one_of(MODELS),
    ext="pdf|png",


include: "rules/data.smk"
include: "rules/models.smk"
include: "rules/posttrain.smk"
include: "rules/evaluate.smk"
include: "rules/figures.smk"


# The four studies are optional: a config without a study's section (a preset replacing
# config.yaml, e.g. real_cpu.yaml) plans none of that study's jobs.
if config.get("scaling") is not None:

    include: "rules/scaling.smk"


if config.get("complexity") is not None:

    include: "rules/complexity.smk"


# Study B's dose–response arms (beyond the paper): off without a `dose` section.
if config.get("dose") is not None:

    include: "rules/dose.smk"


if config.get("eft") is not None:

    include: "rules/eft.smk"


if config.get("inductive") is not None:

    include: "rules/inductive.smk"


include: "rules/synthesis.smk"
include: "rules/summary.smk"


# Seconds-long rules (copies, tables, figures) run on the submitting node under --executor
# slurm instead of queueing for minutes; everything else becomes a SLURM job (profiles/slurm).
localrules:
    all,
    post_model,
    provenance,
    summary,
    stages_table,
    figure_world,
    figure_stages,
    figure_pretrain_loss,
    scaling_fits,
    scaling_errors,
    scaling_newknowledge_table,
    figure_scaling_curves,
    figure_scaling_errors,
    figure_scaling_newknowledge,
    complexity_table,
    figure_complexity_frontiers,
    figure_complexity_strategies,
    eft_grid_table,
    eft_figure_grid,
    eft_figure_beta,
    eft_figure_lambda,
    inductive_use_table,
    inductive_summary,
    figure_inductive_use,
    figure_inductive_extractability,
    synthesis,
    figure_synthesis,
    report_tables,


rule all:
    default_target: True
    input:
        all_targets() + [rules.summary.output[0]],
