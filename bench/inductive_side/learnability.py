"""Side runs of study D (issue 15; not pipeline rules): can a base model learn a pair's target at all?

Two measurements on a finished run's base model (e.g. results/models/small-base), printed as one
JSON line per run:

  probe MODEL TARGET N EPOCHS LR [--format raw|plain|none]
      Lovering's fine-tuning probe (whole model + linear head on the last token) trained on N
      label-balanced rows of TARGET (spurious contains_2), accuracy on 1 000 held-out rows.
  finetune MODEL METHOD N_TRAIN HPARAMS_JSON RATES PAIR [PAIR ...] [--format raw|plain] [--world W]
           [--log-dir DIR]
      study D's own fine-tuning (`finetune_over_rates`: sft | grpo | rloo) with those hparams on
      an N_TRAIN-row pool at each rate: training accuracy (convergence), s-only / t-only errors,
      last logged RL reward, CPU s of each run. Toy settings are the default's (100 symbols,
      length 10, words). --log-dir DIR keeps each run's trainer log (per step: grad_norm, reward,
      frac_reward_zero_std, ...) as DIR/<pair>-<method>-rate<r>.json.

Example (the default's SFT, answer right after the last symbol):
  python bench/inductive_side/learnability.py finetune results/models/small-base sft 4096 \
      '{"lr": 3e-3, "max_steps": 300, "batch_size": 32, "max_length": 64}' 0.5 first_equals_last-vs-contains_2
"""

import argparse
import json
import logging
import time

import numpy as np

TOY = {"vocab_size": 100, "length": 10, "render": "words"}


def probe(a):
    import torch

    from sahlab.inductive.experiment import probe_split, resolve_toy
    from sahlab.inductive.probes import FinetuneProbe

    torch.set_num_threads(1)
    toy = resolve_toy(TOY, model_dir=a.model)
    rows = probe_split(f"{a.target}-vs-contains_2", "target", a.n + 1000, 0, toy=toy)
    X, y = [r["prompt"] for r in rows], np.array([r["metadata"]["label"] for r in rows])
    t0 = time.process_time()
    fmt = None if a.format == "none" else a.format
    f = FinetuneProbe(a.model, 2, epochs=a.epochs, lr=a.lr, batch_size=32, prompt_format=fmt)(
        X[: a.n], y[: a.n], 0
    )
    acc = float((f(X[a.n :]).argmax(1) == y[a.n :]).mean())
    print(
        json.dumps(
            {
                "probe": a.target,
                "n": a.n,
                "epochs": a.epochs,
                "lr": a.lr,
                "format": a.format,
                "heldout_accuracy": round(acc, 3),
                "cpu_s": round(time.process_time() - t0),
            }
        ),
        flush=True,
    )


def finetune(a):
    import shutil
    from pathlib import Path

    import sahlab.train
    from sahlab.inductive.experiment import finetune_over_rates
    from sahlab.io import read_json

    tag = {}
    if a.log_dir:  # finetune_over_rates trains in a temp dir: copy each trainer log out of it
        Path(a.log_dir).mkdir(parents=True, exist_ok=True)
        train = sahlab.train.train

        def logged(model_dir, rows, method, hp, seed, out, **kw):
            summary = train(model_dir, rows, method, hp, seed, out, **kw)
            shutil.copy(f"{out}/train_log.json", Path(a.log_dir) / f"{tag['name']}.json")
            return summary

        sahlab.train.train = logged  # finetune_over_rates imports it at call time
    world = read_json(a.world) if a.world else None
    for pair in a.pairs:
        for rate in [float(r) for r in a.rates.split(",")]:  # one run at a time: CPU s per run
            tag["name"] = f"{pair}-{a.method}-rate{rate:g}"
            t0 = time.process_time()
            (r,) = finetune_over_rates(
                a.model,
                pair,
                a.method,
                0,
                [rate],
                a.n_train,
                100,
                json.loads(a.hparams),
                data_seed=1234,
                world=world,
                toy=TOY,
                evidence="mixed",
                prompt_format=a.format,
            )
            print(
                json.dumps(
                    {
                        "pair": pair,
                        "method": a.method,
                        "n_train": a.n_train,
                        "format": a.format,
                        "rate": r["rate"],
                        "steps": r["train_steps"],
                        "train_accuracy": round(r["train_accuracy"], 3),
                        "s_only_error": r["s_only_error"],
                        "t_only_error": round(r["t_only_error"], 3),
                        "reward_last": r["train_reward_last"],
                        "cpu_s": round(time.process_time() - t0),
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("probe")
    q.add_argument("model"), q.add_argument("target"), q.add_argument("n", type=int)
    q.add_argument("epochs", type=int), q.add_argument("lr", type=float)
    q.add_argument("--format", default="raw", choices=["raw", "plain", "none"])
    q = sub.add_parser("finetune")
    q.add_argument("model"), q.add_argument("method"), q.add_argument("n_train", type=int)
    q.add_argument("hparams"), q.add_argument("rates"), q.add_argument("pairs", nargs="+")
    q.add_argument("--format", default="raw", choices=["raw", "plain"])
    q.add_argument("--world", help="world.json (needed by the natural-language pairs)")
    q.add_argument("--log-dir", help="keep each run's trainer log (per-step grad_norm, reward, ...) here")
    a = p.parse_args()
    probe(a) if a.cmd == "probe" else finetune(a)
