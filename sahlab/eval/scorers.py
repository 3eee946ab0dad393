"""Per-task scorers: model outputs + common-schema examples -> per-example records and
corpus metrics with bootstrap CIs.

Every record has ``id``, ``pred`` (what was scored), ``correct`` (bool, or a score in [0, 1]
for translation: the sentence chrF / 100), ``format_ok`` (the answer is parseable in the
requested form) and ``error_kind`` ∈ {"correct", "format", "reasoning"} (Raghavendra et al.'s
split: wrong and unparseable -> format; parseable but wrong -> reasoning). Every metrics dict
maps a metric name to ``{"value", "ci_low", "ci_high", "n"}`` and always has ``format``,
``error_format``, ``error_reasoning`` and the task's main metric ``MAIN_METRIC[task]``.

This module is the one answer extractor per task: the RL rewards (`sahlab.train.rewards`), the
preference-pair checks and study B's programs all score through it (`REWARD_KEY` names the
per-example value a reward takes). Outputs reach it in the task's form: prompt formats map their
own answer layout onto it first (`sahlab.models.prompting.to_task_form`).

Answer extraction is lenient where generation may run on past the answer (the first ``####``
line for math, the first non-empty line for translation and QA); the format score is strict,
so a right answer in the wrong form counts as correct *and* as a format failure, keeping
substance and style apart.
"""

from __future__ import annotations

import re
import string
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Sequence

import numpy as np

from sahlab import ifeval
from sahlab.stats.resampling import Interval, bootstrap_ci, bootstrap_summed

MAIN_METRIC = {
    "math": "accuracy",
    "translation": "chrf",
    "instructions": "prompt_strict",
    "multihop": "exact_match",
    "newknowledge": "exact_match",
    "coding": "pass_at_1",
}
# Every metric a task reports (all variants, whatever the main one): studies pick theirs in the config.
METRICS = {
    "math": ("accuracy",),
    "translation": ("chrf", "bleu"),
    "instructions": ("prompt_strict", "prompt_loose", "instruction_strict", "instruction_loose"),
    "multihop": ("exact_match",),
    "newknowledge": ("exact_match",),
    "coding": ("pass_at_1",),
}
PERCENT_METRICS = ("chrf", "bleu", "sentence_chrf")  # sacrebleu scores on 0-100; others in [0, 1]
# The per-example record field an RL reward takes (study D's "features" rows included). Coding's
# is the share of hidden tests passed (partial credit, a standard code-RL reward): with pass/fail,
# a small model's coding groups were all 0 and gave GRPO no signal; the metric stays pass@1.
REWARD_KEY = {
    "math": "correct",
    "translation": "correct",
    "instructions": "instruction_strict",
    "multihop": "correct",
    "newknowledge": "correct",
    "coding": "tests_passed",
    "features": "token_reward",
}
SHORT_ANSWER_MAX_WORDS = 8


# --------------------------------------------------------------------------- shared helpers
def error_kind(correct: bool | float, format_ok: bool) -> str:
    """'correct' if fully right (True / 1.0), else 'format' if unparseable, else 'reasoning'."""
    if float(correct) >= 1.0:
        return "correct"
    return "reasoning" if format_ok else "format"


def _meta(ex: dict, i: int) -> dict:
    meta = ex.get("metadata")
    if not isinstance(meta, dict):
        raise ValueError(f"example {i} (id={ex.get('id')!r}): 'metadata' must be an object")
    return meta


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _mean_metrics(records: list[dict], n_boot: int, seed: int, **per_example: str) -> dict:
    """format / error split metrics plus any {metric: record key} means, with bootstrap CIs."""
    col = lambda key: np.array([float(r[key]) for r in records])  # noqa: E731
    kinds = [r["error_kind"] for r in records]
    out = {name: bootstrap_ci(col(key), n_boot, seed) for name, key in per_example.items()}
    out["format"] = bootstrap_ci(col("format_ok"), n_boot, seed)
    out["error_format"] = bootstrap_ci([k == "format" for k in kinds], n_boot, seed)
    out["error_reasoning"] = bootstrap_ci([k == "reasoning" for k in kinds], n_boot, seed)
    return out


# --------------------------------------------------------------------------- math
# "#### 1,234", "####-5", "#### $3.50", "#### −2" (unicode minus): sign, thousands commas,
# decimals; anything after the number on the line is ignored.
_ANSWER_LINE = re.compile(r"####[ \t]*\$?[ \t]*([-+−]?(?:\d[\d,]*(?:\.\d+)?|\.\d+))")


def parse_number(text: str) -> Decimal | None:
    """A number string with optional sign, thousands commas and decimals -> Decimal (or None)."""
    s = text.strip().replace(",", "").replace("−", "-").lstrip("$")
    try:
        value = Decimal(s)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def extract_math_answer(output: str) -> Decimal | None:
    """The number after the first ``####`` (the model may run on into a new problem after it)."""
    m = _ANSWER_LINE.search(output)
    return parse_number(m.group(1)) if m else None


def _math_reference(ex: dict, i: int) -> Decimal:
    meta = _meta(ex, i)
    if meta.get("answer") is not None:
        ref = parse_number(str(meta["answer"]))
        if ref is None:
            raise ValueError(
                f"math example {i} (id={ex.get('id')!r}): metadata.answer {meta['answer']!r} is not a number"
            )
        return ref
    ref = extract_math_answer(str(ex.get("reference", "")))
    if ref is None:
        raise ValueError(
            f"math example {i} (id={ex.get('id')!r}): no metadata.answer and no "
            "'#### <number>' line in the reference"
        )
    return ref


def score_math(
    outputs: Sequence[str], examples: Sequence[dict], seed: int = 0, n_boot: int = 1000
) -> tuple[list[dict], dict]:
    """GSM8K-style exact match of the final number; format_ok = a ``#### <number>`` exists."""
    records = []
    for i, (out, ex) in enumerate(zip(outputs, examples)):
        ref, pred = _math_reference(ex, i), extract_math_answer(out)
        correct = pred is not None and pred == ref  # Decimal: 18 == 18.00
        fmt = pred is not None
        records.append(
            {
                "id": ex.get("id"),
                "pred": None if pred is None else str(pred),
                "answer": str(ref),
                "correct": correct,
                "format_ok": fmt,
                "error_kind": error_kind(correct, fmt),
            }
        )
    return records, _mean_metrics(records, n_boot, seed, accuracy="correct")


# --------------------------------------------------------------------------- translation
def _source_sentence(ex: dict, i: int) -> list[str]:
    """What counts as 'a copy of the source': metadata.source if given, else any prompt line."""
    src = _meta(ex, i).get("source")
    if isinstance(src, str) and src.strip():
        return [" ".join(src.split())]
    return [" ".join(line.split()) for line in str(ex.get("prompt", "")).splitlines() if line.strip()]


def _sacrebleu_stats(metric: str, hyps: list[str], refs: list[str]):
    """(n × k segment statistics, score of summed statistics) of sacrebleu's chrF or BLEU.
    Private sacrebleu API (pinned 2.6.0), checked against corpus_chrf / corpus_bleu in
    `score_translation` so a changed API fails loudly instead of giving silent wrong CIs."""
    from sacrebleu.metrics import BLEU, CHRF

    scorer = CHRF() if metric == "chrf" else BLEU()
    stats = np.array(scorer._extract_corpus_statistics(hyps, [refs]), dtype=float)
    return stats, lambda s: scorer._compute_score_from_stats(list(s)).score


def score_translation(
    outputs: Sequence[str], examples: Sequence[dict], seed: int = 0, n_boot: int = 1000
) -> tuple[list[dict], dict]:
    """Corpus chrF and BLEU (sacrebleu defaults) of the first non-empty output line.

    format_ok = the stripped output is one non-empty line and not a copy of the source
    sentence (``metadata.source`` when present, otherwise any line of the prompt).
    CIs resample examples and recompute the corpus score from summed sacrebleu segment
    statistics (see :func:`sahlab.stats.resampling.bootstrap_summed`).
    """
    import sacrebleu

    hyps = [_first_line(o) for o in outputs]
    for i, ex in enumerate(examples):
        ref = ex.get("reference")
        if not isinstance(ref, str) or not ref.strip():
            raise ValueError(
                f"translation example {i} (id={ex.get('id')!r}) has no reference text (got {ref!r})"
            )
    refs = [ex["reference"].strip() for ex in examples]
    chrf_stats, chrf_score = _sacrebleu_stats("chrf", hyps, refs)
    bleu_stats, bleu_score = _sacrebleu_stats("bleu", hyps, refs)
    metrics = {
        "chrf": bootstrap_summed(chrf_stats, chrf_score, n_boot, seed),
        "bleu": bootstrap_summed(bleu_stats, bleu_score, n_boot, seed),
    }
    for name, public in (
        ("chrf", sacrebleu.corpus_chrf(hyps, [refs]).score),
        ("bleu", sacrebleu.corpus_bleu(hyps, [refs]).score),
    ):
        if not np.isclose(metrics[name]["value"], public, atol=1e-9):
            raise RuntimeError(
                f"{name} from segment statistics ({metrics[name]['value']}) differs "
                f"from sacrebleu's corpus score ({public}): sacrebleu API changed?"
            )

    records = []
    for i, (out, ex, hyp) in enumerate(zip(outputs, examples, hyps)):
        stripped = " ".join(out.split()) if "\n" not in out.strip() else None
        fmt = bool(stripped) and stripped not in _source_sentence(ex, i)
        sent_chrf = float(chrf_score(chrf_stats[i]))
        records.append(
            {
                "id": ex.get("id"),
                "pred": hyp,
                "chrf": sent_chrf,
                "correct": sent_chrf / 100.0,
                "format_ok": fmt,
                "error_kind": error_kind(sent_chrf / 100.0, fmt),
            }
        )
    metrics.update(_mean_metrics(records, n_boot, seed, sentence_chrf="chrf"))
    return records, metrics


# --------------------------------------------------------------------------- instructions
def score_instructions(
    outputs: Sequence[str], examples: Sequence[dict], seed: int = 0, n_boot: int = 1000
) -> tuple[list[dict], dict]:
    """IFEval prompt- and instruction-level strict/loose accuracy (:mod:`sahlab.ifeval`).

    correct = all instructions followed (strict); format_ok = the response is not blank (a
    blank response follows nothing). Instruction-level CIs resample prompts, not instructions.
    """
    records = []
    for i, (out, ex) in enumerate(zip(outputs, examples)):
        meta = _meta(ex, i)
        ids, kwargs = meta.get("instruction_id_list"), meta.get("kwargs")
        if not isinstance(ids, list) or not ids:
            raise ValueError(
                f"instructions example {i} (id={ex.get('id')!r}): "
                "metadata.instruction_id_list must be a non-empty list"
            )
        if kwargs is None:
            kwargs = [{}] * len(ids)
        if not isinstance(kwargs, list) or len(kwargs) != len(ids):
            raise ValueError(
                f"instructions example {i} (id={ex.get('id')!r}): metadata.kwargs "
                f"must be a list with one dict per instruction ({len(ids)})"
            )
        prompt = str(ex.get("prompt", ""))
        lang = bool(meta.get("detect_language", True))
        try:
            strict = [ifeval.check(iid, kw, out, prompt, lang) for iid, kw in zip(ids, kwargs)]
            loose = [ifeval.check_loose(iid, kw, out, prompt, lang) for iid, kw in zip(ids, kwargs)]
        except ValueError as e:
            raise ValueError(f"instructions example {i} (id={ex.get('id')!r}): {e}") from None
        fmt = bool(out.strip())
        records.append(
            {
                "id": ex.get("id"),
                "pred": out,
                "instruction_id_list": ids,
                "strict": strict,
                "loose": loose,
                "correct": all(strict),
                "prompt_loose": all(loose),
                "instruction_strict": sum(strict) / len(ids),
                "instruction_loose": sum(loose) / len(ids),
                "format_ok": fmt,
                "error_kind": error_kind(all(strict), fmt),
            }
        )
    metrics = _mean_metrics(records, n_boot, seed, prompt_strict="correct", prompt_loose="prompt_loose")
    ratio = lambda s: s[0] / s[1]  # noqa: E731  (followed, total) summed over prompts
    for level in ("strict", "loose"):
        stats = [(sum(r[level]), len(r[level])) for r in records]
        metrics[f"instruction_{level}"] = bootstrap_summed(stats, ratio, n_boot, seed)
    return records, metrics


# --------------------------------------------------------------------------- multihop QA
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lowercase, drop punctuation and articles, collapse whitespace."""
    return " ".join(_ARTICLES.sub(" ", text.lower().translate(_PUNCT)).split())


def _qa_answers(ex: dict, i: int) -> list[str]:
    ans = _meta(ex, i).get("answer", ex.get("reference"))
    answers = [ans] if isinstance(ans, str) else ans
    if not isinstance(answers, list) or not answers or not all(isinstance(a, str) for a in answers):
        raise ValueError(
            f"QA example {i} (id={ex.get('id')!r}): metadata.answer (or reference) "
            f"must be a string or a non-empty list of strings, got {ans!r}"
        )
    return answers


def score_multihop(
    outputs: Sequence[str], examples: Sequence[dict], seed: int = 0, n_boot: int = 1000
) -> tuple[list[dict], dict]:
    """SQuAD exact match of the first non-empty output line against metadata.answer
    (a string or a list of aliases; falls back to the reference).

    format_ok = a short answer: the stripped output is one non-empty line of at most
    ``SHORT_ANSWER_MAX_WORDS`` whitespace-separated words.
    """
    records = []
    for i, (out, ex) in enumerate(zip(outputs, examples)):
        answers, pred = _qa_answers(ex, i), _first_line(out)
        correct = bool(pred) and normalize_answer(pred) in {normalize_answer(a) for a in answers}
        text = out.strip()
        fmt = bool(text) and "\n" not in text and len(text.split()) <= SHORT_ANSWER_MAX_WORDS
        records.append(
            {
                "id": ex.get("id"),
                "pred": pred,
                "answer": answers[0],
                "kind": _meta(ex, i).get("kind"),
                "correct": correct,
                "format_ok": fmt,
                "error_kind": error_kind(correct, fmt),
            }
        )
    return records, _mean_metrics(records, n_boot, seed, exact_match="correct")


def score_newknowledge(
    outputs: Sequence[str], examples: Sequence[dict], seed: int = 0, n_boot: int = 1000
) -> tuple[list[dict], dict]:
    """Multihop scoring plus exact match per metadata.kind: ``exact_match_direct`` and
    ``exact_match_2hop`` (a kind with no examples is left out rather than reported as None)."""
    for i, ex in enumerate(examples):
        kind = _meta(ex, i).get("kind")
        if kind not in ("direct", "2hop"):
            raise ValueError(
                f"newknowledge example {i} (id={ex.get('id')!r}): metadata.kind "
                f"must be 'direct' or '2hop', got {kind!r}"
            )
    records, metrics = score_multihop(outputs, examples, seed, n_boot)
    for kind in ("direct", "2hop"):
        values = [float(r["correct"]) for r in records if r["kind"] == kind]
        if values:
            metrics[f"exact_match_{kind}"] = bootstrap_ci(values, n_boot, seed)
    return records, metrics


# --------------------------------------------------------------------------- coding
_FENCE = re.compile(r"```[ \t]*(?:python|py)?[ \t]*\n(.*?)(?:```|$)", re.S)
CODE_HARNESSES = ("tiny", "humaneval", "mbpp")


def extract_code(output: str, harness: str) -> str:
    """The program in an output: for the tiny language the first non-empty line; for Python the
    first fenced (```) block when there is one (chat models fence code), else the whole output
    (a completion of the prompt's code)."""
    if harness == "tiny":
        return _first_line(output)
    m = _FENCE.search(output)
    return m.group(1) if m else output


def python_program(code: str, ex: dict, i: int) -> str:
    """The program the benchmark's harness runs (evalplus / human-eval semantics):
    HumanEval ``prompt + completion + test + check(entry_point)`` (a fenced block that defines
    the entry point stands alone instead of continuing the prompt); MBPP ``test_imports + code +
    test`` (MBPP+'s ``test`` script, or the original ``test_list`` asserts when it is empty)."""
    meta = _meta(ex, i)
    if meta["harness"] == "humaneval":
        entry = meta.get("entry_point")
        if not isinstance(entry, str) or not entry.isidentifier():
            raise ValueError(
                f"coding example {i} (id={ex.get('id')!r}): metadata.entry_point "
                f"must be a function name, got {entry!r}"
            )
        body = code if re.search(rf"^\s*def\s+{entry}\s*\(", code, re.M) else str(ex.get("prompt", "")) + code
        return f"{body}\n\n{meta.get('test', '')}\n\ncheck({entry})\n"
    imports = "\n".join(meta.get("test_imports") or [])
    test = meta.get("test") or "\n".join(meta.get("test_list") or [])
    return f"{imports}\n{code}\n\n{test}\n"


def _check_coding_example(ex: dict, i: int) -> str:
    meta = _meta(ex, i)
    harness = "tiny" if meta.get("language") == "tiny" else meta.get("harness")
    if harness not in CODE_HARNESSES:
        raise ValueError(
            f"coding example {i} (id={ex.get('id')!r}): metadata.language 'tiny' "
            f"or metadata.harness in {list(CODE_HARNESSES[1:])} is required, got "
            f"{harness!r}"
        )
    if harness == "tiny":
        tests = meta.get("tests")
        if (
            not isinstance(tests, list)
            or not tests
            or not all(
                isinstance(t, list) and len(t) == 2 and all(isinstance(v, int) for v in t) for t in tests
            )
        ):
            raise ValueError(
                f"coding example {i} (id={ex.get('id')!r}): metadata.tests must be "
                "a non-empty list of [x, y] integer pairs"
            )
    elif not (meta.get("test") or meta.get("test_list")):
        raise ValueError(
            f"coding example {i} (id={ex.get('id')!r}): metadata.test (or "
            "test_list) holds the benchmark's tests and is empty"
        )
    return harness


def score_coding(
    outputs: Sequence[str], examples: Sequence[dict], seed: int = 0, n_boot: int = 1000, limits=None
) -> tuple[list[dict], dict]:
    """pass@1 of greedy outputs: correct = the program passes every hidden test.

    The embedded tiny language runs in its own interpreter (`sahlab.world.tinylang`: no eval,
    step and size limits); Python (HumanEval+ / MBPP+) runs in the sandbox
    (`sahlab.eval.sandbox`: one forked process per program, CPU/memory/file limits, wall
    timeout, guarded os/subprocess/socket). format_ok = ``parses``: the program parses (tiny)
    or compiles (Python); a program that parses but fails a test (wrong value, exception,
    timeout) is a content error (``error_kind`` "reasoning"), one that does not is a format
    error. ``status`` says how each run ended; ``tests_passed`` is the share of hidden tests
    passed (the RL reward; 0 if the program does not parse; for Python, where the harness runs
    all tests in one program, it equals ``correct``).
    """
    from sahlab.eval.sandbox import Limits, run_many
    from sahlab.world import tinylang

    harnesses = [_check_coding_example(ex, i) for i, ex in enumerate(examples)]
    codes = [extract_code(o, h) for o, h in zip(outputs, harnesses)]
    results: list[dict | None] = [None] * len(examples)
    py = [i for i, h in enumerate(harnesses) if h != "tiny"]
    for i, h in enumerate(harnesses):
        if h == "tiny":
            tests = _meta(examples[i], i)["tests"]
            parses, n_passed, detail = tinylang.run_tests(codes[i], tests)
            passed = parses and n_passed == len(tests)
            status = "passed" if passed else ("failed" if parses else "syntax")
            results[i] = {"status": status, "detail": detail or "", "tests_passed": n_passed / len(tests)}
    if py:
        programs = [python_program(codes[i], examples[i], i) for i in py]
        for i, r in zip(py, run_many(programs, limits or Limits())):
            results[i] = r
    records = []
    for i, (ex, code, r) in enumerate(zip(examples, codes, results)):
        correct, parses = r["status"] == "passed", r["status"] != "syntax"
        records.append(
            {
                "id": ex.get("id"),
                "pred": code,
                "correct": correct,
                "format_ok": parses,
                "parses": parses,
                "status": r["status"],
                "detail": r["detail"],
                "tests_passed": r.get("tests_passed", float(correct)),
                "error_kind": error_kind(correct, parses),
            }
        )
    return records, _mean_metrics(records, n_boot, seed, pass_at_1="correct")


# --------------------------------------------------------------------------- features (study D)
def parse_decision(completion: str) -> int:
    """1 or 0 if the completion's first whitespace-separated token is exactly "1"/"0", else -1."""
    if not isinstance(completion, str):
        raise ValueError(f"completion must be a string, got {type(completion).__name__}")
    head = completion.split()
    return int(head[0]) if head and head[0] in ("0", "1") else -1


def token_reward(completion: str, label: int) -> float:
    """Cruz et al.'s per-token reward of an episode of "0"/"1" tokens (−Σ|a_i − label|), as the
    share of the episode's tokens equal to the label: the first whitespace-separated token read
    character by character, 0 unless it is made only of 0s and 1s. For a one-token answer it
    equals the decision's correctness."""
    head = completion.split()
    if not head or set(head[0]) - {"0", "1"}:
        return 0.0
    return sum(int(c) == label for c in head[0]) / len(head[0])


def score_features(
    outputs: Sequence[str], examples: Sequence[dict], seed: int = 0, n_boot: int = 1000
) -> tuple[list[dict], dict]:
    """Binary feature classification: the decision (first token "0"/"1") against the reference
    label; format_ok = a decision was made; token_reward = the RL reward (`token_reward`: the
    share of an answer's 0/1 tokens equal to the label, for Cruz et al.'s multi-token episodes)."""
    records = []
    for i, (out, ex) in enumerate(zip(outputs, examples)):
        ref = ex.get("reference")
        if ref not in ("0", "1"):
            raise ValueError(
                f"features example {i} (id={ex.get('id')!r}): reference must be '0' or '1', got {ref!r}"
            )
        pred = parse_decision(out)
        correct, fmt = pred == int(ref), pred >= 0
        records.append(
            {
                "id": ex.get("id"),
                "pred": pred,
                "correct": correct,
                "format_ok": fmt,
                "token_reward": token_reward(out, int(ref)),
                "error_kind": error_kind(correct, fmt),
            }
        )
    return records, _mean_metrics(records, n_boot, seed, accuracy="correct")


# --------------------------------------------------------------------------- paired resamples
_RECORD_KEY = {
    "accuracy": "correct",
    "exact_match": "correct",
    "prompt_strict": "correct",
    "pass_at_1": "correct",
    "prompt_loose": "prompt_loose",
}


def resampled(
    task: str, metric: str, outputs: Sequence[str], examples: Sequence[dict], n_boot: int, seed: int
) -> tuple[dict, np.ndarray]:
    """The task's metrics of the outputs (as `score` gives them) and `metric` on each of `n_boot`
    bootstrap resamples of the examples (the index matrix of `resampling.resample_counts(n,
    n_boot, seed)`: the same resamples for every policy scored on the same examples, so
    statistics across policies — frontiers, complexities, their ratios — can be bootstrapped
    pairwise)."""
    from sahlab.stats.resampling import resample_counts

    records, metrics = score(task, outputs, examples, n_boot=0)
    if metric not in metrics:
        raise ValueError(f"{task}: no metric {metric!r}; the scorer reports {sorted(metrics)}")
    counts = resample_counts(len(records), n_boot, seed).astype(float)
    if metric in ("chrf", "bleu"):
        stats, corpus_score = _sacrebleu_stats(
            metric, [_first_line(o) for o in outputs], [ex["reference"].strip() for ex in examples]
        )
        boot = [corpus_score(row) for row in counts @ stats]
    elif metric in ("instruction_strict", "instruction_loose"):
        level = metric.split("_")[1]
        stats = np.array([(sum(r[level]), len(r[level])) for r in records], dtype=float)
        boot = [a / b for a, b in counts @ stats]
    else:
        values = np.array([float(r[_RECORD_KEY[metric]]) for r in records])
        boot = counts @ values / len(values)
    return metrics, np.asarray(boot, dtype=float)


# --------------------------------------------------------------------------- dispatcher
SCORERS: dict[str, Callable[..., tuple[list[dict], dict[str, Interval]]]] = {
    "math": score_math,
    "translation": score_translation,
    "instructions": score_instructions,
    "multihop": score_multihop,
    "newknowledge": score_newknowledge,
    "coding": score_coding,
    "features": score_features,
}


def score(
    task: str, outputs: Sequence[str], examples: Sequence[dict], seed: int = 0, n_boot: int = 1000
) -> tuple[list[dict], dict[str, Interval]]:
    """Score `outputs[i]` against `examples[i]` for `task`; returns (records, metrics).

    metrics maps name -> {"value", "ci_low", "ci_high", "n"} (percentile bootstrap over
    examples with `n_boot` resamples and `seed`; ``n_boot=0`` gives no CI).
    """
    if task not in SCORERS:
        raise ValueError(f"unknown task {task!r}; allowed tasks: {', '.join(SCORERS)}")
    if len(outputs) != len(examples):
        raise ValueError(f"{task}: {len(outputs)} outputs for {len(examples)} examples")
    if not examples:
        raise ValueError(f"{task}: nothing to score (no examples)")
    for i, (out, ex) in enumerate(zip(outputs, examples)):
        if not isinstance(out, str):
            raise ValueError(f"{task}: output {i} (id={_id(ex)!r}) is {type(out).__name__}, not a string")
        if not isinstance(ex, dict):
            raise ValueError(f"{task}: example {i} is {type(ex).__name__}, not a dict")
    return SCORERS[task](list(outputs), list(examples), seed=seed, n_boot=n_boot)


def _id(ex: Any) -> Any:
    return ex.get("id") if isinstance(ex, dict) else None
