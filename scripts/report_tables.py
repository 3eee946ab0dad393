"""Rule report_tables: every table of the run as an HTML file for `snakemake --report`."""

from sahlab.logs import log_to
from sahlab.synthesis.report_tables import render_all

log_to(snakemake.log[0])
render_all(snakemake.input, snakemake.output)
