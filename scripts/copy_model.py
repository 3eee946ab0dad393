"""Rule post_model: publish the last post-training stage as the scale's post-trained model."""

import shutil

from sahlab.io import atomic_path
from sahlab.logs import log_to

log = log_to(snakemake.log[0])
with atomic_path(snakemake.output[0], is_dir=True) as tmp:
    shutil.copytree(snakemake.input[0], tmp, dirs_exist_ok=True)
log.info("%s -> %s", snakemake.input[0], snakemake.output[0])
