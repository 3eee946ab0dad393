"""Study D orchestration: feature-pair data, MDL of each pair's features on a pre-trained model,
and fine-tuning (RL or SFT through the shared `sahlab.train.train`) over a grid of evidence rates.

A task is a (target, spurious) feature pair, named ``<target>-vs-<spurious>``:
toy pairs over Lovering's symbol sequences (`sahlab.world.features`: targets ``contains_<k>``
and the relational features, spurious ``contains_<k>``) and natural-language pairs over the
world's English sentences (`sahlab.inductive.nl_features`: targets ``past_tense`` and
``plural_subject``, spurious ``cue_<word>``). The RL policy answers with "1"/"0" tokens right after
the prompt's last token (`prompt_format` "raw"; one answer, or Cruz et al.'s 5-token episodes
rewarded per token); the decision scored on the test sections is whichever of "1" and "0" the
model finds likelier as its first token, and the probes read that same last position.
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from sahlab.inductive.nl_features import (
    NL_SPURIOUS_PREFIX,
    NL_TARGETS,
    cue_of,
    make_nl_feature_split,
    make_nl_probe_split,
)
from sahlab.inductive.toy_render import RENDERINGS, render_symbols, word_symbols
from sahlab.io import work_dir
from sahlab.schema import section_defaults
from sahlab.world.features import (
    SECTIONS,
    check_pair,
    make_feature_split,
    make_probe_split,
    parse_sequence,
)

log = logging.getLogger("sahlab.inductive")

PAIR_SEP = "-vs-"
FT_METHODS = ("grpo", "rloo", "sft")
PROBES = ("linear", "mlp", "finetune")
FEATURES_TASK = "features"
TOY_DEFAULTS = section_defaults("inductive.toy")  # config/schema.yaml: vocab_size, length, render
# How a pair's text is shown (`inductive.prompt_format`): "raw" = the answer follows the last
# token (Cruz et al.'s toy episodes follow the 10 prompt symbols directly); "plain" = a newline
# first, one more position the decision must be carried to.
PROMPT_FORMATS = ("raw", "plain")


# --------------------------------------------------------------------------- pairs
def parse_pair(pair: str) -> tuple[str, str]:
    """``"<target>-vs-<spurious>"`` -> (target, spurious)."""
    parts = pair.split(PAIR_SEP) if isinstance(pair, str) else []
    if len(parts) != 2 or not all(parts):
        raise ValueError(
            f"feature pair {pair!r} must be written '<target>{PAIR_SEP}<spurious>', "
            f"e.g. 'first_equals_last{PAIR_SEP}contains_2'"
        )
    return parts[0], parts[1]


def is_nl_pair(pair: str) -> bool:
    target, _ = parse_pair(pair)
    return target in NL_TARGETS


def check_pair_name(pair: str, toy: dict | None = None) -> tuple[str, str]:
    """(target, spurious) of a valid pair; ValueError naming what is wrong otherwise."""
    target, spurious = parse_pair(pair)
    if target in NL_TARGETS:
        cue_of(spurious)  # the cue word itself is checked against the world when data is built
        return target, spurious
    if spurious.startswith(NL_SPURIOUS_PREFIX):
        raise ValueError(
            f"feature pair {pair!r}: the cue feature {spurious!r} goes with a "
            f"natural-language target {list(NL_TARGETS)}"
        )
    toy = {**TOY_DEFAULTS, **(toy or {})}
    check_pair(target, spurious, toy["vocab_size"])
    return target, spurious


# --------------------------------------------------------------------------- data
def _need_world(pair: str, world: dict | None, toy: dict | None) -> tuple[str, str]:
    target, spurious = check_pair_name(pair, toy)
    if target in NL_TARGETS and world is None:
        raise ValueError(
            f"feature pair {pair!r} is built from the world's sentences: pass world "
            "(the content of results/data/world/world.json)"
        )
    return target, spurious


def resolve_toy(toy: dict | None, model_dir: str | None = None, tokenizer=None) -> dict:
    """The toy settings with defaults; for ``render: words`` also ``symbols`` (symbol i's text),
    read from `tokenizer` or else the tokenizer of `model_dir` (`sahlab.inductive.toy_render`)."""
    t = {**TOY_DEFAULTS, **(toy or {})}
    if t["render"] not in RENDERINGS:
        raise ValueError(f"toy render {t['render']!r} unknown; allowed: {list(RENDERINGS)}")
    if t["render"] == "words" and "symbols" not in t:
        if tokenizer is None and model_dir is None:
            raise ValueError(
                "toy render 'words' takes its symbols from a model's tokenizer: "
                "pass model_dir (or toy['symbols'])"
            )
        if tokenizer is None:
            from sahlab.models.registry import load_tokenizer

            tokenizer = load_tokenizer(model_dir)
        t["symbols"] = word_symbols(tokenizer, t["vocab_size"])
    return t


def _rendered(rows: list[dict], t: dict) -> list[dict]:
    """Rows re-written with the symbol words (decimal form kept in metadata["sequence"])."""
    if t["render"] == "decimal":
        return rows
    return [
        r
        | {
            "prompt": render_symbols(parse_sequence(r["prompt"]), t["symbols"]),
            "metadata": r["metadata"] | {"sequence": r["prompt"]},
        }
        for r in rows
    ]


def feature_split(
    pair: str,
    n: int,
    evidence_rate: float,
    seed: int,
    *,
    world: dict | None = None,
    section: str | None = None,
    evidence: str = "spurious_only",
    toy: dict | None = None,
) -> list[dict]:
    """A training split (section=None; exactly round(rate·n) evidence examples) or one test
    section of a feature pair, toy or natural-language, in the common schema (task="features").
    `toy`: {vocab_size, length, render} of the toy sequences (default: the 10 digits, length 10,
    decimal); render "words" needs toy["symbols"] (`resolve_toy` with the model's directory)."""
    target, spurious = _need_world(pair, world, toy)
    if target in NL_TARGETS:
        rows = make_nl_feature_split(
            world, target, n, evidence_rate, seed, section, evidence, cue=cue_of(spurious)
        )
    else:
        t = resolve_toy(toy)
        rows = _rendered(
            make_feature_split(
                target,
                n,
                evidence_rate,
                seed,
                section,
                evidence,
                length=t["length"],
                spurious=spurious,
                vocab_size=t["vocab_size"],
            ),
            t,
        )
    return [r | {"task": FEATURES_TASK} for r in rows]


def probe_split(
    pair: str, feature: str, n: int, seed: int, *, world: dict | None = None, toy: dict | None = None
) -> list[dict]:
    """Label-balanced probing data for MDL (feature = "target" or "spurious")."""
    target, spurious = _need_world(pair, world, toy)
    if target in NL_TARGETS:
        return make_nl_probe_split(world, target, feature, n, seed, cue=cue_of(spurious))
    t = resolve_toy(toy)
    return _rendered(
        make_probe_split(
            target, feature, n, seed, length=t["length"], spurious=spurious, vocab_size=t["vocab_size"]
        ),
        t,
    )


def section_test_set(
    pair: str, n_per_section: int, seed: int, *, world: dict | None = None, toy: dict | None = None
) -> list[dict]:
    """n_per_section examples of each of the four test sections (seeded apart from training)."""
    if n_per_section < 1:
        raise ValueError(f"n_per_section must be ≥ 1, got {n_per_section}")
    return [
        r
        for s in SECTIONS
        for r in feature_split(pair, n_per_section, 0.0, seed + 7919, world=world, section=s, toy=toy)
    ]


def evidence_fraction(rows: Sequence[dict]) -> float:
    """Fraction of rows whose spurious feature and label disagree (the realised evidence rate)."""
    if not rows:
        raise ValueError("evidence_fraction: no rows")
    return sum(r["metadata"]["spurious"] != r["metadata"]["label"] for r in rows) / len(rows)


# --------------------------------------------------------------------------- probes
def make_probe(kind: str, model_dir: str, opts: dict, prompt_format: str = "raw"):
    """The probe family `kind` ("linear", "mlp" or "finetune") with options from `opts`."""
    from sahlab.inductive.probes import FinetuneProbe, LinearProbe, MLPProbe

    if kind == "linear":
        return LinearProbe(n_classes=2, l2=float(opts.get("l2", 1e-2)))
    if kind == "mlp":
        return MLPProbe(n_classes=2, hidden=int(opts.get("hidden", 64)))
    if kind == "finetune":
        return FinetuneProbe(
            str(model_dir),
            n_classes=2,
            epochs=int(opts.get("epochs", 1)),
            lr=float(opts.get("lr", 1e-4)),
            prompt_format=prompt_format,
        )
    raise ValueError(f"unknown probe {kind!r}; allowed: {list(PROBES)}")


def measure_mdl(
    model_dir: str,
    pairs: Sequence[str],
    n: int,
    probe_seeds: Sequence[int],
    data_seed: int,
    *,
    world: dict | None = None,
    probes: Sequence[str] = ("linear",),
    probe_opts: dict | None = None,
    pooling: str = "last",
    layer: int = -1,
    toy: dict | None = None,
    prompt_format: str = "raw",
) -> list[dict]:
    """Online-code MDL (bits, mean over probe seeds) of the target and the spurious feature of each
    (target, spurious) pair under the model, for each probe family, and their ratio
    relative_extractability = MDL(spurious) / MDL(target) (> 1: the target is easier).

    Linear and MLP probes read frozen representations (`extract_features` of the prompts in
    `prompt_format`, `pooling` "last" = the state the policy decides from, or "mean"); the
    fine-tuning probe trains the whole model with a linear head on the last token (Lovering's probe). One row per
    (pair, probe), with each probe's accuracy on the last online-code block (trained on the
    first half of the data, tested on the second) for Cruz et al.'s "controlled" subset.
    """
    import numpy as np
    from tqdm import tqdm

    from sahlab.inductive.probes import extract_features, mdl_over_seeds, relative_extractability

    opts = probe_opts or {}
    _check_prompt_format(prompt_format)
    toy = resolve_toy(toy, model_dir)
    rows = []
    for pair in tqdm(list(pairs), desc="MDL pairs"):
        target, spurious = check_pair_name(pair, toy)
        data = {f: probe_split(pair, f, n, data_seed, world=world, toy=toy) for f in ("target", "spurious")}
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
                        frozen[f] = extract_features(
                            model_dir,
                            texts,
                            pooling=pooling,
                            layer=layer,
                            prompt_format=prompt_format,
                            progress=False,
                        )
                    X = frozen[f]
                res[f] = mdl_over_seeds(
                    X,
                    y,
                    make_probe(probe, model_dir, opts, prompt_format),
                    2,
                    seeds=probe_seeds,
                    progress=False,
                )
            per_seed = [
                s / t for s, t in zip(res["spurious"]["per_seed_bits"], res["target"]["per_seed_bits"])
            ]
            rows.append(
                {
                    "model": Path(model_dir).name,
                    "pair": pair,
                    "target": target,
                    "spurious": spurious,
                    "probe": probe,
                    "pooling": "last" if probe == "finetune" else pooling,
                    "n": n,
                    "mdl_target": res["target"]["mean_bits"],
                    "mdl_target_std": res["target"]["std_bits"],
                    "mdl_spurious": res["spurious"]["mean_bits"],
                    "mdl_spurious_std": res["spurious"]["std_bits"],
                    "uniform_bits": res["target"]["uniform_bits"],
                    "acc_target": res["target"]["mean_final_accuracy"],
                    "acc_spurious": res["spurious"]["mean_final_accuracy"],
                    "relative_extractability": relative_extractability(res["spurious"], res["target"]),
                    "relative_extractability_per_seed": per_seed,
                    "probe_seeds": list(probe_seeds),
                    "seconds": round(time.perf_counter() - t0, 2),
                }
            )
            log.info(
                "MDL %s (%s): target %.1f bits (acc %.2f), spurious %.1f bits (acc %.2f), ratio %.3f",
                pair,
                probe,
                rows[-1]["mdl_target"],
                rows[-1]["acc_target"],
                rows[-1]["mdl_spurious"],
                rows[-1]["acc_spurious"],
                rows[-1]["relative_extractability"],
            )
    return rows


def _check_prompt_format(prompt_format: str) -> None:
    if prompt_format not in PROMPT_FORMATS:
        raise ValueError(
            f"inductive prompt_format {prompt_format!r} unknown; allowed: {list(PROMPT_FORMATS)}"
        )


# --------------------------------------------------------------------------- fine-tuning
def predict_decisions(
    model_dir: str, rows: Sequence[dict], batch_size: int = 64, prompt_format: str = "raw"
) -> list[int]:
    """The model's label for each prompt (in `prompt_format`): whichever of the one-token answers
    "1" and "0" it finds more likely (the action space RL samples from, `hparams.actions`)."""
    from sahlab.eval.generate import render_prompts, sequence_logprobs
    from sahlab.models.registry import load_model, load_tokenizer

    model, tokenizer = load_model(model_dir).eval(), load_tokenizer(model_dir)
    prompts = render_prompts(tokenizer, [r["prompt"] for r in rows], prompt_format)
    scores = sequence_logprobs(
        model, tokenizer, [(p, a) for p in prompts for a in ("1", "0")], batch_size=batch_size, progress=False
    )
    return [int(scores[2 * i].sum() >= scores[2 * i + 1].sum()) for i in range(len(rows))]


def reward_trajectory(log_history: Sequence[dict], key: str = "reward") -> list[list[float]]:
    """[[step, value], …] of a logged RL statistic from a TRL log history (RL runs only): by
    default the mean sampled training reward; "frac_reward_zero_std" is the share of prompts
    whose samples all earned the same reward, which give GRPO no learning signal."""
    return [
        [int(e.get("step", 0)), float(e[key])] for e in log_history if isinstance(e.get(key), (int, float))
    ]


def finetune_over_rates(
    model_dir: str,
    pair: str,
    method: str,
    seed: int,
    rates: Sequence[float],
    n_train: int,
    n_test_per_section: int,
    hparams: dict,
    *,
    data_seed: int,
    world: dict | None = None,
    toy: dict | None = None,
    converged_at: float = 0.95,
    evidence: str = "spurious_only",
    threads: int = 1,
    work_root: str | None = None,
    prompt_format: str = "raw",
) -> list[dict]:
    """Fine-tune `model_dir` once per evidence rate (each run starts from the same pre-trained
    model) and measure per-section metrics and feature use on one shared test set.

    method: "grpo"/"rloo" (reward = the features scorer's per-example value against the target
    label) or "sft". Training data for rate r: `feature_split(pair, n_train, r, data_seed + seed)`,
    so seeds differ in data as well as in training randomness; the evidence rows are of kind
    `evidence` ("spurious_only" = Lovering's weak counter-examples, "target_only", or "mixed" =
    half each, which keeps the labels balanced). Returns one row per rate, with
    `train_accuracy`: the reward the trained policy's decision (the likelier of "1"/"0") earns on
    its own training rows, and `converged` = train_accuracy ≥ `converged_at`; RL rows also hold
    the sampled training reward per logging step (`train_reward_trajectory`). `work_root`: the
    job's output path, beside which the fine-tuned models are kept while measured.
    """
    from sahlab.inductive.features_stats import feature_use, section_metrics
    from sahlab.train import train

    if method not in FT_METHODS:
        raise ValueError(f"unknown fine-tuning method {method!r}; allowed: {list(FT_METHODS)}")
    _check_prompt_format(prompt_format)
    target, spurious = check_pair_name(pair, toy)
    toy = resolve_toy(toy, model_dir)
    tests = section_test_set(pair, n_test_per_section, data_seed, world=world, toy=toy)
    hp = {**hparams, "prompt_format": prompt_format}
    out = []
    for rate in rates:
        rows = feature_split(pair, n_train, rate, data_seed + seed, world=world, toy=toy, evidence=evidence)
        t0 = time.perf_counter()
        # Scratch beside the job's output (`work_root`) when given, else in the temp dir.
        with (
            work_dir(work_root, "inductive-work")
            if work_root
            else tempfile.TemporaryDirectory(prefix="sahlab-inductive-")
        ) as tmp:
            summary = train(
                model_dir, rows, method, hp, seed, f"{tmp}/model", threads=threads, stage="inductive"
            )
            history = json.loads(Path(f"{tmp}/model/train_log.json").read_text())["log_history"]
            preds = predict_decisions(f"{tmp}/model", tests + rows, prompt_format=prompt_format)
        test_preds, train_preds = preds[: len(tests)], preds[len(tests) :]
        train_acc = sum(p == r["metadata"]["label"] for p, r in zip(train_preds, rows)) / len(rows)
        metrics = section_metrics([r["metadata"]["section"] for r in tests], test_preds)
        use = feature_use(metrics)
        traj = reward_trajectory(history)
        zero = reward_trajectory(history, "frac_reward_zero_std")
        row = {
            "model": Path(model_dir).name,
            "pair": pair,
            "target": target,
            "spurious": spurious,
            "method": method,
            "seed": seed,
            "rate": float(rate),
            "evidence": evidence,
            "n_train": n_train,
            "n_evidence": sum(r["metadata"]["spurious"] != r["metadata"]["label"] for r in rows),
            **use,
            "s_only_error": use["spurious_use"],
            "t_only_error": 1 - use["target_use"],
            "train_accuracy": train_acc,
            "converged": bool(train_acc >= converged_at),
            "seconds": round(time.perf_counter() - t0, 2),
            "train_steps": summary.get("steps"),
            "train_seconds": summary.get("seconds"),
            "train_reward_first": traj[0][1] if traj else None,
            "train_reward_last": traj[-1][1] if traj else None,
            "train_reward_trajectory": traj,
            "train_frac_zero_std_last": (zero[-1][1] if zero else None),
            "train_loss_last": summary.get("loss_last"),
        }
        for sec, m in metrics.items():
            for k in ("accuracy", "f1", "invalid_rate"):
                row[f"{sec}_{k}"] = m[k]
        out.append(row)
        log.info(
            "%s %s seed %d rate %g: s-only err %.2f, t-only err %.2f, train acc %.3f, "
            "reward %s -> %s (%.1f s)",
            pair,
            method,
            seed,
            rate,
            row["s_only_error"],
            row["t_only_error"],
            train_acc,
            row["train_reward_first"],
            row["train_reward_last"],
            row["seconds"],
        )
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
