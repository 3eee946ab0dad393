# ruff: noqa: E402  (a side-experiment script: imports follow its argument handling)
"""Side experiment: the default post-training (SFT then GRPO, config.yaml) of a pilot base model on
the five-task mixture, then the chat-format evaluation of every task."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
REF = Path(os.environ.get("SAH_REF_RESULTS", "results"))  # a default run: task data, world


import json
import sys
import time
from pathlib import Path

import yaml

from sahlab.io import read_examples
from sahlab.train import train
from sahlab.world.build import build_world, make_task, validate_world_config

mdir, overlay = Path(sys.argv[1]), sys.argv[2]
cfg = yaml.safe_load(open(str(ROOT / "config/config.yaml")))
ov = yaml.safe_load(overlay)
cfg["world"]["coding"] = ov["coding"]
cfg["world"]["corpus"]["mix"] = ov["corpus"]["mix"]
w = validate_world_config(cfg["world"])
coding = make_task(build_world(w, seed=cfg["seed"]), "coding", w, cfg["seed"])
F = str(REF / "data/tasks")
n = cfg["posttrain"]["n_per_task"]
per_task = {
    t: read_examples(f"{F}/{t}/train.jsonl")[:n] for t in ("math", "translation", "instructions", "multihop")
}
per_task["coding"] = coding["train"][:n]
data = [row | {"task": t} for t, rows in per_task.items() for row in rows]
t0 = time.process_time()
prev = mdir
for st in cfg["posttrain"]["stages"]:
    out = mdir.parent / (mdir.name.replace("base", "post") + "_" + st["name"])
    if not out.exists():
        train(
            str(prev),
            data,
            st["method"],
            st.get("hparams", {}),
            seed=cfg["seed"],
            out_dir=str(out),
            threads=1,
            stage="post",
        )
    prev = out
print("posttrain cpu", time.process_time() - t0, flush=True)
from sahlab.eval.policy import ModelPolicy
from sahlab.eval.run import evaluate_policy
from sahlab.models.registry import load_model

opts = cfg["evaluation"]
tasks = {
    t: read_examples(f"{F}/{t}/test.jsonl")[: opts["n_test"]]
    for t in ("math", "translation", "instructions", "multihop")
}
tasks["coding"] = coding["test"][:200]
res = evaluate_policy(
    ModelPolicy(load_model(str(prev))),
    "chat",
    tasks,
    max_new_tokens=opts["max_new_tokens"],
    batch_size=opts["batch_size"],
    n_boot=opts["n_boot"],
    seed=1234,
)
o = {}
for t, (recs, met) in res.items():
    k = next(iter(met))
    o[t] = {k: round(met[k]["value"], 3), "ci": [round(met[k]["ci_low"], 3), round(met[k]["ci_high"], 3)]}
o["coding_distinct"] = len({r["task_output"] for r in res["coding"][0]})
print(json.dumps(o), "cpu", time.process_time() - t0)
