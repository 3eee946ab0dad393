"""New-knowledge integration: can fine-tuning teach a model facts about people it never saw?

Design (the same for a pre-trained and a post-trained model, so the two compare):
1. "bios" stage: continued pre-training on the new people's biographies, as plain text
   (SFT rows with an empty prompt, so the loss covers the whole biography, as in
   pre-training; the rendered prefix is BOS plus a newline).
2. "qa" stage: a short SFT on `n_qa` QA examples about OLD people (the multihop training
   split, never about the new people), rendered in the model's own prompt format, so the
   model knows the answer format without being told any new fact.
Conditions evaluated on newknowledge/test (direct and 2-hop questions about new people):
- "qa_only": stage 2 alone (control: the format is known, the facts are not);
- "bios+qa": stage 1 then stage 2.
Each model is evaluated in its own prompt format (base: plain, post-trained: chat).
"""
from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from sahlab.io import work_dir

log = logging.getLogger("sahlab.scaling")
CONDITIONS = ("qa_only", "bios+qa")
NK_METRICS = ("exact_match", "exact_match_direct", "exact_match_2hop", "format")


def bio_rows(docs: list[dict]) -> list[dict]:
    """{"id","text"} documents -> SFT rows with an empty prompt (loss on the whole text)."""
    rows = []
    for i, d in enumerate(docs):
        if not isinstance(d, dict) or not isinstance(d.get("text"), str) or not d["text"].strip():
            raise ValueError(f"newknowledge train row {i} (id={d.get('id') if isinstance(d, dict) else None!r}): "
                             "needs a non-empty string field 'text'")
        rows.append({"id": d.get("id", f"bio-{i}"), "prompt": "", "reference": d["text"],
                     "metadata": {}})
    return rows


def run_newknowledge(model_dir: str | Path, docs: list[dict], qa_rows: list[dict],
                     tests: list[dict], seed: int, *, bios_hparams: dict, qa_hparams: dict,
                     max_new_tokens: int, batch_size: int, n_boot: int,
                     threads: int = 1, work_root: str | None = None) -> tuple[list[dict], dict]:
    """Run both CONDITIONS for one model; returns (records, {condition: metrics}).

    Records: id, condition, kind (direct/2hop), output, answer, correct, format_ok.
    Metrics per condition: score("newknowledge") metrics with bootstrap CIs, plus the
    training summaries of each stage.
    """
    from sahlab.eval.policy import ModelPolicy
    from sahlab.eval.run import evaluate_policy
    from sahlab.models.registry import load_model, read_model_meta
    from sahlab.train import train

    if not tests:
        raise ValueError("run_newknowledge: no test questions")
    fmt = read_model_meta(model_dir)["prompt_format"]
    bios = bio_rows(docs)
    records, results = [], {}
    # Scratch models beside the job's output (`work_root`): a killed job's go at the next start.
    with (work_dir(work_root, "newknowledge-work") if work_root else
          tempfile.TemporaryDirectory(prefix="sahlab-newknowledge-")) as work:
        for cond in CONDITIONS:
            start, stages = Path(model_dir), {}
            if cond == "bios+qa":
                start = Path(work) / "bios"
                stages["bios"] = train(model_dir, bios, "sft",
                                       {**bios_hparams, "prompt_format": "plain"}, seed, start,
                                       threads=threads)
            final = start
            if qa_rows:
                final = Path(work) / f"{cond}-qa"
                stages["qa"] = train(start, [{**r, "task": "newknowledge"} for r in qa_rows], "sft",
                                     {**qa_hparams, "prompt_format": fmt}, seed, final,
                                     threads=threads)
            recs, metrics = evaluate_policy(
                ModelPolicy(load_model(final)), fmt, {"newknowledge": tests},
                max_new_tokens=max_new_tokens, batch_size=batch_size, n_boot=n_boot,
                seed=seed)["newknowledge"]
            results[cond] = {"metrics": metrics, "prompt_format": fmt,
                             "train": {k: {f: v.get(f) for f in ("steps", "seconds", "train_loss")}
                                       for k, v in stages.items()}}
            log.info("%s %s: %s", Path(model_dir).name, cond,
                     {k: round(metrics[k]["value"], 3) for k in NK_METRICS if k in metrics})
            records += [{"id": r["id"], "condition": cond, "kind": r["kind"], "output": r["output"],
                         "answer": r["answer"], "correct": bool(r["correct"]),
                         "format_ok": bool(r["format_ok"])} for r in recs]
    return records, results


def newknowledge_table(results: dict[str, dict]) -> list[dict]:
    """{model: run_newknowledge results} -> long rows: model, stage, condition, metric, value,
    ci_low, ci_high (metrics in NK_METRICS that exist)."""
    rows = []
    for model, res in results.items():
        stage = model.rsplit("-", 1)[-1]
        for cond, r in res.items():
            for m in NK_METRICS:
                if m in r["metrics"]:
                    v = r["metrics"][m]
                    rows.append({"model": model, "stage": stage, "condition": cond, "metric": m,
                                 "value": v["value"], "ci_low": v["ci_low"],
                                 "ci_high": v["ci_high"]})
    return rows
