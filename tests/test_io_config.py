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
    assert list(tmp_path.iterdir()) == []  # no temporary left behind either


def test_atomic_dir_replaces_an_old_folder_only_on_success(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with atomic_path(target, is_dir=True) as tmp:
        (tmp / "new.txt").write_text("new")
        assert (target / "old.txt").exists()  # the old output is intact while writing
    assert [p.name for p in target.iterdir()] == ["new.txt"]


def test_read_examples_names_the_row_and_missing_field(tmp_path):
    path = tmp_path / "t.jsonl"
    write_jsonl(
        path,
        [
            {"id": "a", "prompt": "p", "reference": "r", "metadata": {}},
            {"id": "b", "prompt": "p", "metadata": {}},
        ],
    )
    with pytest.raises(ValueError, match=r"t.jsonl:2 \(id='b'\).*reference"):
        read_examples(path)


@pytest.fixture
def default_config():
    return yaml.safe_load((REPO / "config/config.yaml").read_text())


def test_default_config_passes(default_config):
    check_config(default_config)
    names = model_names(default_config)
    assert names["built"] == ["small", "large"] and names["hub"] == []


@pytest.mark.parametrize(
    "mutate, key",
    [
        (lambda c: c["tasks"].update(poetry={"source": "embedded"}), "tasks.poetry"),
        (lambda c: c["world"].update(entities={"n_cities": -1}), "world"),
        (lambda c: c["scales"]["small"].pop("pretrain"), "scales.small"),
        (lambda c: c["scales"].update({"x-y": c["scales"]["small"]}), "scales.x-y"),
        (lambda c: c["posttrain"]["stages"].append(dict(c["posttrain"]["stages"][0])), "posttrain.stages"),
        (lambda c: c["scales"]["small"]["build"].update(num_heads=5), "scales.small.build"),
    ],
)
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


def test_a_scale_may_give_only_its_post_trained_model(default_config):
    """A post-only scale has <scale>-random (its architecture re-initialised) and <scale>-post;
    studies that name its missing base say so before any job runs."""
    from sahlab.complexity.config import check_complexity_config
    from sahlab.config import available_models, scale_stages
    from sahlab.eft.config import check_eft_config
    from sahlab.inductive.config import check_inductive_config
    from sahlab.scaling.config import check_scaling_config

    cfg = copy.deepcopy(default_config)
    cfg["scales"]["chat"] = {"post": {"hub": "org/instruct"}}
    check_config(cfg)
    assert scale_stages(cfg)["chat"] == ["random", "post"]
    assert scale_stages(cfg)["small"] == ["random", "base", "post"]
    assert "chat-post" in available_models(cfg) and "chat-base" not in available_models(cfg)
    names = model_names(cfg)
    assert "chat-post" in names["hub"] and "chat" not in names["built_post"]
    assert "chat-base" not in check_complexity_config(cfg)["models"]  # default: what exists
    cfg["complexity"]["models"] = ["chat-base"]
    with pytest.raises(
        ConfigError,
        match=r"complexity.models.*scale 'chat' has no base model "
        r"\(it gives only \['random', 'post'\]\)",
    ):
        check_complexity_config(cfg)
    cfg["complexity"]["models"] = None
    cfg["scaling"]["models"] = ["chat-base"]
    with pytest.raises(ConfigError, match=r"scaling.models.*unknown model.*chat-base"):
        check_scaling_config(cfg)
    cfg["scaling"]["models"] = ["chat-post"]
    check_scaling_config(cfg)
    cfg["eft"]["large"] = "chat"
    with pytest.raises(ConfigError, match=r"eft.large.*scale 'chat'.*only \['random', 'post'\]"):
        check_eft_config(cfg)
    cfg["inductive"]["scales"] = ["chat"]
    with pytest.raises(ConfigError, match=r"inductive.scales.*scale 'chat' gives only"):
        check_inductive_config(cfg)
    cfg["scales"]["empty"] = {}
    with pytest.raises(ConfigError, match=r"scales.empty.*'post: \{hub"):
        check_config(cfg)
