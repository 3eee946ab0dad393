"""Verifiable rewards for RL post-training (GRPO/RLOO) and for checking preference pairs.

One reward per task, each in [0, 1]:

* math — 1 if the first number after the last ``####`` equals ``metadata["answer"]``
  (commas ignored, compared as decimals so ``12`` == ``12.0``), else 0;
* instructions — the fraction of the row's IFEval instructions that `sahlab.ifeval.check`
  passes (strict; ids it cannot check, such as the response language, are left out);
* multihop — normalised exact match (SQuAD normalisation: lower case, no punctuation, no
  articles, single spaces) of the whole completion against ``metadata["answer"]``;
* translation — sentence chrF / 100 (sacrebleu) against the reference.

A row's task is its ``task`` field, else ``metadata["task"]``, else inferred from the metadata
keys that docs/interfaces.md fixes per task (see `infer_task`).
"""
from __future__ import annotations

import json
import re
import string
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from sahlab.models.prompting import strip_answer_prefix

# "features": study D's binary feature-classification rows (reference "0"/"1").
TASKS = ("math", "instructions", "multihop", "translation", "features")

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def infer_task(example: dict) -> str:
    """The task of a common-schema row: explicit ``task``/``metadata.task``, else from its metadata."""
    meta = example.get("metadata") or {}
    task = example.get("task") or meta.get("task")
    if task is None:
        if "instruction_id_list" in meta:
            task = "instructions"
        elif "tgt_lang" in meta or "src_lang" in meta:
            task = "translation"
        elif "hops" in meta or "kind" in meta:
            task = "multihop"
        elif "answer" in meta and "####" in str(example.get("reference", "")):
            task = "math"
    if task not in TASKS:
        raise ValueError(f"row id={example.get('id')!r}: cannot tell its task (got {task!r}); give a "
                         f"'task' field in {list(TASKS)} or task metadata as in docs/interfaces.md")
    return task


def parse_number(text: str) -> Decimal | None:
    """The first number in `text` as a Decimal (thousands commas dropped), or None."""
    m = _NUMBER.search(text)
    if not m:
        return None
    try:
        return Decimal(m.group(0).replace(",", ""))
    except InvalidOperation:
        return None


def final_answer(completion: str) -> Decimal | None:
    """The number after the last ``####`` of a worked solution, or None if there is none."""
    if "####" not in completion:
        return None
    return parse_number(completion.rsplit("####", 1)[1])


def math_reward(completion: str, metadata: dict) -> float:
    answer = parse_number(str(metadata.get("answer", "")))
    if answer is None:
        raise ValueError(f"math metadata needs a numeric 'answer', got {metadata.get('answer')!r}")
    got = final_answer(completion)
    return float(got is not None and got == answer)


def instructions_reward(completion: str, metadata: dict, prompt: str = "") -> float:
    """Fraction of the row's checkable instructions that pass; ids sahlab cannot check
    (`sahlab.ifeval.UNSUPPORTED_IDS`, e.g. response language) are left out of the fraction."""
    from sahlab.ifeval import UNSUPPORTED_IDS, check

    ids = metadata.get("instruction_id_list")
    kwargs = metadata.get("kwargs") or [{}] * len(ids or [])
    if not ids or len(kwargs) != len(ids):
        raise ValueError("instructions metadata needs a non-empty 'instruction_id_list' and a "
                         f"'kwargs' list of the same length, got {metadata!r}")
    pairs = [(i, kw) for i, kw in zip(ids, kwargs) if i not in UNSUPPORTED_IDS]
    if not pairs:
        raise ValueError(f"instructions row has only unsupported instruction ids {ids}")
    return sum(check(i, kw, completion, prompt) for i, kw in pairs) / len(pairs)


def normalize_answer(text: str) -> str:
    """SQuAD answer normalisation: lower case, drop punctuation and articles, collapse spaces."""
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    return " ".join(_ARTICLES.sub(" ", text).split())


def multihop_reward(completion: str, metadata: dict) -> float:
    if "answer" not in metadata:
        raise ValueError(f"multihop metadata needs 'answer', got keys {sorted(metadata)}")
    return float(normalize_answer(completion) == normalize_answer(str(metadata["answer"])))


def translation_reward(completion: str, reference: str) -> float:
    from sacrebleu.metrics import CHRF

    return CHRF().sentence_score(completion.strip(), [reference.strip()]).score / 100.0


def parse_decision(completion: str) -> int:
    """1 or 0 if the completion's first whitespace-separated token is exactly "1"/"0", else -1."""
    if not isinstance(completion, str):
        raise ValueError(f"completion must be a string, got {type(completion).__name__}")
    head = completion.split()
    return int(head[0]) if head and head[0] in ("0", "1") else -1


def features_reward(completion: str, reference: str) -> float:
    """1.0 if the decision in `completion` equals the reference label "1"/"0", else 0.0
    (an unparseable completion earns 0, like a wrong label)."""
    if reference not in ("0", "1"):
        raise ValueError(f"features reference must be '0' or '1', got {reference!r}")
    return float(parse_decision(completion) == int(reference))


def task_reward(task: str, completion: str, metadata: dict, reference: str = "",
                prompt: str = "") -> float:
    """The verifiable reward in [0, 1] of one completion for a row of `task`."""
    if task == "math":
        return math_reward(completion, metadata)
    if task == "instructions":
        return instructions_reward(completion, metadata, prompt)
    if task == "multihop":
        return multihop_reward(completion, metadata)
    if task == "translation":
        return translation_reward(completion, reference)
    if task == "features":
        return features_reward(completion, reference)
    raise ValueError(f"unknown task {task!r}; allowed: {list(TASKS)}")


def example_reward(example: dict, completion: str) -> float:
    """`task_reward` for a common-schema row (its task inferred as in `infer_task`)."""
    return task_reward(infer_task(example), completion, example.get("metadata") or {},
                       example.get("reference", ""), example.get("prompt", ""))


def trl_reward_func(answer_prefix: str = "") -> Callable[..., list[float]]:
    """A TRL reward function (GRPO/RLOO): called with the generated `completions` and the
    dataset columns `task`, `metadata_json`, `reference`, `raw_prompt` as lists, one per completion.
    The chat template's `answer_prefix` is stripped first, as the evaluation harness does.
    """
    def verifiable(completions: list, task: list[str], metadata_json: list[str],
                   reference: list[str], raw_prompt: list[str], **_: Any) -> list[float]:
        out = []
        for completion, t, meta, ref, prompt in zip(completions, task, metadata_json, reference,
                                                     raw_prompt):
            if not isinstance(completion, str):  # conversational completions: [{"role", "content"}]
                completion = completion[-1]["content"]
            completion = strip_answer_prefix(completion, answer_prefix)
            out.append(task_reward(t, completion, json.loads(meta), ref, prompt))
        return out

    return verifiable
