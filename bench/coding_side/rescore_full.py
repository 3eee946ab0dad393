# ruff: noqa: E402  (a side-experiment script: imports follow its argument handling)
"""Side experiment: a pilot model's coding answers (native or chat) scored on the hidden tests and on
the whole input domain 0..max_input (near misses with a wrong constant fail the latter)."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
REF = Path(os.environ.get("SAH_REF_RESULTS", "results"))  # a default run: task data, world


import subprocess
import sys
from collections import Counter

import yaml

from sahlab.eval.policy import ModelPolicy
from sahlab.eval.run import evaluate_policy
from sahlab.models.registry import load_model
from sahlab.world import tinylang
from sahlab.world.build import build_world, make_task, validate_world_config

mdir, fmt = sys.argv[1], sys.argv[2]
ov = yaml.safe_load(
    subprocess.check_output(
        [
            "python3",
            str(ROOT / "bench/coding_side/ov.py"),
            "0.10",
            "{max_constant: 9, step_weights: [3,2,1], examples_first: true, phrasing: fixed}",
        ]
    )
)
cfg = yaml.safe_load(open(str(ROOT / "config/config.yaml")))["world"]
cfg["coding"] = ov["coding"]
cfg["corpus"]["mix"] = ov["corpus"]["mix"]
w = validate_world_config(cfg)
test = make_task(build_world(w, seed=1234), "coding", w, 1234)["test"][:200]
recs, met = evaluate_policy(
    ModelPolicy(load_model(mdir)),
    fmt,
    {"coding": test},
    max_new_tokens=32,
    batch_size=200,
    n_boot=0,
    seed=1234,
)["coding"]


def full(code, ref):
    try:
        a, b = tinylang.parse(code), tinylang.parse(ref)
        return all(tinylang.run(a, x) == tinylang.run(b, x) for x in range(21))
    except tinylang.TinyError:
        return False


ok = [full(r["task_output"], ex["reference"]) for r, ex in zip(recs, test)]
print(
    mdir,
    fmt,
    "hidden-test pass",
    sum(r["correct"] for r in recs) / 200,
    "whole-domain pass",
    sum(ok) / 200,
    "format",
    sum(r["format_ok"] for r in recs) / 200,
    "distinct",
    len({r["task_output"] for r in recs}),
    Counter(r["task_output"] for r in recs).most_common(3),
)
for r, ex, o in zip(recs, test, ok):
    if o:
        print("   ", ex["prompt"], "->", r["task_output"])
