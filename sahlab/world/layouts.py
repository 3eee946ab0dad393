"""Native layouts: how each task looks in the text a base model was pre-trained on.

A base (or random-init) model is asked in its own format — the corpus's framing of the task —
never in a chat template it never saw (../shared/STUDY.md, "Models and stages"). A layout says
how a task example is written as a prompt, how its answer continues that prompt, where the answer
ends (stop strings) and, for math, which words introduce the final number.

`EMBEDDED` is the embedded world's layouts; the corpus writers (`arithmetic.textbook_example`,
`multihop.qa_document`, `language.parallel_line`, `instructions.corpus_text`, `coding.corpus_listing`) render their
documents with these very objects, so prompt and corpus cannot drift apart. `GENERIC` is the
documented default for hub base models (``Question: …\\nAnswer:``), overridable per model in the
config (`scales.<s>.<stage>.native`, templates over the row's fields: `prompt` and its metadata).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

TASK_MARKER = "####"  # the task format's final-answer marker (GSM8K)


@dataclass(frozen=True)
class Layout:
    """One task's native layout. `prompt(example)` is the text before the answer, `answer(example)`
    the reference as this layout writes it (so prompt + answer is a corpus document); `stop` ends
    a generated answer; `answer_marker` (math) is what precedes the final number instead of ``####``."""

    prompt: Callable[[dict], str]
    answer: Callable[[dict], str]
    stop: tuple[str, ...] = ()
    answer_marker: str | None = None
    sep: str = "\n\n"  # between consecutive items of one document (ICL demonstrations)
    raw: dict = field(default_factory=dict, compare=False)  # the templates, for sahlab.json

    def to_task_form(self, output: str) -> str:
        """`output` with this layout's answer marker replaced by ``####`` (first occurrence), so the
        task's one extractor reads the final answer of every format."""
        if not self.answer_marker or self.answer_marker == TASK_MARKER:
            return output
        return re.sub(re.escape(self.answer_marker) + r"[ \t]*", f"{TASK_MARKER} ", output, count=1)


def _fields(example: dict) -> dict:
    meta = example.get("metadata") if isinstance(example.get("metadata"), dict) else {}
    return {**meta, "prompt": example.get("prompt", ""), "reference": example.get("reference", "")}


def _render(template: str, example: dict, what: str) -> str:
    try:
        return template.format(**_fields(example))
    except KeyError as e:
        raise ValueError(
            f"native layout {what}: template {template!r} needs field {e.args[0]!r}, "
            f"which row id={example.get('id')!r} lacks (fields: prompt, reference and "
            "the row's metadata keys)"
        ) from None


def template_layout(task: str, spec: dict) -> Layout:
    """A layout from templates: ``{"prompt": "Question: {prompt}\\nAnswer:", "answer": " {reference}",
    "stop": ["\\n"], "answer_marker": None}`` (only `prompt` is required)."""
    if not isinstance(spec, dict) or not isinstance(spec.get("prompt"), str):
        raise ValueError(
            f"native layout of {task!r} must be a mapping with a 'prompt' template, got {spec!r}"
        )
    unknown = set(spec) - {"prompt", "answer", "stop", "answer_marker", "sep"}
    if unknown:
        raise ValueError(
            f"native layout of {task!r}: unknown keys {sorted(unknown)}; allowed: "
            "prompt, answer, stop, answer_marker, sep"
        )
    prompt, answer = spec["prompt"], spec.get("answer", " {reference}")
    stop = spec.get("stop", ["\n\n"])
    sep = spec.get("sep", "\n\n")
    if not isinstance(stop, list) or not all(isinstance(s, str) and s for s in stop):
        raise ValueError(f"native layout of {task!r}: 'stop' must be a list of non-empty strings")
    return Layout(
        prompt=lambda ex: _render(prompt, ex, f"{task}.prompt"),
        answer=lambda ex: _render(answer, ex, f"{task}.answer"),
        stop=tuple(stop),
        answer_marker=spec.get("answer_marker"),
        sep=sep,
        raw={k: spec[k] for k in ("prompt", "answer", "stop", "answer_marker", "sep") if k in spec},
    )


# --------------------------------------------------------------------------- embedded world
MATH_MARKER = "So the answer is"


def math_prompt(question: str, number: int = 1) -> str:
    return f"Example {number}. {question}"


def math_answer(lines: list[str], answer) -> str:
    """A worked solution in the corpus's prose: the steps on one line, then the answer sentence."""
    return "".join(f" {line}" for line in lines) + f" {MATH_MARKER} {answer}."


def _math_answer(example: dict) -> str:
    ref = str(example.get("reference", ""))
    lines = [ln.strip() for ln in ref.splitlines() if ln.strip() and TASK_MARKER not in ln]
    answer = (example.get("metadata") or {}).get("answer")
    if answer is None and TASK_MARKER in ref:
        answer = ref.rsplit(TASK_MARKER, 1)[1].strip()
    return math_answer(lines, answer)


def qa_prompt(question: str) -> str:
    return f"Question: {question}\nAnswer:"


def parallel_prompt(english: str, lang_name: str) -> str:
    return f"English: {english} {lang_name}:"


def request_prompt(prompt: str) -> str:
    return f"Request: {prompt}\nReply:\n"


def _translation_prompt(example: dict) -> str:
    meta = example.get("metadata") or {}
    if not meta.get("source") or not meta.get("tgt_name"):
        raise ValueError(
            f"translation row id={example.get('id')!r}: the native layout needs "
            "metadata.source and metadata.tgt_name (the embedded world writes them)"
        )
    return parallel_prompt(meta["source"], meta["tgt_name"])


def code_prompt(prompt: str, number: int = 1) -> str:
    """A program listing of the corpus: its number and description, the program on the next line."""
    return f"Program {number}. {prompt}\n"


def code_answer(program: str) -> str:
    return program


_QA = Layout(prompt=lambda ex: qa_prompt(ex["prompt"]), answer=lambda ex: f" {ex['reference']}", stop=("\n",))
EMBEDDED: dict[str, Layout] = {
    "math": Layout(
        prompt=lambda ex: math_prompt(ex["prompt"]),
        answer=_math_answer,
        stop=("\n\n",),
        answer_marker=MATH_MARKER,
    ),
    "translation": Layout(
        prompt=_translation_prompt, answer=lambda ex: f" {ex['reference']}", stop=("\n",), sep="\n"
    ),
    "instructions": Layout(
        prompt=lambda ex: request_prompt(ex["prompt"]),
        answer=lambda ex: ex["reference"],
        stop=("\n\n\n",),
        sep="\n\n\n",
    ),
    "multihop": _QA,
    "newknowledge": _QA,
    "coding": Layout(
        prompt=lambda ex: code_prompt(ex["prompt"]),
        answer=lambda ex: code_answer(ex["reference"]),
        stop=("\n",),
    ),
}

GENERIC_SPECS: dict[str, dict] = {
    "math": {"prompt": "Question: {prompt}\nAnswer:", "stop": ["\n\nQuestion:"]},
    "translation": {"prompt": "{prompt}\nAnswer:", "stop": ["\n"]},
    "instructions": {"prompt": "{prompt}\nAnswer:\n", "answer": "{reference}", "stop": ["\n\n\n"]},
    "multihop": {"prompt": "Question: {prompt}\nAnswer:", "stop": ["\n"]},
    "newknowledge": {"prompt": "Question: {prompt}\nAnswer:", "stop": ["\n"]},
    # HumanEval / MBPP: the prompt is code (a signature and docstring) the completion continues
    "coding": {
        "prompt": "{prompt}",
        "answer": "{reference}",
        "stop": ["\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#"],
    },
}
GENERIC: dict[str, Layout] = {t: template_layout(t, s) for t, s in GENERIC_SPECS.items()}


def layouts_for(kind: str | None, overrides: dict | None = None) -> dict[str, Layout]:
    """The native layouts of a model: `EMBEDDED` for pipeline-built models (kind "embedded"), else
    `GENERIC`, with per-task template `overrides` (from the config / the model's sahlab.json)."""
    base = dict(EMBEDDED if kind == "embedded" else GENERIC)
    for task, spec in (overrides or {}).items():
        base[task] = template_layout(task, spec)
    return base
