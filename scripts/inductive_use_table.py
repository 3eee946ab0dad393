"""Rule inductive_use_table: the per-rate feature-use rows of every fine-tuning run in one CSV
(the training-reward trajectory of RL runs stays in the per-run JSON files)."""

from sahlab.inductive.analysis import write_table
from sahlab.io import read_json
from sahlab.logs import log_to

log_to(snakemake.log[0])
write_table(
    [
        {k: v for k, v in row.items() if k != "train_reward_trajectory"}
        for path in snakemake.input
        for row in read_json(path)
    ],
    snakemake.output.csv,
)
