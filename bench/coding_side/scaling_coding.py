# ruff: noqa: E402  (a side-experiment script: imports follow its argument handling)
"""Side experiment: study A's run_scaling on the coding task for one pilot base model and seed
(same hyper-parameters as config.yaml's scaling section unless a flag overrides the N grid,
epochs or step cap). The overlay is merged into config.yaml's world (a `mix` replaces the
default), so `tasks: {coding: {train: 16000}}` in it enlarges the coding train split (its test
split and the first rows of its train split stay the same). Prints pass@1 and whole-domain pass
with 95 % bootstrap CIs over the test items, per N, overall and by number of steps."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
REF = Path(os.environ.get("SAH_REF_RESULTS", "results"))  # a default run: task data, world


import argparse
import json
import time

import numpy as np
import yaml

from sahlab.scaling.run import run_scaling
from sahlab.stats.resampling import bootstrap_ci
from sahlab.world import tinylang
from sahlab.world.build import build_world, make_task, validate_world_config

ap = argparse.ArgumentParser()
ap.add_argument("mdir")
ap.add_argument("overlay", help="YAML: world overrides (ov.py's output, optionally with tasks)")
ap.add_argument("seed", type=int)
ap.add_argument("--N", default=None, help="comma-separated N grid (default: scaling.N)")
ap.add_argument("--epochs", type=float, default=None, help="default: scaling.epochs")
ap.add_argument("--max-steps", default=None, help="step cap, 'none' = no cap (default: scaling.max_steps)")
ap.add_argument("--lr", type=float, default=None, help="default: scaling.hparams.lr")
ap.add_argument("--batch", type=int, default=None, help="default: scaling.hparams.batch_size")
ap.add_argument("--tag", default="", help="suffix of the work directory and records file")
a = ap.parse_args()
cfg = yaml.safe_load(open(str(ROOT / "config/config.yaml")))
ov = yaml.safe_load(a.overlay)


def merge(d, o):
    for k, v in o.items():
        if isinstance(v, dict) and isinstance(d.get(k), dict) and k != "mix":
            merge(d[k], v)
        else:
            d[k] = v


merge(cfg["world"], ov)
w = validate_world_config(cfg["world"])
t = make_task(build_world(w, seed=cfg["seed"]), "coding", w, cfg["seed"])
SC = cfg["scaling"]
grid = [int(n) for n in a.N.split(",")] if a.N else SC["N"]
epochs = a.epochs if a.epochs is not None else SC["epochs"]
if a.max_steps is None:
    max_steps = SC["max_steps"]
else:
    max_steps = None if a.max_steps.lower() == "none" else int(a.max_steps)
print("train split", len(t["train"]), "grid", grid, "epochs", epochs, "max_steps", max_steps, flush=True)
test = t["test"][:200]
t0 = time.process_time()
work = Path(a.mdir).parent / f"scaling_{Path(a.mdir).name}_{a.seed}{a.tag}"
records, summary, timing = run_scaling(
    a.mdir,
    "coding",
    t["train"],
    test,
    grid,
    a.seed,
    hparams={
        **SC["hparams"],
        **({"lr": a.lr} if a.lr else {}),
        **({"batch_size": a.batch} if a.batch else {}),
    },
    epochs=epochs,
    min_steps=SC["min_steps"],
    max_steps=max_steps,
    max_new_tokens=32,
    batch_size=200,
    threads=1,
    work_root=str(work),
)
print("cpu (this process)", time.process_time() - t0)
print(json.dumps(summary, default=str)[:3000])
print(json.dumps(timing, default=str))
ex_by_id = {r["id"]: r for r in test}


def domain(code, ref):
    """Equal to the reference on every input 0..max_input (a wrong constant never passes)."""
    try:
        p, q = tinylang.parse(code), tinylang.parse(ref)
        return all(tinylang.run(p, x) == tinylang.run(q, x) for x in range(w["coding"]["max_input"] + 1))
    except tinylang.TinyError:
        return False


def ci(v):
    r = bootstrap_ci(np.asarray(v, dtype=float), n_boot=2000, seed=a.seed)
    return f"{r['value']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}] (n={r['n']})"


by = {}
for r in records:
    r["steps_n"] = len(ex_by_id[r["example_id"]]["metadata"]["steps"])
    r["domain"] = domain(r["task_output"], ex_by_id[r["example_id"]]["reference"])
    by.setdefault(r["N"], []).append(r)
steps_of = {s["N"]: s["steps"] for s in summary}
for n, rs in by.items():
    print(f"N={n} steps={steps_of[n]} distinct={len({r['task_output'] for r in rs})}", flush=True)
    print("  pass@1", ci([r["correct"] for r in rs]), "| domain", ci([r["domain"] for r in rs]))
    for k in (1, 2, 3):
        sub = [r for r in rs if r["steps_n"] == k]
        print(
            f"  {k} step(s): pass@1",
            ci([r["correct"] for r in sub]),
            "| domain",
            ci([r["domain"] for r in sub]),
        )
json.dump(records, open(f"{work}.records.json", "w"), default=str)
json.dump(summary, open(f"{work}.summary.json", "w"), default=str)
