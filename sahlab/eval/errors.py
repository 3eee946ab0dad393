"""Format vs content errors per example: the one place that says, per task, what a format error
is (study A's split, after Raghavendra et al. 2024: format errors should vanish after a few
examples while content errors keep falling).

A format error means the output is not an answer of the asked kind, whatever its content:
- math: no ``#### <number>`` answer line (a wrong number is a content error);
- multihop: the answer line is not an entity of the asked attribute's type (a profession for
  "what does X do", a year for "when was X born", ...: the attribute's values in the task's
  examples); the right type but the wrong entity is a content error;
- instructions: a layout constraint failed (JSON, bullets, sections, case, start/end, commas:
  `LAYOUT_GROUPS` of the IFEval ids); with every layout constraint met, a failed content
  constraint (keywords, lengths, postscripts, ...) is a content error;
- translation: the answer line is not in the target language (fewer than `MIN_LEXICON_SHARE` of
  its words occur in the target-side references of the task) or its length is off (word count
  outside `LENGTH_RATIO` times the reference's); otherwise the error is content (chrF).
- any other task (e.g. a coding task): the scorer's own per-example ``format_ok``.

An example's error is 1 - `correct` (translation: 1 - sentence chrF/100), charged wholly to
format or to content, so per N the two shares add up to the error the fits use.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

LAYOUT_GROUPS = ("change_case", "detectable_format", "startend", "punctuation")
LAYOUT_IDS = ("combination:two_responses",)
MIN_LEXICON_SHARE = 0.5
LENGTH_RATIO = (0.5, 2.0)
_WORD = re.compile(r"[^\W\d_]+|\d+", re.UNICODE)


def is_layout_instruction(iid: str) -> bool:
    """IFEval instruction ids about the response's layout rather than what it says."""
    return iid.split(":", 1)[0] in LAYOUT_GROUPS or iid in LAYOUT_IDS


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


class ErrorSplit:
    """Per-example format/content split for one task. `reference_rows`: the task's examples
    (train and test) that define an attribute's values (multihop) and the target-language
    lexicon (translation)."""

    def __init__(self, task: str, reference_rows: Iterable[dict] = ()):
        from sahlab.eval.scorers import normalize_answer

        self.task = task
        rows = list(reference_rows)
        self.values: dict[str, set[str]] = {}
        self.lexicon: set[str] = set()
        if task == "multihop":
            for r in rows:
                meta = r.get("metadata") or {}
                if meta.get("answer_attr") is not None and meta.get("answer") is not None:
                    self.values.setdefault(meta["answer_attr"], set()).add(
                        normalize_answer(str(meta["answer"]))
                    )
        elif task == "translation":
            for r in rows:
                self.lexicon.update(_words(str(r.get("reference", ""))))

    def format_ok(self, record: dict, example: dict, output: str) -> bool:
        """Whether `output` (in the task's form; `record` = the scorer's record of it) is an
        answer of the asked kind (see the module docstring)."""
        from sahlab.eval.scorers import _first_line, normalize_answer

        if self.task == "math":
            return record["pred"] is not None
        if self.task == "multihop":
            attr = (example.get("metadata") or {}).get("answer_attr")
            values = self.values.get(attr)
            if not values:  # no typed attribute (e.g. a hub QA set): the scorer's format check
                return bool(record["format_ok"])
            pred = normalize_answer(_first_line(output))
            if all(v.isdigit() for v in values):  # years: any whole number is of the type
                return pred.isdigit()
            return pred in values
        if self.task == "instructions":
            if not output.strip():
                return False
            return all(
                ok
                for iid, ok in zip(record["instruction_id_list"], record["strict"])
                if is_layout_instruction(iid)
            )
        if self.task == "translation":
            if not self.lexicon:
                return bool(record["format_ok"])
            words, ref = _words(_first_line(output)), _words(str(example.get("reference", "")))
            if not words:
                return False
            share = sum(w in self.lexicon for w in words) / len(words)
            lo, hi = LENGTH_RATIO
            return share >= MIN_LEXICON_SHARE and lo * len(ref) <= len(words) <= hi * len(ref)
        return bool(record["format_ok"])


def split_errors(
    task: str, outputs: Sequence[str], examples: Sequence[dict], reference_rows: Iterable[dict] = ()
) -> list[dict]:
    """Score `outputs` (in the task's form) against `examples` and split each example's error:
    one dict per example with correct, format_ok, error_format, error_content (error_format +
    error_content = 1 - correct) and kind ("correct", "format" or "content")."""
    from sahlab.eval.scorers import score

    records, _ = score(task, outputs, examples, n_boot=0)
    split = ErrorSplit(task, reference_rows)
    out = []
    for rec, ex, o in zip(records, examples, outputs):
        correct = float(rec["correct"])
        fmt = split.format_ok(rec, ex, o)
        err = 1.0 - correct
        kind = "correct" if err <= 0 else ("content" if fmt else "format")
        out.append(
            {
                "id": ex.get("id"),
                "correct": correct,
                "format_ok": fmt,
                "error_format": 0.0 if fmt else err,
                "error_content": err if fmt else 0.0,
                "kind": kind,
            }
        )
    return out
