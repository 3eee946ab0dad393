"""Rule eft_speculative: speculative up-scaling vs plain EFT decoding (acceptance, speed-up)."""

from sahlab.eft.experiment import markdown, run_speculative
from sahlab.io import atomic_path, first_examples
from sahlab.logs import log_to, set_threads

log = log_to(snakemake.log[0])
set_threads(snakemake.threads)
p = snakemake.params
import pandas as pd  # noqa: E402

prompts = {
    t: first_examples(path, p.n_prompts, "eft.speculative.n_prompts")
    for t, path in zip(p.tasks, snakemake.input.tests)
}
dirs = {role: snakemake.input[role] for role in p.roles}
df = pd.DataFrame(
    run_speculative(
        dirs,
        prompts,
        k=p.k,
        batch_sizes=p.batch_sizes,
        temperatures=p.temperatures,
        max_new_tokens=p.max_new_tokens,
        seed=p.seed,
    )
)
with atomic_path(snakemake.output.csv) as tmp:
    df.to_csv(tmp, index=False)
with atomic_path(snakemake.output.md) as tmp:
    tmp.write_text(markdown(df))
