# ruff: noqa: E402  (a side-experiment script: imports follow its argument handling)
"""Side experiment (not a pipeline rule): world + corpus + tokenizer + pre-training of the default
scales with a coding overlay, then the coding task in the native layout: pass@1, distinct answers,
and the description test (loss of the reference program under its own prompt vs another's)."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
REF = Path(os.environ.get("SAH_REF_RESULTS", "results"))  # a default run: task data, world


import argparse
import json
import os
import random
import resource
import time
from collections import Counter
from pathlib import Path

import yaml

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--overlay", required=True, help="YAML: world overrides")
ap.add_argument("--scales", default="small")
ap.add_argument("--steps", type=int, default=None)
a = ap.parse_args()
out = Path(a.out)
out.mkdir(parents=True, exist_ok=True)
cfg = yaml.safe_load(open(str(ROOT / "config/config.yaml")))
ov = yaml.safe_load(a.overlay)


def merge(d, o):
    for k, v in o.items():
        if isinstance(v, dict) and isinstance(d.get(k), dict) and k != "mix":
            merge(d[k], v)
        else:
            d[k] = v


merge(cfg["world"], ov)
from sahlab.io import read_jsonl, write_jsonl
from sahlab.world.build import build_world, make_corpus, make_task, validate_world_config

wcfg = validate_world_config(cfg["world"])
seed = cfg["seed"]
t0 = time.process_time()
world = build_world(wcfg, seed=seed)
if not (out / "train.jsonl").exists():
    corpus = make_corpus(world, wcfg, seed=seed)
    write_jsonl(out / "train.jsonl", corpus["train"])
    write_jsonl(out / "val.jsonl", corpus["val"])
tasks = make_task(world, "coding", wcfg, seed)
print("data cpu", time.process_time() - t0, flush=True)
from sahlab.models.tokenizer import train_tokenizer

train = [d["text"] for d in read_jsonl(out / "train.jsonl")]
val = [d["text"] for d in read_jsonl(out / "val.jsonl")]
if not (out / "tok").exists():
    train_tokenizer(train, vocab_size=cfg["tokenizer"]["vocab_size"], out_dir=out / "tok")
print("code docs chars", sum(len(t) for t in train if t.startswith("Program ")), "of", sum(map(len, train)))
import torch

from sahlab.eval.policy import ModelPolicy
from sahlab.eval.run import evaluate_policy
from sahlab.models.pretrain import pretrain
from sahlab.models.registry import load_model

torch.set_num_threads(1)
test = tasks["test"][:200]
res = {}
for scale in a.scales.split(","):
    sc = cfg["scales"][scale]
    hp = dict(sc["pretrain"])
    if a.steps:
        hp["max_steps"] = a.steps
    mdir = out / f"{scale}-base"
    c0 = time.process_time()
    if not mdir.exists():
        pretrain(
            build=sc["build"],
            tokenizer_dir=out / "tok",
            train_docs=train,
            val_docs=val,
            out_dir=mdir,
            ckpt_dir=out / f"ckpt-{scale}",
            hparams=hp,
            seed=seed,
            threads=1,
        )
    print(scale, "pretrain cpu", time.process_time() - c0, flush=True)
    model = load_model(mdir)
    pol = ModelPolicy(model)
    r = evaluate_policy(
        pol, "native", {"coding": test}, max_new_tokens=32, batch_size=200, n_boot=200, seed=seed
    )
    recs, met = r["coding"]
    preds = [x["task_output"] for x in recs]
    by = Counter()
    tot = Counter()
    for x, ex in zip(recs, test):
        n = len(ex["metadata"]["steps"])
        tot[n] += 1
        by[n] += x["correct"]
    # description test: NLL of the reference under its own prompt vs a shuffled prompt
    tok = pol.tokenizer
    from sahlab.world.layouts import code_prompt

    rng = random.Random(0)
    perm = list(range(len(test)))
    rng.shuffle(perm)

    def nll(prompt, ans):
        p = tok(prompt, add_special_tokens=False)["input_ids"]
        q = tok(ans, add_special_tokens=False)["input_ids"]
        ids = torch.tensor([p + q])
        with torch.no_grad():
            lp = torch.log_softmax(model(ids).logits[0, :-1], -1)
        return -sum(lp[len(p) - 1 + i, t].item() for i, t in enumerate(q))

    own = [nll(code_prompt(ex["prompt"]), ex["reference"]) for ex in test]
    oth = [nll(code_prompt(test[j]["prompt"]), ex["reference"]) for ex, j in zip(test, perm)]
    diff = sorted(o - w for w, o in zip(own, oth))
    res[scale] = dict(
        pass1=met,
        distinct=len(set(preds)),
        top=Counter(preds).most_common(3),
        by_steps={k: f"{by[k]}/{tot[k]}" for k in sorted(tot)},
        nll_own=sum(own) / len(own),
        nll_other=sum(oth) / len(oth),
        frac_own_better=sum(d > 0 for d in diff) / len(diff),
    )
    print(json.dumps({scale: res[scale]}, default=str), flush=True)
    for x in recs[:8]:
        print("  ", x["prompt"], "->", x["task_output"], "| ref", x["reference"], x["correct"])
json.dump(res, open(out / "result.json", "w"), default=str, indent=1)
print("total cpu", time.process_time() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_utime)
