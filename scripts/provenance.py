"""Rule provenance: the config, code version and package versions behind this results folder."""

from sahlab.io import write_json
from sahlab.logs import log_to
from sahlab.provenance import provenance

log = log_to(snakemake.log[0])
info = provenance(snakemake.params.config)
write_json(snakemake.output[0], info)
log.info("sahlab %s, commit %s", info["sahlab_version"], info["git"]["commit"])
