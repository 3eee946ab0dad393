"""World config validation: defaults fill in, and every bad value names its key."""

from __future__ import annotations

import copy

import pytest

from sahlab.world.build import DEFAULTS, validate_world_config


def test_defaults_validate_and_fill():
    assert validate_world_config({}) == DEFAULTS
    assert validate_world_config(None) == DEFAULTS
    cfg = validate_world_config({"entities": {"n_cities": 9}, "tasks": {"math": {"test": 7}}})
    assert cfg["entities"]["n_cities"] == 9 and cfg["entities"]["n_companies"] == 24
    assert cfg["tasks"]["math"] == {"train": 4096, "test": 7}
    # a given mix replaces the default mix; omitted sources get 0
    cfg = validate_world_config({"corpus": {"mix": {"bios": 0.5, "math": 0.5}}})
    assert cfg["corpus"]["mix"]["language"] == 0 and cfg["corpus"]["mix"]["bios"] == 0.5
    before = copy.deepcopy(DEFAULTS)
    validate_world_config({"entities": {"n_cities": 3}})
    assert DEFAULTS == before  # validation never mutates the defaults


@pytest.mark.parametrize(
    "cfg,key",
    [
        ({"entitys": {}}, "'entitys'"),
        ({"entities": {"n_citiez": 3}}, "'entities.n_citiez'"),
        ({"entities": {"n_cities": -1}}, "'entities.n_cities'"),
        ({"entities": {"n_cities": 0}}, "'entities.n_cities'"),
        ({"entities": {"n_cities": 2.5}}, "'entities.n_cities'"),
        ({"entities": {"n_cities": "many"}}, "'entities.n_cities'"),
        ({"entities": {"pronoun_rate": 1.5}}, "'entities.pronoun_rate'"),
        ({"tasks": {"math": {"train": -5}}}, "'tasks.math.train'"),
        ({"tasks": {"poetry": {"train": 5}}}, "'tasks.poetry'"),
        ({"corpus": {"mix": {"bios": 0.5, "math": 0.4}}}, "'corpus.mix'"),
        ({"corpus": {"mix": {"bios": 0.5, "memes": 0.5}}}, "'corpus.mix.memes'"),
        ({"corpus": {"mix": {"bios": 1.5, "math": -0.5}}}, "'corpus.mix.math'"),
        ({"corpus": {"val_fraction": 0.9}}, "'corpus.val_fraction'"),
        ({"corpus": {"total_chars": 0}}, "'corpus.total_chars'"),
        ({"math": {"min_steps": 4, "max_steps": 3}}, "'math.min_steps'"),
        (
            {"instructions": {"instruction_ids": ["punctuation:no_exclamation"]}},
            "'instructions.instruction_ids'",
        ),
        ({"language": {"name": "Two Words"}}, "'language.name'"),
        ({"tasks": {"multihop": {"test": 100_000}}}, "'tasks.multihop.test'"),
        ({"entities": {"n_new_people": 1}}, "'newknowledge.test'"),
        ({"corpus": "big"}, "'corpus'"),
        (
            {"multihop": {"test_people_fraction": 0.6, "corpus_qa_fraction": 0.4}},
            "'multihop.corpus_qa_fraction'",
        ),
        ({"corpus": {"mix": {"bios": 0.9, "qa": 0.1}}}, "'corpus.mix.qa'"),  # QA but no QA people
    ],
)
def test_errors_name_the_key(cfg, key):
    with pytest.raises(ValueError, match=key):
        validate_world_config(cfg)
