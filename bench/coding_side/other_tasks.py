# ruff: noqa: E402  (a side-experiment script: imports follow its argument handling)
"""Side experiment: a pilot base model on the default's other tasks (native layout, as rule evaluate)
plus held-out loss and cloze — to compare with <reference results>/eval/<model>."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
REF = Path(os.environ.get("SAH_REF_RESULTS", "results"))  # a default run: task data, world


import json
import sys
import time

import torch
import yaml

from sahlab.eval.policy import ModelPolicy
from sahlab.eval.run import evaluate_policy
from sahlab.io import read_examples
from sahlab.models.registry import load_model

torch.set_num_threads(1)
mdir = sys.argv[1]
opts = yaml.safe_load(open(str(ROOT / "config/config.yaml")))["evaluation"]
F = str(REF / "data/tasks")
tasks = {
    t: read_examples(f"{F}/{t}/test.jsonl")[: opts["n_test"]]
    for t in ("math", "translation", "instructions", "multihop")
}
t0 = time.process_time()
res = evaluate_policy(
    ModelPolicy(load_model(mdir)),
    "native",
    tasks,
    max_new_tokens=opts["max_new_tokens"],
    batch_size=opts["batch_size"],
    n_boot=opts["n_boot"],
    seed=1234,
)
out = {}
for t, (recs, met) in res.items():
    k = next(iter(met))
    out[t] = {k: round(met[k]["value"], 3), "ci": [round(met[k]["ci_low"], 3), round(met[k]["ci_high"], 3)]}
print(json.dumps(out), "cpu", time.process_time() - t0)
from sahlab.eval.knowledge import knowledge_probe
from sahlab.models.registry import load_tokenizer
from sahlab.world.entities import World

world = World.from_json(open(str(REF / "data/world/world.json")).read())
_, m = knowledge_probe(load_model(mdir), load_tokenizer(mdir), world, n_boot=200, seed=1234)
print("cloze", round(m["cloze_accuracy"]["value"], 3))
