"""Study D orchestration: feature data, MDL of each feature on a pre-trained model, and fine-tuning
(RL or SFT through the shared `sahlab.train.train`) over a grid of evidence rates.

Features: the Lovering toy targets of `sahlab.world.features` (spurious "contains 2") and the
natural-language `past_tense` target of `sahlab.probing.nl_features` (spurious: a cue word).
The policy answers "1" or "0" (one token) after the plain prompt; its decision is the first
whitespace-separated token of the completion.
"""
from __future__ import annotations

import logging
import math
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from sahlab.io import work_dir
from sahlab.train.rewards import parse_decision
from sahlab.probing.nl_features import NL_TARGETS, make_nl_feature_split, make_nl_probe_split
from sahlab.world.features import FEATURES as TOY_FEATURES
from sahlab.world.features import SECTIONS, make_feature_split, make_probe_split

log = logging.getLogger("sahlab.inductive")

ALL_FEATURES = tuple(TOY_FEATURES) + tuple(NL_TARGETS)
FT_METHODS = ("grpo", "rloo", "sft")
PROBES = ("linear", "mlp", "finetune")
FEATURES_TASK = "features"


# --------------------------------------------------------------------------- data
def _need_world(target: str, world: dict | None) -> dict | None:
    if target not in ALL_FEATURES:
        raise ValueError(f"unknown feature {target!r}; allowed: {list(ALL_FEATURES)}")
    if target in NL_TARGETS and world is None:
        raise ValueError(f"feature {target!r} is built from the world's sentences: pass world "
                         "(the content of results/data/world/world.json)")
    return world


def feature_split(target: str, n: int, evidence_rate: float, seed: int, *,
                  world: dict | None = None, section: str | None = None,
                  evidence: str = "spurious_only") -> list[dict]:
    """A training split (section=None; exactly round(rate·n) evidence examples) or one test
    section of any feature, toy or natural-language, in the common schema with task="features"."""
    world = _need_world(target, world)
    if target in NL_TARGETS:
        rows = make_nl_feature_split(world, target, n, evidence_rate, seed, section, evidence)
    else:
        rows = make_feature_split(target, n, evidence_rate, seed, section, evidence)
    return [r | {"task": FEATURES_TASK} for r in rows]


def probe_split(target: str, feature: str, n: int, seed: int, *,
                world: dict | None = None) -> list[dict]:
    """Label-balanced probing data for MDL (feature = "target" or "spurious")."""
    world = _need_world(target, world)
    if target in NL_TARGETS:
        return make_nl_probe_split(world, target, feature, n, seed)
    return make_probe_split(target, feature, n, seed)


def section_test_set(target: str, n_per_section: int, seed: int, *,
                     world: dict | None = None) -> list[dict]:
    """n_per_section examples of each of the four test sections (seeded apart from training)."""
    if n_per_section < 1:
        raise ValueError(f"n_per_section must be ≥ 1, got {n_per_section}")
    return [r for s in SECTIONS
            for r in feature_split(target, n_per_section, 0.0, seed + 7919, world=world, section=s)]


def evidence_fraction(rows: Sequence[dict]) -> float:
    """Fraction of rows whose spurious feature and label disagree (the realised evidence rate)."""
    if not rows:
        raise ValueError("evidence_fraction: no rows")
    return sum(r["metadata"]["spurious"] != r["metadata"]["label"] for r in rows) / len(rows)


# --------------------------------------------------------------------------- reward
def make_probe(kind: str, model_dir: str, opts: dict):
    """The probe family `kind` ("linear", "mlp" or "finetune") with options from `opts`."""
    from sahlab.probing.probes import FinetuneProbe, LinearProbe, MLPProbe

    if kind == "linear":
        return LinearProbe(n_classes=2, l2=float(opts.get("l2", 1e-2)))
    if kind == "mlp":
        return MLPProbe(n_classes=2, hidden=int(opts.get("hidden", 64)))
    if kind == "finetune":
        return FinetuneProbe(str(model_dir), n_classes=2, epochs=int(opts.get("epochs", 1)),
                             lr=float(opts.get("lr", 1e-4)), prompt_format="plain")
    raise ValueError(f"unknown probe {kind!r}; allowed: {list(PROBES)}")


def measure_mdl(model_dir: str, features: Sequence[str], n: int, probe_seeds: Sequence[int],
                data_seed: int, *, world: dict | None = None, probes: Sequence[str] = ("linear",),
                probe_opts: dict | None = None, pooling: str = "mean", layer: int = -1) -> list[dict]:
    """Online-code MDL (bits, mean over probe seeds) of the target and the spurious feature of each
    feature task under the model, for each probe family, and their ratio
    relative_extractability = MDL(spurious) / MDL(target) (> 1: the target is easier).

    Linear and MLP probes read frozen representations (`extract_features`, plain prompts);
    the fine-tuning probe trains the whole model. One row per (feature, probe).
    """
    import numpy as np
    from tqdm import tqdm

    from sahlab.probing.probes import extract_features, mdl_over_seeds, relative_extractability

    opts = probe_opts or {}
    rows = []
    for target in tqdm(list(features), desc="MDL features"):
        data = {f: probe_split(target, f, n, data_seed, world=world) for f in ("target", "spurious")}
        frozen = {}
        for probe in probes:
            t0 = time.perf_counter()
            res = {}
            for f, split in data.items():
                y = np.array([r["metadata"]["label"] for r in split], dtype=np.int64)
                texts = [r["prompt"] for r in split]
                if probe == "finetune":
                    X = texts
                else:
                    if f not in frozen:
                        frozen[f] = extract_features(model_dir, texts, pooling=pooling, layer=layer,
                                                     prompt_format="plain", progress=False)
                    X = frozen[f]
                res[f] = mdl_over_seeds(X, y, make_probe(probe, model_dir, opts), 2,
                                        seeds=probe_seeds, progress=False)
            per_seed = [s / t for s, t in zip(res["spurious"]["per_seed_bits"],
                                              res["target"]["per_seed_bits"])]
            rows.append({"model": Path(model_dir).name, "feature": target, "probe": probe, "n": n,
                         "mdl_target": res["target"]["mean_bits"],
                         "mdl_target_std": res["target"]["std_bits"],
                         "mdl_spurious": res["spurious"]["mean_bits"],
                         "mdl_spurious_std": res["spurious"]["std_bits"],
                         "uniform_bits": res["target"]["uniform_bits"],
                         "relative_extractability": relative_extractability(res["spurious"],
                                                                            res["target"]),
                         "relative_extractability_per_seed": per_seed,
                         "probe_seeds": list(probe_seeds),
                         "seconds": round(time.perf_counter() - t0, 2)})
            log.info("MDL %s (%s): target %.1f bits, spurious %.1f bits, ratio %.3f",
                     target, probe, rows[-1]["mdl_target"], rows[-1]["mdl_spurious"],
                     rows[-1]["relative_extractability"])
    return rows


# --------------------------------------------------------------------------- fine-tuning
def predict_decisions(model_dir: str, rows: Sequence[dict], batch_size: int = 64) -> list[int]:
    """The model's label for each plain prompt: whichever of the one-token answers "1" and "0"
    it finds more likely (the action space RL fine-tuning samples from, `hparams.actions`)."""
    from sahlab.eval.generate import render_prompts, sequence_logprobs
    from sahlab.models.registry import load_model, load_tokenizer

    model, tokenizer = load_model(model_dir).eval(), load_tokenizer(model_dir)
    prompts = render_prompts(tokenizer, [r["prompt"] for r in rows], "plain")
    scores = sequence_logprobs(model, tokenizer, [(p, a) for p in prompts for a in ("1", "0")],
                               batch_size=batch_size, progress=False)
    return [int(scores[2 * i].sum() >= scores[2 * i + 1].sum()) for i in range(len(rows))]


def finetune_over_rates(model_dir: str, feature: str, method: str, seed: int,
                        rates: Sequence[float], n_train: int, n_test_per_section: int,
                        hparams: dict, *, data_seed: int, world: dict | None = None,
                        threads: int = 1, work_root: str | None = None) -> list[dict]:
    """Fine-tune `model_dir` once per evidence rate (each run starts from the same pre-trained
    model) and measure per-section metrics and feature use on one shared test set.

    method: "grpo"/"rloo" (reward = `features_reward` against the target label) or "sft".
    Training data for rate r: `feature_split(feature, n_train, r, data_seed + seed)`, so seeds
    differ in data as well as in training randomness. Returns one row per rate. `work_root`:
    the job's output path, beside which the fine-tuned models are kept while measured.
    """
    from sahlab.probing.features_stats import feature_use, section_metrics
    from sahlab.train import train

    if method not in FT_METHODS:
        raise ValueError(f"unknown fine-tuning method {method!r}; allowed: {list(FT_METHODS)}")
    tests = section_test_set(feature, n_test_per_section, data_seed, world=world)
    hp = {"prompt_format": "plain", **hparams}
    out = []
    for rate in rates:
        rows = feature_split(feature, n_train, rate, data_seed + seed, world=world)
        t0 = time.perf_counter()
        # Scratch beside the job's output (`work_root`) when given, else in the temp dir.
        with (work_dir(work_root, "inductive-work") if work_root else
              tempfile.TemporaryDirectory(prefix="sahlab-inductive-")) as tmp:
            summary = train(model_dir, rows, method, hp, seed, f"{tmp}/model", threads=threads,
                            stage="inductive")
            preds = predict_decisions(f"{tmp}/model", tests)
        metrics = section_metrics([r["metadata"]["section"] for r in tests], preds)
        use = feature_use(metrics)
        row = {"model": Path(model_dir).name, "feature": feature, "method": method,
               "seed": seed, "rate": float(rate), "n_train": n_train,
               "n_evidence": sum(r["metadata"]["spurious"] != r["metadata"]["label"] for r in rows),
               **use, "seconds": round(time.perf_counter() - t0, 2),
               "train_steps": summary.get("steps"), "train_seconds": summary.get("seconds"),
               "train_reward_first": summary.get("reward_first"),
               "train_reward_last": summary.get("reward_last"),
               "train_loss_last": summary.get("loss_last")}
        for sec, m in metrics.items():
            for k in ("accuracy", "f1", "invalid_rate"):
                row[f"{sec}_{k}"] = m[k]
        out.append(row)
        log.info("%s %s seed %d rate %g: s-only acc %.2f, t-only acc %.2f, invalid %.2f (%.1f s)",
                 feature, method, seed, rate, row["spurious_only_accuracy"],
                 row["target_only_accuracy"], row["all_invalid_rate"], row["seconds"])
    return out


def nan_to_none(x: Any) -> Any:
    """JSON cannot hold NaN/inf strictly: map them to None (recursively)."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: nan_to_none(v) for k, v in x.items()}
    if isinstance(x, list):
        return [nan_to_none(v) for v in x]
    return x
