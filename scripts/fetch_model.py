"""Rule fetch_model: download a hub model once into the common on-disk form."""

from sahlab.logs import log_to
from sahlab.models.registry import fetch_hub_model

log = log_to(snakemake.log[0])
fetch_hub_model(snakemake.params.entry, snakemake.output[0])
log.info("fetched %s into %s", snakemake.params.entry["hub"], snakemake.output[0])
