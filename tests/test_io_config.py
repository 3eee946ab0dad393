"""Unit tests of atomic output and of the workflow config's cross-field checks."""
from __future__ import annotations

import copy

import pytest
import yaml

from conftest import REPO
from sahlab.config import ConfigError, check_config, model_names
from sahlab.io import atomic_path, read_examples, write_jsonl


def test_atomic_path_leaves_nothing_when_the_block_fails(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []        # no temporary left behind either


def test_atomic_dir_replaces_an_old_folder_only_on_success(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with atomic_path(target, is_dir=True) as tmp:
        (tmp / "new.txt").write_text("new")
        assert (target / "old.txt").exists()     # the old output is intact while writing
    assert [p.name for p in target.iterdir()] == ["new.txt"]


def test_read_examples_names_the_row_and_missing_field(tmp_path):
    path = tmp_path / "t.jsonl"
    write_jsonl(path, [{"id": "a", "prompt": "p", "reference": "r", "metadata": {}},
                       {"id": "b", "prompt": "p", "metadata": {}}])
    with pytest.raises(ValueError, match=r"t.jsonl:2 \(id='b'\).*reference"):
        read_examples(path)


@pytest.fixture
def default_config():
    return yaml.safe_load((REPO / "config/config.yaml").read_text())


def test_default_config_passes(default_config):
    check_config(default_config)
    names = model_names(default_config)
    assert names["built"] == ["small", "large"] and names["hub"] == []


@pytest.mark.parametrize("mutate, key", [
    (lambda c: c["tasks"].update(poetry={"source": "embedded"}), "tasks.poetry"),
    (lambda c: c["world"].update(entities={"n_cities": -1}), "world"),
    (lambda c: c["scales"]["small"].pop("pretrain"), "scales.small"),
    (lambda c: c["scales"].update({"x-y": c["scales"]["small"]}), "scales.x-y"),
    (lambda c: c["posttrain"]["stages"].append(dict(c["posttrain"]["stages"][0])), "posttrain.stages"),
    (lambda c: c["scales"]["small"]["build"].update(num_heads=5), "scales.small.build"),
])
def test_bad_config_is_named(default_config, mutate, key):
    cfg = copy.deepcopy(default_config)
    mutate(cfg)
    with pytest.raises(ConfigError, match=f"'{key}"):
        check_config(cfg)


def test_hub_scale_needs_no_build(default_config):
    cfg = copy.deepcopy(default_config)
    cfg["scales"] = {"s": {"base": {"hub": "org/base"}, "post": {"hub": "org/instruct"}}}
    check_config(cfg)
    assert model_names(cfg) == {"built": [], "hub": ["s-base", "s-post"], "built_post": []}
