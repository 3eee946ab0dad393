"""Cost of one study-B job (one conditioning model × task) with the config's complexity grid.

Runs `sahlab.complexity.strategies.run_complexity` once and prints, side by side:
- the wall and CPU time of the whole job, and of its parts (training per artefact, evaluation
  per program, quantise + compress per payload);
- for every trained adapter / fine-tuned model, the share of its training time spent pricing its
  payloads:  ratio = Σ_b (t_quantise + t_zstd) / t_train        (target: < 5 %)

Usage:
  .venv/bin/python bench/bench_complexity.py MODEL_DIR TRAIN.jsonl TEST.jsonl TASK
        [--config config/config.yaml] [--threads 1]
e.g. MODEL_DIR = results/models/large-base, TRAIN/TEST = results/data/tasks/math/{train,test}.jsonl.
"""

from __future__ import annotations

import argparse
import re
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_dir")
    ap.add_argument("train")
    ap.add_argument("test")
    ap.add_argument("task")
    ap.add_argument("--config", default=str(ROOT / "config" / "config.yaml"))
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()

    import yaml

    wall0, cpu0 = time.perf_counter(), cpu_seconds()
    import torch

    torch.set_num_threads(a.threads)
    from sahlab.complexity.config import settings
    from sahlab.complexity.strategies import run_complexity
    from sahlab.io import read_examples

    cfg = yaml.safe_load(Path(a.config).read_text())
    cfg["tasks"] = {a.task: {}}
    opts = settings(cfg)
    t_import = time.perf_counter() - wall0
    res = run_complexity(
        a.model_dir,
        a.task,
        read_examples(a.train),
        read_examples(a.test),
        opts,
        seed=cfg.get("seed", 0),
        threads=a.threads,
    )
    wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0

    print(
        f"job {Path(a.model_dir).name} / {a.task}: wall {wall:.1f} s, CPU {cpu:.1f} s "
        f"(imports {t_import:.1f} s); {len(res['points'])} programs"
    )
    evals = {}
    for p in res["points"]:
        evals.setdefault(p["strategy"], []).append(p["eval_seconds"])
    print(
        "evaluation s per strategy: "
        + ", ".join(f"{s} {sum(v):.1f} ({len(v)} runs)" for s, v in evals.items())
    )
    trains = {
        t["what"][len("train ") :]: t["seconds"] for t in res["timings"] if t["what"].startswith("train ")
    }
    print(f"training s: {sum(trains.values()):.1f} " + ", ".join(f"{k} {v:.1f}" for k, v in trains.items()))
    print("| artefact | params | train s | pricing s (all bit widths) | ratio |")
    print("|---|---:|---:|---:|---:|")
    for name, t_train in trains.items():
        m = re.match(r"lora_r(\d+)|full_n(\d+)", name)
        if m and m.group(1):
            tag = f"lora r={m.group(1)} "
        elif m and int(m.group(2)) == opts["n_train"]:
            tag = "full delta "
        else:
            continue
        pricing = [t for t in res["timings"] if t["what"].startswith(f"quantise+compress {tag}")]
        s = sum(t["seconds"] for t in pricing)
        print(
            f"| {name} | {pricing[0]['n_params']:,} | {t_train:.2f} | {s:.3f} | {100 * s / t_train:.1f} % |"
        )


if __name__ == "__main__":
    main()
