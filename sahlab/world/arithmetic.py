"""Multi-step arithmetic word problems (+, −, × by small factors).

One problem has two surfaces: a GSM8K-style task example (question; solution with one equation
per line and a final ``#### N``) and a corpus "textbook" example ("Example 12. … After that Ana
has 23 + 24 = 47 apples. So the answer is 47."), so pre-training teaches the arithmetic and the
reasoning steps but not the task format. Every equation is stored as
``{"a", "op", "b", "result"}`` so answers can be recomputed.
"""

from __future__ import annotations

import operator
import random

from .layouts import math_answer, math_prompt

OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul}

# (item, gain verbs, loss verbs, container)
SCENARIOS = (
    ("rolls", ("bakes", "buys"), ("sells", "gives away"), "tray"),
    ("apples", ("picks", "buys"), ("eats", "sells"), "basket"),
    ("stickers", ("gets", "buys"), ("gives away", "loses"), "pack"),
    ("books", ("buys", "receives"), ("lends out", "donates"), "box"),
    ("marbles", ("wins", "finds"), ("loses", "trades away"), "bag"),
    ("coins", ("saves", "earns"), ("spends", "loses"), "jar"),
    ("eggs", ("collects", "gets"), ("uses", "sells"), "carton"),
    ("pencils", ("buys", "finds"), ("gives away", "breaks"), "box"),
    ("shells", ("collects", "finds"), ("gives away", "loses"), "bucket"),
    ("cards", ("buys", "wins"), ("trades away", "loses"), "pack"),
)
STARTS = ("{n} has {a} {item}.", "{n} starts the day with {a} {item}.", "At first, {n} owns {a} {item}.")
QUESTIONS = (
    "How many {item} does {n} have now?",
    "How many {item} does {n} have at the end?",
    "How many {item} does {n} have in total now?",
)


def equation(a: int, op: str, b: int) -> dict:
    return {"a": a, "op": op, "b": b, "result": OPS[op](a, b)}


def eq_text(step: dict) -> str:
    return f"{step['a']} {step['op']} {step['b']} = {step['result']}"


def make_problem(rng: random.Random, names: list[str], mcfg: dict) -> dict:
    """A random problem with ``min_steps``..``max_steps`` equations.

    Returns ``{"question", "steps", "lines", "answer"}``; `lines` are the task solution lines
    (without the ``####`` line), aligned with `steps`.
    """
    item, gains, losses, box = rng.choice(SCENARIOS)
    n = rng.choice(names)
    max_op, max_factor = mcfg["max_operand"], mcfg["max_factor"]
    target = rng.randint(mcfg["min_steps"], mcfg["max_steps"])
    cur = rng.randint(5, max_op)
    sentences = [rng.choice(STARTS).format(n=n, a=cur, item=item)]
    steps: list[dict] = []
    lines: list[str] = []
    small = max(2, max_op // max_factor)  # items per container, so products stay small
    while len(steps) < target:
        room = target - len(steps)
        options = ["gain"] + (["loss"] if cur >= 3 else [])
        if cur * 2 <= 4 * max_op:
            options.append("times")
        if room >= 2:
            options.append("group_gain")
            if cur >= 2 * 2 + 1:
                options.append("group_loss")
        kind = rng.choice(options)
        if kind == "gain":
            k = rng.randint(2, max_op)
            sentences.append(f"{n} {rng.choice(gains)} {k} more {item}.")
            steps.append(equation(cur, "+", k))
            lines.append(f"After that {n} has {eq_text(steps[-1])} {item}.")
        elif kind == "loss":
            k = rng.randint(1, min(cur - 1, max_op))
            sentences.append(f"{n} {rng.choice(losses)} {k} {item}.")
            steps.append(equation(cur, "-", k))
            lines.append(f"After that {n} has {eq_text(steps[-1])} {item}.")
        elif kind == "times":
            m = rng.randint(2, min(max_factor, 4 * max_op // cur))
            sentences.append(f"Later {n} has {m} times as many {item} as before.")
            steps.append(equation(cur, "*", m))
            lines.append(f"{n} then has {eq_text(steps[-1])} {item}.")
        else:
            gain = kind == "group_gain"
            if gain:
                m, k = rng.randint(2, max_factor), rng.randint(2, small)
            else:  # never take away all there is: m * k <= cur - 1
                m = rng.randint(2, min(max_factor, (cur - 1) // 2))
                k = rng.randint(2, min(small, (cur - 1) // m))
            verb = rng.choice(gains if gain else losses)
            sentences.append(f"{n} {verb} {m} {box}s with {k} {item} in each {box}.")
            steps.append(equation(m, "*", k))
            lines.append(f"{n} {verb} {eq_text(steps[-1])} {item}.")
            steps.append(equation(cur, "+" if gain else "-", steps[-1]["result"]))
            lines.append(f"So {n} has {eq_text(steps[-1])} {item}.")
        cur = steps[-1]["result"]
    sentences.append(rng.choice(QUESTIONS).format(n=n, item=item))
    return {"question": " ".join(sentences), "steps": steps, "lines": lines, "answer": cur}


def task_reference(problem: dict) -> str:
    """The GSM8K-style solution: one equation per line, then ``#### N``."""
    return "\n".join(problem["lines"] + [f"#### {problem['answer']}"])


def textbook_example(problem: dict, number: int) -> str:
    """The corpus surface of a problem: a worked example in running prose. Its steps are the
    task solution's own sentences (the reasoning a model can learn in pre-training); only the
    layout and the answer line differ from the task format (``So the answer is N.`` in prose
    instead of one step per line and ``#### N``)."""
    return math_prompt(problem["question"], number) + math_answer(problem["lines"], problem["answer"])


def drill(rng: random.Random, mcfg: dict, n_lines: int) -> str:
    """A practice sheet of single equations (the arithmetic facts themselves)."""
    max_op, max_factor = mcfg["max_operand"], mcfg["max_factor"]
    lines = ["Practice:"]
    for _ in range(n_lines):
        op = rng.choice("+-*")
        if op == "*":
            a, b = rng.randint(2, 2 * max_op), rng.randint(2, max_factor)
        else:
            a, b = rng.randint(1, 2 * max_op), rng.randint(1, max_op)
            if op == "-" and b > a:
                a, b = b, a
        lines.append(eq_text(equation(a, op, b)))
    return "\n".join(lines)
