"""Driver of tests/test_distributed.py: what a rule script does with a `parallel:` block.

    python tests/distributed_driver.py spec.json

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
if spec["mode"] == "train":
    from sahlab.train import train

    train(spec["model"], spec["rows"], spec["method"], spec["hparams"], seed=0,
          out_dir=spec["out"], threads=1)
else:
    from sahlab.eval.generate import generate, render_prompts
    from sahlab.eval.policy import ModelPolicy

    policy = ModelPolicy.from_pretrained(spec["model"])
    prompts = render_prompts(policy.tokenizer, spec["prompts"], "chat")
    outputs = generate(policy, prompts, max_new_tokens=spec["max_new_tokens"],
                       batch_size=spec["batch_size"], progress=False)
    if is_main():
        write_json(spec["out"], outputs)
