"""Defaults and validation of the world config (the ``world:`` section of config.yaml)."""

from __future__ import annotations

import copy
import math

from .instructions import INSTRUCTION_IDS
from .multihop import RELATIONS, group_sizes, relations_of

SOURCES = ("bios", "entities", "math", "language", "parallel", "instructions", "qa", "sequences", "code")
TASKS = ("math", "translation", "instructions", "multihop", "coding")

DEFAULTS: dict = {
    "entities": {
        "n_countries": 5,  # countries (each city lies in one)
        "n_cities": 16,
        "n_companies": 24,
        "n_universities": 6,
        "n_first_names": 40,  # first-name pool per gender (full names stay unique)
        "n_corpus_people": 200,  # people with biographies in the pre-training corpus
        "n_new_people": 50,  # people never in the corpus (new-knowledge split)
        "n_math_names": 30,  # first names used by math word problems
        "bios_per_person": 24,  # distinct biographies of each corpus person in corpus/train
        "profiles_per_entity": 32,  # distinct profiles of each city/company/university
        "pronoun_rate": 0.3,  # chance a later sentence of a text uses a pronoun
    },
    "language": {
        "name": None,  # name of the foreign language; null = generated
        "adj_rate": 0.5,  # chance a noun phrase has an adjective
        "pp_rate": 0.4,  # chance a sentence has a prepositional phrase
        "plural_rate": 0.3,
        "definite_rate": 0.5,
        "past_rate": 0.5,
    },
    "math": {
        "min_steps": 2,  # equations per problem
        "max_steps": 3,
        "max_operand": 50,  # largest number stated in a question (besides factors)
        "max_factor": 5,  # largest multiplier
        "drill_fraction": 0.25,  # share of math documents that are equation drill sheets
    },
    "instructions": {
        "max_constraints": 2,  # 1..max constraints per prompt
        "instruction_ids": list(INSTRUCTION_IDS),
    },
    "coding": {
        "min_steps": 1,  # steps per program (add k, multiply by k, modulo k, max/min with k)
        "max_steps": 3,
        "step_weights": None,  # relative frequency of min_steps..max_steps; null = uniform
        "max_constant": 9,  # largest constant k of a step
        "max_input": 20,  # inputs x of examples and tests are drawn from 0..max_input
        "n_tests": 5,  # hidden tests per problem (besides the 2 shown examples)
        "phrasing": "varied",  # words of a step: varied (two phrasings per op) | fixed (one)
        "examples_first": False,  # prompt: examples, then the description (next to the program)
        "sheet_fraction": 0.0,  # share of code documents that are step sheets ("add 7: x + 7")
    },
    "multihop": {
        "test_people_fraction": 0.25,  # corpus people whose questions form the test split
        "corpus_qa_fraction": 0.0,  # corpus people with QA documents in the corpus (mix.qa)
        "two_hop_fraction": 0.5,  # share of 2-hop questions in train and test
    },
    "corpus": {
        "total_chars": 6_000_000,  # train + val characters (~1.7M tokens at 3.5 chars/token)
        "val_fraction": 0.02,
        "mix": {
            "bios": 0.22,
            "entities": 0.04,
            "math": 0.24,
            "language": 0.21,
            "parallel": 0.13,
            "instructions": 0.1,
            "qa": 0.0,
            "sequences": 0.02,
            "code": 0.04,
        },
        "foreign_share": 0.5,  # share of monolingual language documents in the foreign language
        "glossary_rate": 0.25,  # share of parallel lines that are single-word dictionary entries
    },
    "tasks": {t: {"train": 4096, "test": 500} for t in TASKS},
    "newknowledge": {
        "bios_per_person": 8,  # training biographies per new person
        "test": 400,  # questions about new people
        "two_hop_fraction": 0.5,
    },
}

_AT_LEAST_ONE = {
    "entities.n_countries",
    "entities.n_cities",
    "entities.n_companies",
    "entities.n_universities",
    "entities.n_first_names",
    "entities.n_math_names",
    "entities.bios_per_person",
    "entities.profiles_per_entity",
    "math.min_steps",
    "instructions.max_constraints",
    "coding.min_steps",
    "coding.n_tests",
    "corpus.total_chars",
    "newknowledge.bios_per_person",
}
_RATES = {
    "entities.pronoun_rate",
    "language.adj_rate",
    "language.pp_rate",
    "language.plural_rate",
    "language.definite_rate",
    "language.past_rate",
    "math.drill_fraction",
    "coding.sheet_fraction",
    "multihop.test_people_fraction",
    "multihop.corpus_qa_fraction",
    "multihop.two_hop_fraction",
    "corpus.foreign_share",
    "corpus.glossary_rate",
    "newknowledge.two_hop_fraction",
}


def _fail(key: str, problem: str) -> None:
    raise ValueError(f"world config key '{key}': {problem}")


def _merge(default: dict, given: dict, prefix: str) -> dict:
    if not isinstance(given, dict):
        _fail(prefix.rstrip("."), f"must be a mapping, got {type(given).__name__}")
    out = copy.deepcopy(default)
    for key, value in given.items():
        path = prefix + str(key)
        if key not in default:
            _fail(path, f"unknown key; allowed: {sorted(default)}")
        if path == "corpus.mix":  # a mix is replaced as a whole: omitted sources get 0
            if not isinstance(value, dict):
                _fail(path, "must be a mapping source -> proportion")
            unknown = sorted(set(value) - set(SOURCES))
            if unknown:
                _fail(f"{path}.{unknown[0]}", f"unknown source; allowed: {list(SOURCES)}")
            out[key] = {s: value.get(s, 0.0) for s in SOURCES}
        elif isinstance(default[key], dict):
            out[key] = _merge(default[key], value, path + ".")
        else:
            out[key] = value
    return out


def _number(cfg: dict, path: str, kind: type) -> float:
    section, key = path.split(".", 1)
    v = cfg[section][key]
    ok = isinstance(v, (int, float)) and not isinstance(v, bool)
    if kind is int:
        ok = ok and float(v).is_integer()
    if not ok or (isinstance(v, float) and not math.isfinite(v)):
        _fail(path, f"must be {'an integer' if kind is int else 'a number'}, got {v!r}")
    if v < 0:
        _fail(path, f"must not be negative, got {v!r}")
    return int(v) if kind is int else float(v)


def validate_world_config(cfg: dict | None) -> dict:
    """Fill defaults into `cfg` and check every value; returns a new dict.

    Raises ValueError naming the key (e.g. ``world config key 'corpus.mix': ...``) for unknown
    keys, wrong types, negative sizes, rates outside [0, 1], a mix that does not sum to 1, and
    task sizes larger than the number of distinct questions the world can produce.
    """
    out = _merge(DEFAULTS, cfg or {}, "")
    for section, values in DEFAULTS.items():
        for key, default in values.items():
            path = f"{section}.{key}"
            if isinstance(default, (bool, str, list, dict)) or default is None:  # checked below
                continue
            kind = int if isinstance(default, int) else float
            v = _number(out, path, kind)
            out[section][key] = v
            if path in _AT_LEAST_ONE and v < 1:
                _fail(path, f"must be at least 1, got {v!r}")
            if path in _RATES and v > 1:
                _fail(path, f"must be in [0, 1], got {v!r}")
    name = out["language"]["name"]
    if name is not None and not (isinstance(name, str) and name.isalpha()):
        _fail("language.name", f"must be null or a single word of letters, got {name!r}")
    if out["math"]["min_steps"] > out["math"]["max_steps"]:
        _fail("math.min_steps", f"must not exceed math.max_steps ({out['math']['max_steps']})")
    if out["math"]["max_operand"] < 5:
        _fail("math.max_operand", "must be at least 5")
    if out["math"]["max_factor"] < 2:
        _fail("math.max_factor", "must be at least 2")
    cc = out["coding"]
    if cc["min_steps"] > cc["max_steps"]:
        _fail("coding.min_steps", f"must not exceed coding.max_steps ({cc['max_steps']})")
    w = cc["step_weights"]
    n_lengths = cc["max_steps"] - cc["min_steps"] + 1
    if w is not None and not (
        isinstance(w, list)
        and len(w) == n_lengths
        and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0 for v in w
        )
        and sum(w) > 0
    ):
        _fail(
            "coding.step_weights",
            f"must be null or {n_lengths} non-negative weights (one per "
            f"length {cc['min_steps']}..{cc['max_steps']}), not all 0, "
            f"got {w!r}",
        )
    if cc["phrasing"] not in ("varied", "fixed"):
        _fail("coding.phrasing", f"must be 'varied' or 'fixed', got {cc['phrasing']!r}")
    if not isinstance(cc["examples_first"], bool):
        _fail("coding.examples_first", f"must be true or false, got {cc['examples_first']!r}")
    if cc["max_constant"] < 2:
        _fail("coding.max_constant", "must be at least 2")
    if cc["max_input"] + 1 < cc["n_tests"] + 2:
        _fail(
            "coding.max_input",
            f"must leave {cc['n_tests'] + 2} distinct inputs 0..max_input "
            "(2 shown examples + coding.n_tests hidden tests)",
        )
    if not 0 <= out["corpus"]["val_fraction"] <= 0.5:
        _fail("corpus.val_fraction", f"must be in [0, 0.5], got {out['corpus']['val_fraction']}")
    ids = out["instructions"]["instruction_ids"]
    if not isinstance(ids, list) or not ids or any(i not in INSTRUCTION_IDS for i in ids):
        _fail(
            "instructions.instruction_ids",
            f"must be a non-empty list drawn from {list(INSTRUCTION_IDS)}, got {ids!r}",
        )
    if len(set(ids)) != len(ids):
        _fail("instructions.instruction_ids", "lists an id twice")
    mix = out["corpus"]["mix"]
    for s, v in mix.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0:
            _fail(f"corpus.mix.{s}", f"must be a non-negative number, got {v!r}")
    if abs(sum(mix.values()) - 1.0) > 1e-6:
        _fail("corpus.mix", f"proportions must sum to 1, they sum to {sum(mix.values()):.6g}")
    for task in TASKS:
        for split in ("train", "test"):
            v = out["tasks"][task][split]
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                _fail(f"tasks.{task}.{split}", f"must be a non-negative integer, got {v!r}")
    mh = out["multihop"]
    if mh["test_people_fraction"] + mh["corpus_qa_fraction"] >= 1:
        _fail(
            "multihop.corpus_qa_fraction",
            "plus multihop.test_people_fraction must be below 1 (the rest are the multihop training people)",
        )
    if mix["qa"] > 0 and group_sizes(out["entities"]["n_corpus_people"], mh)["corpus_qa"] < 1:
        _fail(
            "corpus.mix.qa",
            "is positive but no corpus person is a QA person; raise multihop.corpus_qa_fraction",
        )
    _check_question_supply(out)
    return out


def _check_question_supply(cfg: dict) -> None:
    """Multihop/new-knowledge sizes must fit the distinct questions the people allow."""
    e, mh = cfg["entities"], cfg["multihop"]
    people = group_sizes(e["n_corpus_people"], mh)
    for split in ("train", "test"):
        # train asks every paraphrase of a (person, relation) pair, test each pair once
        _check_supply(
            f"tasks.multihop.{split}",
            cfg["tasks"]["multihop"][split],
            mh["two_hop_fraction"],
            people[split],
            all_templates=split == "train",
        )
    nk = cfg["newknowledge"]
    _check_supply(
        "newknowledge.test", nk["test"], nk["two_hop_fraction"], e["n_new_people"], all_templates=False
    )


def _check_supply(key: str, n: int, two_hop_fraction: float, n_people: int, all_templates: bool) -> None:
    n_two = round(n * two_hop_fraction)
    for kind, k in (("direct", n - n_two), ("2hop", n_two)):
        per_person = sum(len(RELATIONS[r][4]) if all_templates else 1 for r in relations_of(kind))
        supply = n_people * per_person
        if k > supply:
            _fail(
                key,
                f"asks for {k} {kind} questions but the people allow only {supply} "
                "distinct ones; lower it or add people",
            )


def check_world_matches(world, cfg: dict) -> None:
    """The sections that define the world's facts must equal those it was built with, or the
    corpus and tasks would describe a different world than ``world.json``."""
    for section in ("entities", "language"):
        if world.config.get(section) != cfg[section]:
            _fail(
                section,
                "differs from the config this world was built with; rebuild the "
                "world with build_world(cfg, seed) first",
            )
