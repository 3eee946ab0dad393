"""Driver of tests/test_distributed.py: what a rule script does with a `parallel:` block.

    python tests/distributed_driver.py spec.json    # spec: one job, or {"jobs": [...]}

`relaunch` re-runs this file under `accelerate launch` (the path of scripts/posttrain.py and
scripts/evaluate.py); the launched processes train (`sahlab.train.train`) or generate
(`sahlab.eval.generate.generate`), and rank 0 writes the result.
"""

import json
import sys

from sahlab.io import write_json
from sahlab.logs import log_to
from sahlab.parallel import is_main, rank_log, relaunch, resolve

spec = json.loads(open(sys.argv[1]).read())
relaunch(resolve(spec.get("parallel"), "test"), spec["log"])
log_to(rank_log(spec["log"]))
for job in spec.get("jobs", [spec]):  # several jobs share one launch (tests stay quick)
    if job["mode"] == "train":
        from sahlab.train import train

        train(job["model"], job["rows"], job["method"], job["hparams"], seed=0, out_dir=job["out"], threads=1)
    else:
        from sahlab.eval.generate import generate, render_prompts
        from sahlab.eval.policy import ModelPolicy

        policy = ModelPolicy.from_pretrained(job["model"])
        prompts = render_prompts(policy.tokenizer, job["prompts"], "chat")
        outputs = generate(
            policy,
            prompts,
            max_new_tokens=job["max_new_tokens"],
            batch_size=job["batch_size"],
            progress=False,
        )
        if is_main():
            write_json(job["out"], outputs)
