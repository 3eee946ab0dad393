"""Defaults and validation of the world config (the ``world:`` section of config.yaml)."""

from __future__ import annotations

import math

from sahlab.schema import SchemaError, section_defaults, subschema, validate_section

from .multihop import RELATIONS, group_sizes, relations_of

SOURCES = ("bios", "entities", "math", "language", "parallel", "instructions", "qa", "sequences", "code")
TASKS = ("math", "translation", "instructions", "multihop", "coding")

# Defaults, types and ranges of every key: config/schema.yaml (`world`), the one truth; this
# module keeps the checks that relate keys to each other or to the world's question supply.
DEFAULTS: dict = section_defaults("world")


def _fail(key: str, problem: str) -> None:
    raise ValueError(f"world config key '{key}': {problem}")


def _as_schema_types(cfg: dict) -> None:
    """Integers given as 4.0e6 become int, rates given as 0 become float (the schema's types)."""
    props = subschema("world")["properties"]
    for section, sch in props.items():
        if section == "tasks":
            for task in cfg["tasks"].values():
                for split in task:
                    task[split] = int(task[split])
            continue
        for key, ks in sch["properties"].items():
            v = cfg[section][key]
            if ks.get("type") == "integer":
                cfg[section][key] = int(v)
            elif ks.get("type") == "number":
                cfg[section][key] = float(v)


def validate_world_config(cfg: dict | None) -> dict:
    """Fill defaults into `cfg` and check every value; returns a new dict.

    Types, ranges and unknown keys are checked against config/schema.yaml (`world`); then the
    cross-field rules: step ranges, step weights, test inputs, a mix that sums to 1, and task
    sizes larger than the number of distinct questions the world can produce. Raises ValueError
    naming the key (e.g. ``world config key 'corpus.mix': ...``).
    """
    cfg = {} if cfg is None else cfg
    try:
        out = validate_section("world", cfg, prefix="", label="world config key")
    except SchemaError as e:
        raise ValueError(str(e)) from None
    _as_schema_types(out)
    given_mix = (cfg.get("corpus") or {}).get("mix")
    if given_mix is not None:  # a mix replaces the default as a whole: omitted sources get 0
        out["corpus"]["mix"] = {s: given_mix.get(s, 0.0) for s in SOURCES}
    if out["math"]["min_steps"] > out["math"]["max_steps"]:
        _fail("math.min_steps", f"must not exceed math.max_steps ({out['math']['max_steps']})")
    cc = out["coding"]
    if cc["min_steps"] > cc["max_steps"]:
        _fail("coding.min_steps", f"must not exceed coding.max_steps ({cc['max_steps']})")
    w = cc["step_weights"]
    n_lengths = cc["max_steps"] - cc["min_steps"] + 1
    if w is not None and (len(w) != n_lengths or not all(map(math.isfinite, w)) or sum(w) <= 0):
        _fail(
            "coding.step_weights",
            f"must be null or {n_lengths} non-negative weights (one per "
            f"length {cc['min_steps']}..{cc['max_steps']}), not all 0, "
            f"got {w!r}",
        )
    if cc["max_input"] + 1 < cc["n_tests"] + 2:
        _fail(
            "coding.max_input",
            f"must leave {cc['n_tests'] + 2} distinct inputs 0..max_input "
            "(2 shown examples + coding.n_tests hidden tests)",
        )
    mix = out["corpus"]["mix"]
    if abs(sum(mix.values()) - 1.0) > 1e-6:
        _fail("corpus.mix", f"proportions must sum to 1, they sum to {sum(mix.values()):.6g}")
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
