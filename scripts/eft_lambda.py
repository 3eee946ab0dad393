"""Rule eft_lambda: large base + λ·r_a + (1 − λ)·r_b of two fine-tuned variants of the small base."""

from sahlab.eft.experiment import run_lambda_sweep
from sahlab.io import atomic_path, first_examples
from sahlab.logs import log_to, set_threads

log = log_to(snakemake.log[0])
set_threads(snakemake.threads)
p = snakemake.params
import pandas as pd  # noqa: E402

tests = {
    t: first_examples(path, p.n_test, "eft.mixture.n_test") for t, path in zip(p.tasks, snakemake.input.tests)
}
dirs = {role: snakemake.input[role] for role in ("small_base", "large_base")}
rows = run_lambda_sweep(
    dirs,
    snakemake.input.variants,
    p.lambdas,
    p.beta,
    tests,
    p.max_new_tokens,
    batch_size=p.batch_size,
    n_boot=p.n_boot,
    seed=p.seed,
)
with atomic_path(snakemake.output.csv) as tmp:
    pd.DataFrame(rows).assign(variant_a=p.variants[0], variant_b=p.variants[1]).to_csv(tmp, index=False)
