"""The coding task: write a one-line function in the tiny language (`tinylang`) from an English
description and two input/output examples — a HumanEval-sized problem ("docstring + examples ->
function body", checked by hidden tests) at the scale of a ~1M-parameter model.

A problem is a chain of ``min_steps``..``max_steps`` steps (drawn with ``step_weights``, or
uniformly) applied to ``x`` ("add 3", "multiply by 2", "take
the remainder modulo 4", "take the larger of it and 7", …); its reference program nests them
(``f(x) = max((x + 3) * 2, 7)``) and the hidden tests are ``n_tests`` more inputs with the outputs
the interpreter computes. Any program that passes every test is right (``x * 2 + 6`` for
``(x + 3) * 2``): scoring runs the answer, never compares text.

The corpus teaches the language with the same problems (from the corpus pool, never a task
problem) written as a "program listing" (`layouts.code_prompt` + the program) followed by a few
evaluated calls, so pre-training sees descriptions, programs and their values but never the task
prompt's chat form.
"""

from __future__ import annotations

import random

from . import tinylang
from .layouts import code_answer, code_prompt

# op -> (phrasings of the step, code of the step around the expression so far)
STEPS = {
    "add": (("add {k}", "increase it by {k}"), "{e} + {k}"),
    "sub": (("subtract {k}", "decrease it by {k}"), "{e} - {k}"),
    "mul": (("multiply it by {k}", "multiply by {k}"), "{e} * {k}"),
    "mod": (("take the remainder modulo {k}", "take it modulo {k}"), "{e} % {k}"),
    "max": (("take the larger of it and {k}", "make it at least {k}"), "max({e}, {k})"),
    "min": (("take the smaller of it and {k}", "make it at most {k}"), "min({e}, {k})"),
}
_BINARY = {"add", "sub", "mul", "mod"}
_LOW = {"mod": 2, "mul": 2}  # smallest constant that is not a no-op (x % 1 = 0, x * 1 = x)


def make_problem(rng: random.Random, ccfg: dict) -> dict:
    """``{"steps", "description", "program", "examples", "tests"}``; steps are ``[op, k]``.
    Problems whose examples and tests a description-blind program passes are drawn again: all
    one value (``max(x % 2, 8)``: ``f(x) = 8``) or all ``y = x`` (``min(x, 17)`` tested below 17:
    ``f(x) = x``, also ``x % 16``), which base models answered without reading the description."""
    while True:
        p = _draw(rng, ccfg)
        pairs = p["examples"] + p["tests"]
        if len({y for _, y in pairs}) > 1 and any(x != y for x, y in pairs):
            return p


def _draw(rng: random.Random, ccfg: dict) -> dict:
    lo, hi = ccfg["min_steps"], ccfg["max_steps"]
    weights = ccfg.get("step_weights")
    # a difficulty mix: mostly short programs that a small model can learn, some long ones
    n = rng.choices(range(lo, hi + 1), weights)[0] if weights else rng.randint(lo, hi)
    steps, words, code, prev_binary = [], [], "x", False
    for _ in range(n):
        op = rng.choice(list(STEPS))
        k = rng.randint(_LOW.get(op, 1), ccfg["max_constant"])
        phrases, template = STEPS[op]
        words.append(_phrase(rng, ccfg, phrases).format(k=k))
        # parenthesise a binary expression inside a binary step; calls need none
        e = f"({code})" if prev_binary and op in _BINARY else code
        code = template.format(e=e, k=k)
        prev_binary = op in _BINARY
        steps.append([op, k])
    description = "Take x, " + ", then ".join(words) + "."
    program = f"f(x) = {code}"
    ast = tinylang.parse(program)
    xs = rng.sample(range(ccfg["max_input"] + 1), 2 + ccfg["n_tests"])
    pairs = [[x, tinylang.run(ast, x)] for x in xs]
    return {
        "steps": steps,
        "description": description,
        "program": program,
        "examples": pairs[:2],
        "tests": pairs[2:],
    }


def _phrase(rng: random.Random, ccfg: dict, phrases: tuple[str, ...]) -> str:
    """The words of a step: one of its phrasings, or with ``phrasing: fixed`` always the first
    (a one-to-one map from words to code; no draw, so the varied world's draws are unchanged)."""
    return phrases[0] if ccfg.get("phrasing") == "fixed" else rng.choice(phrases)


def step_sheet(rng: random.Random, ccfg: dict, keep, n_lines: int) -> str:
    """A practice sheet of single steps, each phrase with its code on ``x`` ("add 7: x + 7"): the
    language's vocabulary, densely (like the math drill sheets). Only steps whose one-step program
    ``keep`` accepts are listed (the corpus pool), so no task program is on a sheet."""
    lines = ["Steps:"]
    while len(lines) <= n_lines:
        op = rng.choice(list(STEPS))
        k = rng.randint(_LOW.get(op, 1), ccfg["max_constant"])
        phrases, template = STEPS[op]
        code = template.format(e="x", k=k)
        if keep(f"f(x) = {code}"):
            lines.append(f"{_phrase(rng, ccfg, phrases).format(k=k)}: {code}")
    return "\n".join(lines)


def task_prompt(problem: dict, examples_first: bool = False) -> str:
    """The task's prompt: the description and the two shown examples (``examples_first``: the
    examples, then the description, which then sits right before the program it determines)."""
    (x1, y1), (x2, y2) = problem["examples"]
    if examples_first:
        return f"f({x1}) = {y1} and f({x2}) = {y2}. {problem['description']}"
    return f"{problem['description']} For example, f({x1}) = {y1} and f({x2}) = {y2}."


def corpus_listing(
    rng: random.Random, problem: dict, number: int, max_input: int, examples_first: bool = False
) -> str:
    """A corpus document: the problem as the native layout writes it, then 2-4 evaluated calls
    (the language's semantics), one per line."""
    ast = tinylang.parse(problem["program"])
    xs = rng.sample(range(max_input + 1), rng.randint(2, 4))
    calls = "".join(f"\nf({x}) = {tinylang.run(ast, x)}" for x in xs)
    prompt = task_prompt(problem, examples_first)
    return code_prompt(prompt, number) + code_answer(problem["program"]) + calls
