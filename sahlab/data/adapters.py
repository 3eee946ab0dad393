"""Row mappers: each hub dataset's own column layout -> the common example schema.

The same mappers run on hub downloads and on local copies (tests, mirrors), so the mapping
that tests exercise is the mapping real runs use. Every mapper names the dataset, the row
index and the column when a row is malformed.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from sahlab.data.rlvr import UnsupportedConstraint, parse_ground_truth

log = logging.getLogger("sahlab")

# language code -> (FLORES-200 code, English name); covers the WMT14 pairs and en/fr.
LANGUAGES = {
    "en": ("eng_Latn", "English"),
    "fr": ("fra_Latn", "French"),
    "de": ("deu_Latn", "German"),
    "es": ("spa_Latn", "Spanish"),
    "cs": ("ces_Latn", "Czech"),
    "ru": ("rus_Cyrl", "Russian"),
    "hi": ("hin_Deva", "Hindi"),
}
TRANSLATION_PROMPT = "Translate from {src_name} to {tgt_name}:\n{text}"
_TRANSLATION_OPTIONS = {"src_lang": "en", "tgt_lang": "fr", "prompt_template": TRANSLATION_PROMPT}

_CALCULATOR = re.compile(r"<<[^<>]*>>")  # GSM8K's calculator annotations, e.g. <<48/2=24>>
_METAMATH_FINAL = "The answer is:"


@dataclass(frozen=True)
class Context:
    """What a mapper needs besides the rows: names for messages and ids, and the options."""

    dataset: str  # hub id or local path, used in error messages
    split: str
    options: dict


@dataclass(frozen=True)
class Adapter:
    name: str
    task: str  # math | translation | instructions | multihop | coding
    hub_names: tuple[str, ...]  # hub ids (lower case) this adapter is inferred from
    convert: Callable[[Iterable[tuple[int, dict]], Context], Iterator[dict]]
    options: dict = field(default_factory=dict)  # adapter-specific spec keys -> defaults


def _rowwise(fn: Callable[[dict, int, Context], dict | None]):
    """Lift a one-row mapper (None = row deliberately skipped) to a whole-split converter."""

    def convert(rows: Iterable[tuple[int, dict]], ctx: Context) -> Iterator[dict]:
        skipped = 0
        for i, row in rows:
            ex = fn(row, i, ctx)
            if ex is None:
                skipped += 1
            else:
                yield ex
        if skipped:
            log.info("%s: skipped %d row(s) (see the adapter's options)", ctx.dataset, skipped)

    return convert


def _bad(ctx: Context, i: int, col: str, problem: str) -> ValueError:
    return ValueError(f"{ctx.dataset} ({ctx.split}): row {i}: column {col!r} {problem}")


def _col(row: dict, i: int, col: str, ctx: Context, kind: type | tuple = str) -> Any:
    """row[col], checked present (not None) and of `kind`."""
    if row.get(col) is None:
        raise _bad(ctx, i, col, f"is missing (row has columns {sorted(row)})")
    value = row[col]
    if kind is int and isinstance(value, str) and value.strip().isdigit():
        value = int(value)  # ids stored as strings in some mirrors
    if not isinstance(value, kind) or isinstance(value, bool):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise _bad(ctx, i, col, f"must be {names}, got {type(value).__name__}")
    return value


def _number(text: str) -> str | None:
    """'1,234' -> '1234'; None when `text` is not a number (read by the scorers' own parser)."""
    from sahlab.eval.scorers import parse_number

    value = parse_number(text.strip().rstrip("."))
    return None if value is None else format(value, "f")


# ------------------------------------------------------------------------------------- math
def _gsm8k(row: dict, i: int, ctx: Context) -> dict:
    question, answer = _col(row, i, "question", ctx), _col(row, i, "answer", ctx)
    head, sep, tail = answer.rpartition("####")
    if not sep:
        raise _bad(ctx, i, "answer", "has no final '#### N' line")
    number = _number(tail)
    if number is None:
        raise _bad(ctx, i, "answer", f"final answer {tail.strip()!r} after '####' is not a number")
    if ctx.options["strip_calculator"]:
        head = _CALCULATOR.sub("", head)
    return {
        "id": f"gsm8k-{ctx.split}-{i}",
        "prompt": question.strip(),
        "reference": f"{head.rstrip()}\n#### {number}",
        "metadata": {"answer": number},
    }


def _metamathqa(row: dict, i: int, ctx: Context) -> dict | None:
    query, response = _col(row, i, "query", ctx), _col(row, i, "response", ctx)
    head, sep, tail = response.rpartition(_METAMATH_FINAL)
    if not sep:
        raise _bad(ctx, i, "response", f"has no final {_METAMATH_FINAL!r} line")
    answer = _number(tail)
    if answer is None:
        # MATH-derived rows end in LaTeX (\frac{1}{2}, intervals...): not exact-match numbers.
        if ctx.options["numeric_only"]:
            return None
        answer = tail.strip()
        if not answer:
            raise _bad(ctx, i, "response", f"has nothing after {_METAMATH_FINAL!r}")
    meta = {"answer": answer}
    if row.get("type") is not None:
        meta["type"] = row["type"]
    return {
        "id": f"metamathqa-{ctx.split}-{i}",
        "prompt": query.strip(),
        "reference": f"{head.rstrip()}\n#### {answer}",
        "metadata": meta,
    }


# ---------------------------------------------------------------------- instruction following
def _ifeval(row: dict, i: int, ctx: Context) -> dict | None:
    key = _col(row, i, "key", ctx, int)
    prompt = _col(row, i, "prompt", ctx)
    ids = _col(row, i, "instruction_id_list", ctx, list)
    kwargs = _col(row, i, "kwargs", ctx, list)
    if len(ids) != len(kwargs):
        raise _bad(ctx, i, "kwargs", f"has {len(kwargs)} entries for {len(ids)} instruction ids")
    clean = []
    for kw in kwargs:
        if kw is not None and not isinstance(kw, dict):
            raise _bad(ctx, i, "kwargs", f"entries must be objects, got {kw!r}")
        # hub rows carry every kwarg of every instruction, None for the unused ones
        clean.append({k: v for k, v in (kw or {}).items() if v is not None})
    if set(ids) & set(ctx.options["exclude_ids"]):
        return None
    return {
        "id": f"ifeval-{key}",
        "prompt": prompt,
        "reference": "",
        "metadata": {"instruction_id_list": list(ids), "kwargs": clean},
    }


def _rlvr_ifeval(row: dict, i: int, ctx: Context) -> dict | None:
    messages = _col(row, i, "messages", ctx, list)
    users = [m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    if not users or not isinstance(users[0], str):
        raise _bad(ctx, i, "messages", "has no user turn with text content")
    gt = row.get("ground_truth")
    if gt is None:
        raise _bad(ctx, i, "ground_truth", f"is missing (row has columns {sorted(row)})")
    try:
        ids, kwargs = parse_ground_truth(gt)
    except UnsupportedConstraint as e:
        log.warning("%s: row %d skipped: %s", ctx.dataset, i, e)
        return None
    except ValueError as e:
        raise _bad(ctx, i, "ground_truth", f"cannot be read: {e}") from None
    if set(ids) & set(ctx.options["exclude_ids"]):
        return None
    meta = {"instruction_id_list": ids, "kwargs": kwargs}
    for col in ("constraint_type", "constraint"):
        if row.get(col) is not None:
            meta[col] = row[col]
    # RLVR rows carry no reference answer: they are prompts for RL with a verifiable reward.
    return {"id": f"rlvr_ifeval-{ctx.split}-{i}", "prompt": users[0], "reference": "", "metadata": meta}


# ------------------------------------------------------------------------------ translation
def _pair(ctx: Context) -> tuple[str, str]:
    return ctx.options["src_lang"], ctx.options["tgt_lang"]


def _translation_example(ex_id: str, src: str, tgt: str, ctx: Context) -> dict:
    s, t = _pair(ctx)
    prompt = ctx.options["prompt_template"].format(
        src_name=LANGUAGES[s][1], tgt_name=LANGUAGES[t][1], text=src.strip()
    )
    return {
        "id": ex_id,
        "prompt": prompt,
        "reference": tgt.strip(),
        "metadata": {"src_lang": s, "tgt_lang": t, "source": src.strip()},
    }


def _flores(row: dict, i: int, ctx: Context) -> dict:
    """facebook/flores pair configs (e.g. "eng_Latn-fra_Latn"): sentence_<code> columns."""
    s, t = (LANGUAGES[x][0] for x in _pair(ctx))
    src, tgt = _col(row, i, f"sentence_{s}", ctx), _col(row, i, f"sentence_{t}", ctx)
    return _translation_example(f"flores-{ctx.split}-{row.get('id', i)}", src, tgt, ctx)


def _wmt(row: dict, i: int, ctx: Context) -> dict:
    """wmt/wmt14-style rows: {"translation": {"en": ..., "fr": ...}}."""
    pair = _col(row, i, "translation", ctx, dict)
    s, t = _pair(ctx)
    for lang in (s, t):
        if not isinstance(pair.get(lang), str):
            raise _bad(ctx, i, "translation", f"has no {lang!r} text (keys: {sorted(pair)})")
    return _translation_example(f"wmt-{ctx.split}-{i}", pair[s], pair[t], ctx)


def _flores_plus(rows: Iterable[tuple[int, dict]], ctx: Context) -> Iterator[dict]:
    """openlanguagedata/flores_plus: one sentence per row and language (id, iso_639_3,
    iso_15924, text); the two languages are paired by the sentence id."""
    s, t = (LANGUAGES[x][0] for x in _pair(ctx))
    texts: dict[str, dict[int, str]] = {s: {}, t: {}}
    for i, row in rows:
        lang = f"{_col(row, i, 'iso_639_3', ctx)}_{_col(row, i, 'iso_15924', ctx)}"
        if lang in texts:
            sid = _col(row, i, "id", ctx, int)
            if sid in texts[lang]:
                raise _bad(ctx, i, "id", f"repeats sentence id {sid} for {lang}")
            texts[lang][sid] = _col(row, i, "text", ctx)
    if not texts[s]:
        raise ValueError(f"{ctx.dataset} ({ctx.split}): no rows for the source language {s}")
    missing = sorted(set(texts[s]) ^ set(texts[t]))
    if missing:
        raise ValueError(
            f"{ctx.dataset} ({ctx.split}): sentence id(s) {missing[:10]} are not present in both {s} and {t}"
        )
    for sid in sorted(texts[s]):
        yield _translation_example(f"flores-{ctx.split}-{sid}", texts[s][sid], texts[t][sid], ctx)


# ----------------------------------------------------------------------------- multihop QA
def _paragraphs(context: Any, i: int, ctx: Context) -> list[tuple[str, list[str]]]:
    """HotpotQA context as (title, sentences) pairs: the hub's {"title": [...], "sentences":
    [[...]]} columns or the original JSON's [[title, [sentences]], ...]."""
    if (
        isinstance(context, dict)
        and isinstance(context.get("title"), list)
        and isinstance(context.get("sentences"), list)
        and len(context["title"]) == len(context["sentences"])
    ):
        return list(zip(context["title"], context["sentences"]))
    if isinstance(context, list) and all(isinstance(p, (list, tuple)) and len(p) == 2 for p in context):
        return [(p[0], p[1]) for p in context]
    raise _bad(
        ctx, i, "context", "must be {'title': [...], 'sentences': [[...]]} or [[title, [sentences]], ...]"
    )


def _hotpotqa(row: dict, i: int, ctx: Context) -> dict:
    question, answer = _col(row, i, "question", ctx), _col(row, i, "answer", ctx)
    prompt = question.strip()
    if ctx.options["with_context"]:
        paras = _paragraphs(_col(row, i, "context", ctx, (dict, list)), i, ctx)
        text = "\n\n".join(f"{title}: {''.join(sents).strip()}" for title, sents in paras)
        prompt = f"{text}\n\nQuestion: {prompt}"
    meta = {"answer": answer.strip(), "hops": 2, "kind": "2hop"}
    for col, key in (("type", "qtype"), ("level", "level")):
        if row.get(col) is not None:
            meta[key] = row[col]
    return {
        "id": f"hotpotqa-{row.get('id', i)}",
        "prompt": prompt,
        "reference": answer.strip(),
        "metadata": meta,
    }


# ---------------------------------------------------------------------------------- coding
def _humaneval(row: dict, i: int, ctx: Context) -> dict:
    """openai/openai_humaneval and evalplus/humanevalplus (task_id, prompt, canonical_solution,
    entry_point, test: a ``check(candidate)`` function). The prompt is the code a completion
    continues; the scorer runs ``prompt + completion + test + check(entry_point)``."""
    task_id, prompt = _col(row, i, "task_id", ctx), _col(row, i, "prompt", ctx)
    entry, test = _col(row, i, "entry_point", ctx), _col(row, i, "test", ctx)
    if not entry.isidentifier():
        raise _bad(ctx, i, "entry_point", f"must be a function name, got {entry!r}")
    if "def check(" not in test:
        raise _bad(ctx, i, "test", "has no 'def check(candidate)' (the HumanEval test harness)")
    return {
        "id": f"humaneval-{task_id.replace('/', '-')}",
        "prompt": prompt,
        "reference": _col(row, i, "canonical_solution", ctx),
        "metadata": {"harness": "humaneval", "task_id": task_id, "entry_point": entry, "test": test},
    }


def _mbpp(row: dict, i: int, ctx: Context) -> dict:
    """evalplus/mbppplus (task_id, code, prompt, test_imports, test_list, test: MBPP+'s test
    script) and google-research-datasets/mbpp (``text`` instead of ``prompt``; no ``test``: the
    original ``test_list`` asserts). The prompt is evalplus's: the description and the first
    assert as a docstring; the scorer runs ``test_imports + code + test``."""
    task_id = _col(row, i, "task_id", ctx, int)
    text = row.get("prompt") if row.get("prompt") is not None else row.get("text")
    if not isinstance(text, str):
        raise _bad(ctx, i, "prompt", f"(or 'text') is missing (row has columns {sorted(row)})")
    tests = _col(row, i, "test_list", ctx, list)
    if not tests or not all(isinstance(t, str) for t in tests):
        raise _bad(ctx, i, "test_list", "must be a non-empty list of assert statements")
    imports = row.get("test_imports") or []
    if not isinstance(imports, list):
        raise _bad(ctx, i, "test_imports", f"must be a list, got {type(imports).__name__}")
    test = row.get("test") if ctx.options["tests"] == "plus" else None
    if ctx.options["tests"] == "plus" and not isinstance(test, str):
        raise _bad(
            ctx,
            i,
            "test",
            "is missing: MBPP+ rows carry the plus test script (set "
            "tests: base to run the original test_list)",
        )
    return {
        "id": f"mbpp-{task_id}",
        "prompt": f'"""\n{text.strip()}\n{tests[0]}\n"""\n',
        "reference": _col(row, i, "code", ctx),
        "metadata": {
            "harness": "mbpp",
            "task_id": task_id,
            "test_imports": list(imports),
            "test_list": list(tests),
            "test": test or "",
        },
    }


ADAPTERS: dict[str, Adapter] = {
    a.name: a
    for a in (
        Adapter("gsm8k", "math", ("openai/gsm8k", "gsm8k"), _rowwise(_gsm8k), {"strip_calculator": True}),
        Adapter(
            "metamathqa", "math", ("meta-math/metamathqa",), _rowwise(_metamathqa), {"numeric_only": True}
        ),
        Adapter("ifeval", "instructions", ("google/ifeval",), _rowwise(_ifeval), {"exclude_ids": []}),
        Adapter(
            "rlvr_ifeval",
            "instructions",
            ("allenai/rlvr-ifeval",),
            _rowwise(_rlvr_ifeval),
            {"exclude_ids": []},
        ),
        Adapter("flores", "translation", ("facebook/flores",), _rowwise(_flores), dict(_TRANSLATION_OPTIONS)),
        Adapter(
            "flores_plus",
            "translation",
            ("openlanguagedata/flores_plus",),
            _flores_plus,
            dict(_TRANSLATION_OPTIONS),
        ),
        Adapter(
            "wmt",
            "translation",
            ("wmt/wmt14", "wmt14", "wmt/wmt16", "wmt16"),
            _rowwise(_wmt),
            dict(_TRANSLATION_OPTIONS),
        ),
        Adapter(
            "hotpotqa",
            "multihop",
            ("hotpotqa/hotpot_qa", "hotpot_qa"),
            _rowwise(_hotpotqa),
            {"with_context": False},
        ),
        Adapter(
            "humaneval",
            "coding",
            ("evalplus/humanevalplus", "openai/openai_humaneval", "openai_humaneval"),
            _rowwise(_humaneval),
        ),
        Adapter(
            "mbpp",
            "coding",
            ("evalplus/mbppplus", "google-research-datasets/mbpp", "mbpp"),
            _rowwise(_mbpp),
            {"tests": "plus"},
        ),
    )
}
