# ruff: noqa: E402  (a side-experiment script: imports follow its argument handling)
"""Side experiment: study A's run_scaling on the coding task for one pilot base model and seed
(same hyper-parameters as config.yaml's scaling section)."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
REF = Path(os.environ.get("SAH_REF_RESULTS", "results"))  # a default run: task data, world


import json
import sys
import time
from pathlib import Path

import yaml

from sahlab.scaling.run import run_scaling
from sahlab.world.build import build_world, make_task, validate_world_config

mdir, overlay, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
cfg = yaml.safe_load(open(str(ROOT / "config/config.yaml")))
ov = yaml.safe_load(overlay)
cfg["world"]["coding"] = ov["coding"]
cfg["world"]["corpus"]["mix"] = ov["corpus"]["mix"]
w = validate_world_config(cfg["world"])
t = make_task(build_world(w, seed=cfg["seed"]), "coding", w, cfg["seed"])
SC = cfg["scaling"]
t0 = time.process_time()
work = Path(mdir).parent / f"scaling_{Path(mdir).name}_{seed}"
records, summary, timing = run_scaling(
    mdir,
    "coding",
    t["train"],
    t["test"][:200],
    SC["N"],
    seed,
    hparams=SC["hparams"],
    epochs=SC["epochs"],
    min_steps=SC["min_steps"],
    max_steps=SC["max_steps"],
    max_new_tokens=32,
    batch_size=200,
    threads=1,
    work_root=str(work),
)
print("cpu", time.process_time() - t0)
print(json.dumps(summary, default=str)[:3000])
by = {}
steps = {r["id"]: len(r["metadata"]["steps"]) for r in t["test"]}
for r in records:
    by.setdefault(r.get("N"), []).append(r)
for n, rs in by.items():
    print(
        n,
        "pass",
        sum(r["correct"] for r in rs) / len(rs),
        "format",
        sum(r.get("format_ok", r.get("parses", 0)) for r in rs) / len(rs),
        "distinct",
        len({r["task_output"] for r in rs}),
        "by_steps",
        {
            k: round(
                sum(r["correct"] for r in rs if steps[r["example_id"]] == k)
                / max(1, sum(steps[r["example_id"]] == k for r in rs)),
                3,
            )
            for k in (1, 2, 3)
        },
    )
json.dump(records, open(f"{work}.records.json", "w"), default=str)
