"""Rule eft_beta: up-scaling at every β of the sweep, on every task."""

from sahlab.eft.experiment import run_beta_sweep
from sahlab.io import atomic_path, first_examples
from sahlab.logs import log_to, set_threads

log = log_to(snakemake.log[0])
set_threads(snakemake.threads)
p = snakemake.params
import pandas as pd  # noqa: E402

tests = {
    t: first_examples(path, p.n_test, "eft.beta.n_test") for t, path in zip(p.tasks, snakemake.input.tests)
}
dirs = {role: snakemake.input[role] for role in p.roles}
rows = run_beta_sweep(
    dirs, p.betas, tests, p.max_new_tokens, batch_size=p.batch_size, n_boot=p.n_boot, seed=p.seed
)
with atomic_path(snakemake.output.csv) as tmp:
    pd.DataFrame(rows).to_csv(tmp, index=False)
