"""Study A: cost of the default scaling grid, measured on models of the default sizes.

Builds a tokenizer of the default vocabulary on the corpus of an existing results folder and
random-init models of the default `small` / `large` sizes, then runs `run_scaling` (the job of
rule scaling_run) for one seed of every task with the default grid, and `run_newknowledge` for
one model. Random weights never emit EOS, so every evaluation decodes all max_new_tokens: an
upper bound on evaluation cost (training cost does not depend on the weights). Task rows are
cycled when the folder's split is smaller than max N (timing only).

    .venv/bin/python bench/bench_scaling.py [--results /tmp/smoke_ref/results] [--scales small large]

Prints CPU seconds (user + sys of this process: less sensitive to other jobs than wall time)
per (scale, task) job, and the default share: jobs x seeds x (job + start-up).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
STARTUP_S = 5.0  # per job: python + torch/transformers/trl imports (measured in the workflow)


def _cycle(rows: list[dict], n: int) -> list[dict]:
    return [rows[i % len(rows)] | {"id": f"{rows[i % len(rows)]['id']}-{i}"} for i in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", default="/tmp/smoke_ref/results")
    ap.add_argument("--scales", nargs="+", default=["small", "large"])
    ap.add_argument("--tasks", nargs="+", default=None)
    ap.add_argument("--no-newknowledge", action="store_true")
    args = ap.parse_args()

    import torch

    from sahlab.io import read_examples, read_jsonl
    from sahlab.models.pretrain import init_random
    from sahlab.models.tokenizer import train_tokenizer
    from sahlab.scaling.config import max_new_tokens_for
    from sahlab.scaling.newknowledge import run_newknowledge
    from sahlab.scaling.run import run_scaling

    torch.set_num_threads(1)
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    sc, res = cfg["scaling"], Path(args.results)
    tasks = args.tasks or list(sc.get("tasks") or cfg["tasks"])
    out: dict = {"jobs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        docs = [d["text"] for d in read_jsonl(res / "data/corpus/train.jsonl")]
        train_tokenizer(docs, cfg["tokenizer"]["vocab_size"], Path(tmp) / "tok")
        for scale in args.scales:
            model = Path(tmp) / f"{scale}-random"
            init_random(cfg["scales"][scale]["build"], Path(tmp) / "tok", model, 0, scale=scale)
            for task in tasks:
                train = _cycle(read_examples(res / f"data/tasks/{task}/train.jsonl"), max(sc["N"]))
                test = _cycle(read_examples(res / f"data/tasks/{task}/test.jsonl"), sc["n_test"])
                c0, w0 = time.process_time(), time.perf_counter()
                _, summary, timing = run_scaling(
                    model,
                    task,
                    train,
                    test,
                    sc["N"],
                    sc["seeds"][0],
                    hparams=sc["hparams"],
                    epochs=sc["epochs"],
                    min_steps=sc.get("min_steps", 0),
                    max_steps=sc.get("max_steps"),
                    max_new_tokens=max_new_tokens_for(cfg, task),
                    batch_size=cfg["evaluation"]["batch_size"],
                )
                cpu, wall = time.process_time() - c0, time.perf_counter() - w0
                train_s = sum(t.get("train_seconds", 0) for t in timing)
                eval_s = sum(t["eval_seconds"] for t in timing)
                steps = sum(s["steps"] for s in summary)
                out["jobs"][f"{scale}/{task}"] = {
                    "cpu_s": round(cpu, 1),
                    "wall_s": round(wall, 1),
                    "train_wall_s": round(train_s, 1),
                    "eval_wall_s": round(eval_s, 1),
                    "steps": steps,
                }
                print(
                    f"{scale:6s} {task:13s} cpu {cpu:6.1f} s  wall {wall:6.1f} s  (train "
                    f"{train_s:5.1f} s / {steps} steps, eval {eval_s:5.1f} s)",
                    flush=True,
                )
        nk = sc.get("newknowledge")
        if nk and not args.no_newknowledge:
            scale = args.scales[0]
            bios = read_jsonl(res / "data/tasks/newknowledge/train.jsonl")
            n_bios = cfg["world"].get("newknowledge", {}).get("bios_per_person", 8) * cfg["world"].get(
                "entities", {}
            ).get("n_new_people", 50)
            qa = read_examples(res / "data/tasks/multihop/train.jsonl")
            tests = _cycle(read_examples(res / "data/tasks/newknowledge/test.jsonl"), nk["n_test"])
            c0 = time.process_time()
            run_newknowledge(
                Path(tmp) / f"{scale}-random",
                _cycle(bios, n_bios),
                _cycle(qa, nk["n_qa"]) if nk["n_qa"] else [],
                tests,
                0,
                bios_hparams=nk["bios"],
                qa_hparams=nk["qa"],
                max_new_tokens=nk["max_new_tokens"],
                batch_size=nk["batch_size"],
                n_boot=100,
            )
            out["newknowledge_cpu_s"] = round(time.process_time() - c0, 1)
            print(f"newknowledge ({scale}, {n_bios} bios): cpu {out['newknowledge_cpu_s']} s")
    per_scale = {
        s: sum(v["cpu_s"] for k, v in out["jobs"].items() if k.startswith(s + "/")) for s in args.scales
    }
    n_seeds = len(sc["seeds"])
    grid = (
        sum(
            per_scale[m.split("-")[0]] + STARTUP_S * len(tasks)
            for m in sc["models"]
            if m.split("-")[0] in per_scale
        )
        * n_seeds
    )
    nk_total = 0.0
    if "newknowledge_cpu_s" in out:
        nk_total = sum(
            out["newknowledge_cpu_s"] * (1 if m.startswith(args.scales[0]) else 4) + STARTUP_S
            for m in nk["models"]
        )
    out.update(
        grid_core_s=round(grid, 1),
        newknowledge_core_s=round(nk_total, 1),
        total_core_s=round(grid + nk_total, 1),
        wall_min_at_2_cores=round((grid + nk_total) / 2 / 60, 1),
    )
    print(json.dumps({k: v for k, v in out.items() if k != "jobs"}, indent=1))


if __name__ == "__main__":
    main()
