"""The evaluation harness end to end on a hub-style model folder built by the test: fetch it into
the common on-disk form, evaluate it on every embedded task, and re-initialise it (hub random init)."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"

import pytest  # noqa: E402
import torch  # noqa: E402

from sahlab.eval.policy import ModelPolicy  # noqa: E402
from sahlab.eval.run import evaluate_policy  # noqa: E402
from sahlab.models.registry import fetch_hub_model, llama_config, load_model, read_model_meta, reinit_like  # noqa: E402
from sahlab.world.build import build_world, make_task, validate_world_config  # noqa: E402

torch.set_num_threads(1)
SMALL_WORLD = {
    "entities": {
        "n_corpus_people": 20,
        "n_new_people": 4,
        "n_cities": 4,
        "n_companies": 4,
        "n_universities": 2,
    },
    "tasks": {t: {"train": 16, "test": 8} for t in ("math", "translation", "instructions", "multihop")},
    "newknowledge": {"test": 8},
}


@pytest.fixture(scope="module")
def hub_style_folder(tmp_path_factory):
    """A tiny Llama + tokenizer saved as a hub repository holds them (no sahlab.json)."""
    from transformers import LlamaForCausalLM

    from sahlab.models.tokenizer import train_tokenizer

    tok = train_tokenizer(
        ["Anna has 3 apples. #### 3", "Translate into X: a cat."] * 30,
        vocab_size=300,
        out_dir=tmp_path_factory.mktemp("tok") / "tok",
    )
    torch.manual_seed(0)
    build = {
        "arch": "llama",
        "hidden_size": 32,
        "num_layers": 2,
        "num_heads": 2,
        "intermediate_size": 64,
        "max_position_embeddings": 256,
    }
    model = LlamaForCausalLM(llama_config(build, len(tok), tok))
    folder = tmp_path_factory.mktemp("hub") / "org--tiny"
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def test_hub_style_model_is_fetched_and_evaluated_on_every_task(tmp_path, hub_style_folder):
    out = tmp_path / "tiny-post"
    fetch_hub_model({"hub": str(hub_style_folder), "dtype": "float32"}, out)
    assert read_model_meta(out)["prompt_format"] == "chat"  # a post model with a template
    cfg = validate_world_config(SMALL_WORLD)
    world = build_world(cfg, seed=3)
    tasks = {
        t: make_task(world, t, cfg, seed=3)["test"]
        for t in ("math", "translation", "instructions", "multihop")
    }
    results = evaluate_policy(
        ModelPolicy(load_model(out)), "chat", tasks, max_new_tokens=8, batch_size=4, n_boot=50, seed=0
    )
    assert set(results) == set(tasks)
    for task, (records, metrics) in results.items():
        assert len(records) == len(tasks[task])
        assert all(r["id"] == ex["id"] for r, ex in zip(records, tasks[task]))
        assert {"format", "error_format", "error_reasoning"} <= set(metrics)
        for m in metrics.values():
            assert m["ci_low"] <= m["value"] <= m["ci_high"]
    # an untrained model can't do arithmetic: the harness must not report otherwise
    assert results["math"][1]["accuracy"]["value"] == 0.0


def test_reinit_like_keeps_architecture_and_tokenizer_with_fresh_weights(tmp_path, hub_style_folder):
    base = tmp_path / "tiny-base"
    fetch_hub_model({"hub": str(hub_style_folder), "dtype": "float32"}, base)
    a, b = (
        reinit_like(base, tmp_path / "tiny-random", seed=1),
        reinit_like(base, tmp_path / "x-random", seed=1),
    )
    ma, mb, mbase = load_model(a), load_model(b), load_model(base)
    assert ma.config.hidden_size == mbase.config.hidden_size
    assert read_model_meta(a)["stage"] == "random"
    pa, pb, pbase = (dict(m.named_parameters()) for m in (ma, mb, mbase))
    name = "model.layers.0.mlp.up_proj.weight"
    assert torch.equal(pa[name], pb[name])  # same seed, same weights
    assert not torch.equal(pa[name], pbase[name])  # but not the base model's
