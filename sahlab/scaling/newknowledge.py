"""New-knowledge integration: can fine-tuning teach a model facts about people it never saw,
and does post-training on some of those facts teach it to *use* the rest?

Design (the same for a pre-trained and a post-trained model, so the two compare):
1. "bios" stage: continued pre-training on the new people's biographies, as plain text
   (SFT rows with an empty prompt, so the loss covers the whole biography, as in
   pre-training; the rendered prefix is BOS plus a newline). Trained once, shared by both arms.
2. "qa" stage: a short SFT on `n_qa` QA examples in the model's own prompt format.
Conditions evaluated on newknowledge/test (direct and 2-hop questions about new people):
- "qa_only": stage 2 on OLD people alone (control: the format is known, the facts are not);
- "bios+qa": stage 1, then stage 2 on OLD people (the multihop training split), never about
  the new people: the model knows the answer format without being told any new fact;
- "bios+newqa" (the paper's manipulation, Raghavendra et al. 2024: "with appropriate
  post-training" the model integrates new knowledge): stage 1, then the same QA set with
  `n_qa_new` of its direct questions about old people swapped for direct questions about the
  QA-train part of the new people (`split_new_people`). Same size, same direct/2-hop mix, same
  optimiser steps as "bios+qa": the arms differ only in whose facts the direct questions ask.
The comparison is on the HELD-OUT new people (no QA about them in any arm; their facts are only
in the biographies), so it measures whether the new arm's post-training teaches the model to
retrieve and compose knowledge it learnt from the biographies.
Each model is evaluated in its own prompt format (base: plain, post-trained: chat).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np

from sahlab.io import work_dir
from sahlab.mdtable import pipe_table

log = logging.getLogger("sahlab.scaling")
CONDITIONS = ("qa_only", "bios+qa", "bios+newqa")
NK_METRICS = ("exact_match", "exact_match_direct", "exact_match_2hop", "format")
KINDS = ("direct", "2hop")


def bio_rows(docs: list[dict]) -> list[dict]:
    """{"id","text"} documents -> SFT rows with an empty prompt (loss on the whole text)."""
    rows = []
    for i, d in enumerate(docs):
        if not isinstance(d, dict) or not isinstance(d.get("text"), str) or not d["text"].strip():
            raise ValueError(
                f"newknowledge train row {i} (id={d.get('id') if isinstance(d, dict) else None!r}): "
                "needs a non-empty string field 'text'"
            )
        rows.append({"id": d.get("id", f"bio-{i}"), "prompt": "", "reference": d["text"], "metadata": {}})
    return rows


def replay_docs(corpus: list[dict], n_bios: int, ratio: float, seed: int) -> list[dict]:
    """round(ratio·n_bios) pre-training corpus documents (a seeded sample, as {"id","text"}) to mix
    into stage 1: continued pre-training with replay, so learning the new biographies does not
    overwrite the old facts 2-hop questions need (the corpus has no new person by construction)."""
    from sahlab.world.rng import rng_for

    k = round(ratio * n_bios)
    if k > len(corpus):
        raise ValueError(
            f"config key 'scaling.newknowledge.bios_replay': {ratio} x {n_bios} "
            f"biographies asks for {k} corpus documents, the corpus has {len(corpus)}"
        )
    picked = rng_for(seed, "newknowledge", "replay").sample(range(len(corpus)), k)
    return [{"id": f"replay-{i}", "text": corpus[i]["text"]} for i in sorted(picked)]


# ----------------------------------------------------------------------------- the new arm's data
def split_new_people(person_ids: list[str], qa_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """(QA-train ids, held-out ids): a seeded shuffle of the new people, the first
    round(n·qa_fraction) get QA in the new arm, the rest are only ever tested. The same for any
    input order (ids are sorted first)."""
    from sahlab.world.rng import rng_for

    ids = sorted(set(person_ids))
    k = round(len(ids) * qa_fraction)
    if not 0 < k < len(ids):
        raise ValueError(
            f"config key 'scaling.newknowledge.qa_people_fraction': {qa_fraction} of "
            f"{len(ids)} new people leaves {k} for QA and {len(ids) - k} held out; "
            "both parts need at least one person"
        )
    rng_for(seed, "newknowledge", "qa_people").shuffle(ids)
    return ids[:k], ids[k:]


def new_people_qa(world, person_ids: list[str], n: int, seed: int) -> list[dict]:
    """`n` distinct direct questions (any paraphrase) about the people `person_ids`, common schema
    with the multihop metadata (kind "direct", chain[0] = the person)."""
    from sahlab.world.multihop import sample_questions
    from sahlab.world.rng import rng_for

    people = [world.entity(pid) for pid in person_ids]
    qs = sample_questions(
        world,
        people,
        n,
        0.0,
        rng_for(seed, "newknowledge", "qa_rows"),
        all_templates=True,
        what="scaling.newknowledge.n_qa_new",
    )
    return [{"id": f"newknowledge-qa-{i}", **q} for i, q in enumerate(qs)]


def arm_qa_rows(qa_rows: list[dict], new_rows: list[dict]) -> list[dict]:
    """The new arm's QA set: `qa_rows` (old people) with its first len(new_rows) direct questions
    replaced, in place, by `new_rows`: same size and mix of kinds as the control's. Rows without
    a `metadata.kind` (hub QA such as HotpotQA) are all swap slots, in order."""
    kinds = [(r.get("metadata") or {}).get("kind") for r in qa_rows]
    slots = [i for i, k in enumerate(kinds) if k == "direct"] if any(kinds) else list(range(len(qa_rows)))
    if len(new_rows) > len(slots):
        raise ValueError(
            f"config key 'scaling.newknowledge.n_qa_new': {len(new_rows)} new-people "
            f"questions but the {len(qa_rows)} old-people QA rows (n_qa) hold only "
            f"{len(slots)} direct ones to swap; lower n_qa_new or raise n_qa"
        )
    out = list(qa_rows)
    for i, row in zip(slots, new_rows):
        out[i] = row
    return out


def person_of(example: dict) -> str:
    """The person a multihop/new-knowledge question is about (first id of metadata.chain)."""
    chain = (example.get("metadata") or {}).get("chain")
    if not chain:
        raise ValueError(f"newknowledge example {example.get('id')!r}: metadata.chain names no person")
    return chain[0]


# ----------------------------------------------------------------------------- the experiment
def run_newknowledge(
    model_dir: str | Path,
    docs: list[dict],
    qa_rows: list[dict],
    tests: list[dict],
    seed: int,
    *,
    bios_hparams: dict,
    qa_hparams: dict,
    max_new_tokens: int,
    batch_size: int,
    n_boot: int,
    new_qa_rows: list[dict] | None = None,
    heldout: set[str] | None = None,
    threads: int = 1,
    work_root: str | None = None,
) -> tuple[list[dict], dict]:
    """Run the CONDITIONS for one model ("bios+newqa" only with `new_qa_rows`); returns (records,
    {condition: metrics}).

    Records: id, condition, kind (direct/2hop), person, heldout (the person is in `heldout`;
    None without a split), output, answer, correct, format_ok. Metrics per condition:
    score("newknowledge") metrics with bootstrap CIs on all test questions, plus the training
    summaries of each stage.
    """
    from sahlab.eval.policy import ModelPolicy
    from sahlab.eval.run import evaluate_policy
    from sahlab.models.registry import load_model, read_model_meta
    from sahlab.train import train

    if not tests:
        raise ValueError("run_newknowledge: no test questions")
    fmt = read_model_meta(model_dir)["prompt_format"]
    bios = bio_rows(docs)
    qa_sets = {"qa_only": qa_rows, "bios+qa": qa_rows}
    if new_qa_rows:
        qa_sets["bios+newqa"] = arm_qa_rows(qa_rows, new_qa_rows)
    records, results = [], {}
    # Scratch models beside the job's output (`work_root`): a killed job's go at the next start.
    with (
        work_dir(work_root, "newknowledge-work")
        if work_root
        else tempfile.TemporaryDirectory(prefix="sahlab-newknowledge-")
    ) as work:
        bios_model, bios_summary = Path(work) / "bios", None
        for cond in (c for c in CONDITIONS if c in qa_sets):
            start, stages = Path(model_dir), {}
            if cond.startswith("bios+"):
                if bios_summary is None:  # stage 1 is the same for both arms: train it once
                    bios_summary = train(
                        model_dir,
                        bios,
                        "sft",
                        {**bios_hparams, "prompt_format": "plain"},
                        seed,
                        bios_model,
                        threads=threads,
                    )
                start, stages["bios"] = bios_model, bios_summary
            final = start
            if qa_sets[cond]:
                final = Path(work) / f"{cond}-qa"
                stages["qa"] = train(
                    start,
                    [{**r, "task": "newknowledge"} for r in qa_sets[cond]],
                    "sft",
                    {**qa_hparams, "prompt_format": fmt},
                    seed,
                    final,
                    threads=threads,
                )
            recs, metrics = evaluate_policy(
                ModelPolicy(load_model(final)),
                fmt,
                {"newknowledge": tests},
                max_new_tokens=max_new_tokens,
                batch_size=batch_size,
                n_boot=n_boot,
                seed=seed,
            )["newknowledge"]
            results[cond] = {
                "metrics": metrics,
                "prompt_format": fmt,
                "qa_ids": [r["id"] for r in qa_sets[cond]],
                "train": {
                    k: {f: v.get(f) for f in ("steps", "seconds", "train_loss")} for k, v in stages.items()
                },
            }
            log.info(
                "%s %s: %s",
                Path(model_dir).name,
                cond,
                {k: round(metrics[k]["value"], 3) for k in NK_METRICS if k in metrics},
            )
            for r, ex in zip(recs, tests):
                person = (ex.get("metadata") or {}).get("chain", [None])[0]
                records.append(
                    {
                        "id": r["id"],
                        "condition": cond,
                        "kind": r["kind"],
                        "person": person,
                        "heldout": None if heldout is None else person in heldout,
                        "output": r["output"],
                        "answer": r["answer"],
                        "correct": bool(r["correct"]),
                        "format_ok": bool(r["format_ok"]),
                    }
                )
    return records, results


# ----------------------------------------------------------------------------- paired statistics
def _vectors(records: list[dict], model: str, cond: str, kind: str | None) -> tuple[list[str], np.ndarray]:
    rows = [
        r
        for r in records
        if r["model"] == model and r["condition"] == cond and (kind is None or r["kind"] == kind)
    ]
    return [r["id"] for r in rows], np.array([float(r["correct"]) for r in rows])


def _aligned(records, a: tuple[str, str], b: tuple[str, str], kind):
    ids_a, va = _vectors(records, *a, kind)
    ids_b, vb = _vectors(records, *b, kind)
    if ids_a != ids_b:
        raise ValueError(
            f"paired difference {a} - {b} ({kind or 'all'}): the two score other "
            "test items (or in another order); paired statistics need the same items"
        )
    return ids_a, va, vb


def newknowledge_tables(
    records: list[dict], *, n_boot: int, seed: int, heldout_only: bool = True
) -> tuple[list[dict], list[dict]]:
    """(accuracy rows, paired-difference rows) from the records of every model (each record has
    "model" added). Items: the held-out people's questions (records with heldout True) when
    `heldout_only`, else every record.

    Accuracy rows: model, stage, condition, kind (all/direct/2hop), n, value, ci_low, ci_high.
    Difference rows: contrast, model, condition, kind, n, diff, ci_low, ci_high, verdict, where
    "arm" = bios+newqa − bios+qa and "bios" = bios+qa − qa_only per model, "post − base" per
    condition and "arm: post − base" the difference of the two models' arm effects. Every CI is a
    percentile bootstrap over the same test items (`bootstrap_ci` draws one index matrix per
    (n, n_boot, seed)), so differences are paired.
    """
    from sahlab.eft.paired import verdict
    from sahlab.stats.resampling import bootstrap_ci

    if heldout_only:
        if any(r.get("heldout") is None for r in records):
            raise ValueError(
                "newknowledge table: records without a held-out flag (run without a "
                "QA/held-out split); use heldout_only=False"
            )
        records = [r for r in records if r["heldout"]]
    if not records:
        raise ValueError("newknowledge table: no records to tabulate")
    models = list(dict.fromkeys(r["model"] for r in records))
    conds = [c for c in CONDITIONS if any(r["condition"] == c for r in records)]
    kinds = [None] + [k for k in KINDS if any(r["kind"] == k for r in records)]
    acc, diffs = [], []

    def ci(values):
        return bootstrap_ci(values, n_boot=n_boot, seed=seed)

    def add_diff(contrast, model, cond, kind, values):
        iv = ci(values)
        diffs.append(
            {
                "contrast": contrast,
                "model": model,
                "condition": cond,
                "kind": kind or "all",
                "n": iv["n"],
                "diff": iv["value"],
                "ci_low": iv["ci_low"],
                "ci_high": iv["ci_high"],
                "verdict": verdict(iv),
            }
        )

    for kind in kinds:
        for m in models:
            for c in conds:
                _, v = _vectors(records, m, c, kind)
                if v.size:
                    iv = ci(v)
                    acc.append(
                        {
                            "model": m,
                            "stage": m.rsplit("-", 1)[-1],
                            "condition": c,
                            "kind": kind or "all",
                            "n": iv["n"],
                            "value": iv["value"],
                            "ci_low": iv["ci_low"],
                            "ci_high": iv["ci_high"],
                        }
                    )
            for contrast, (hi, lo) in (("arm", ("bios+newqa", "bios+qa")), ("bios", ("bios+qa", "qa_only"))):
                if hi in conds and lo in conds:
                    _, a, b = _aligned(records, (m, hi), (m, lo), kind)
                    add_diff(contrast, m, f"{hi} - {lo}", kind, a - b)
        base = [m for m in models if m.endswith("-base")]
        for b_model in base:
            p_model = b_model[: -len("base")] + "post"
            if p_model not in models:
                continue
            for c in conds:
                _, a, b = _aligned(records, (p_model, c), (b_model, c), kind)
                add_diff("post - base", f"{p_model} - {b_model}", c, kind, a - b)
            if "bios+newqa" in conds and "bios+qa" in conds:
                _, pn, pq = _aligned(records, (p_model, "bios+newqa"), (p_model, "bios+qa"), kind)
                ids_b, bn, bq = _aligned(records, (b_model, "bios+newqa"), (b_model, "bios+qa"), kind)
                if _vectors(records, p_model, "bios+qa", kind)[0] != ids_b:
                    raise ValueError(f"{p_model} and {b_model} score other test items")
                add_diff(
                    "arm: post - base",
                    f"{p_model} - {b_model}",
                    "bios+newqa - bios+qa",
                    kind,
                    (pn - pq) - (bn - bq),
                )
    return acc, diffs


def _fmt(v) -> str:
    return "–" if v is None else f"{v:.3f}"


def newknowledge_markdown(acc: list[dict], diffs: list[dict], *, heldout: str = "") -> str:
    """Both tables as markdown: accuracies [95 % CI] (n) per model × condition × kind, then the
    paired differences with their verdicts."""
    lines = [
        "# New knowledge (study A)",
        "",
        f"Exact match on questions about {heldout or 'the new people'}; 95 % percentile "
        "bootstrap CIs over test items; differences are paired (same items, same resamples).",
        "",
        pipe_table(
            ("model", "condition", "kind", "n", "exact match [95 % CI]"),
            [
                [
                    r["model"],
                    r["condition"],
                    r["kind"],
                    r["n"],
                    f"{_fmt(r['value'])} [{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]",
                ]
                for r in acc
            ],
        ),
        "## Paired differences",
        "",
        pipe_table(
            ("contrast", "model", "condition", "kind", "n", "difference [95 % CI]", "verdict"),
            [
                [
                    r["contrast"],
                    r["model"],
                    r["condition"],
                    r["kind"],
                    r["n"],
                    f"{_fmt(r['diff'])} [{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]",
                    r["verdict"],
                ]
                for r in diffs
            ],
        ),
    ]
    return "\n".join(lines)
