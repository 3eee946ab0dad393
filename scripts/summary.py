"""Rule summary: results/SUMMARY.md from every study's markdown tables."""

from sahlab.logs import log_to
from sahlab.summary import write_summary

log_to(snakemake.log[0])
write_summary(
    snakemake.input.tables,
    snakemake.params.bench_dir,
    snakemake.output[0],
    provenance_path=snakemake.input.provenance,
)
