"""Verifiable rewards for RL post-training (GRPO/RLOO) and for checking preference pairs.

A reward is the task scorer's own per-example value (`sahlab.eval.scorers.REWARD_KEY`), computed
by the very function that scores evaluations, so RL optimises what the tables report: math and
multihop exact match (`correct`), translation sentence chrF / 100 of the first line (`correct`),
instructions the fraction of the row's IFEval instructions followed, strictly
(`instruction_strict`), coding the share of hidden tests the program passes (the tiny
language; Python: whether it passes all), features the share of
the answer's 0/1 tokens equal to the label (for a one-token answer: its correctness). There is no
second answer parser.

A row's task is its ``task`` field, else ``metadata["task"]``, else inferred from the metadata
keys that docs/interfaces.md fixes per task (see `infer_task`).
"""

from __future__ import annotations

import json
from typing import Any, Callable, Sequence

from sahlab.eval.scorers import REWARD_KEY, parse_decision, score  # noqa: F401  (re-exported)
from sahlab.models.prompting import strip_answer_prefix

REWARD_TASKS = tuple(REWARD_KEY)


def infer_task(example: dict) -> str:
    """The task of a common-schema row: explicit ``task``/``metadata.task``, else from its metadata."""
    meta = example.get("metadata") or {}
    task = example.get("task") or meta.get("task")
    if task is None:
        if "instruction_id_list" in meta:
            task = "instructions"
        elif "tgt_lang" in meta or "src_lang" in meta:
            task = "translation"
        elif "harness" in meta or meta.get("language") == "tiny":
            task = "coding"
        elif "hops" in meta or "kind" in meta:
            task = "multihop"
        elif "answer" in meta and "####" in str(example.get("reference", "")):
            task = "math"
    if task not in REWARD_TASKS:
        raise ValueError(
            f"row id={example.get('id')!r}: cannot tell its task (got {task!r}); give a "
            f"'task' field in {list(REWARD_TASKS)} or task metadata as in docs/interfaces.md"
        )
    return task


def task_rewards(task: str, completions: Sequence[str], examples: Sequence[dict]) -> list[float]:
    """The reward in [0, 1] of each completion (task form) for its row: the scorer's value."""
    records, _ = score(task, list(completions), list(examples), n_boot=0)
    return [float(r[REWARD_KEY[task]]) for r in records]


def example_reward(example: dict, completion: str) -> float:
    """`task_rewards` of one completion for a common-schema row (task as in `infer_task`)."""
    return task_rewards(infer_task(example), [completion], [example])[0]


def trl_reward_func(
    answer_prefix: str = "", to_task_form: Callable[[str, str], str] | None = None
) -> Callable[..., list[float]]:
    """A TRL reward function (GRPO/RLOO): called with the generated `completions` and the
    dataset columns `task`, `metadata_json`, `reference`, `raw_prompt` as lists, one per completion.
    Completions are read back as the evaluation harness reads them — the chat template's
    `answer_prefix` stripped, or `to_task_form(task, text)` for a native-format policy — and
    scored in one batch per task.
    """

    def verifiable(
        completions: list,
        task: list[str],
        metadata_json: list[str],
        reference: list[str],
        raw_prompt: list[str],
        **_: Any,
    ) -> list[float]:
        texts = []
        for completion, t in zip(completions, task):
            if not isinstance(completion, str):  # conversational completions: [{"role", "content"}]
                completion = completion[-1]["content"]
            texts.append(
                to_task_form(t, completion)
                if to_task_form
                else strip_answer_prefix(completion, answer_prefix)
            )
        rows = [
            {"id": f"rollout-{i}", "prompt": p, "reference": r, "metadata": json.loads(m)}
            for i, (p, r, m) in enumerate(zip(raw_prompt, reference, metadata_json))
        ]
        out = [0.0] * len(texts)
        for t in dict.fromkeys(task):
            idx = [i for i, ti in enumerate(task) if ti == t]
            for i, r in zip(idx, task_rewards(t, [texts[i] for i in idx], [rows[i] for i in idx])):
                out[i] = r
        return out

    return verifiable
