"""Tests of pre-training (sahlab.models.pretrain): packing, resumption, init, losses."""

import json
import math
import random

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from sahlab.models.pretrain import (
    PackedBlocks,
    corpus_loss,
    init_random,
    pack_documents,
    pretrain,
    resolve_hparams,
)
from sahlab.models.registry import read_model_meta
from sahlab.models.tokenizer import train_tokenizer

BUILD = {
    "arch": "llama",
    "hidden_size": 32,
    "num_layers": 2,
    "num_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 64,
}
HP = {
    "seq_len": 32,
    "batch_size": 4,
    "max_steps": 20,
    "eval_every": 5,
    "save_every": 4,
    "log_every": 1,
    "lr": 3e-3,
}


def _docs(seed: int, n: int) -> list[dict]:
    rng = random.Random(seed)
    words = "the cat sat on a mat with dogs and birds in the house by the river".split()
    docs = []
    for _ in range(n):
        a, b = rng.randint(0, 99), rng.randint(0, 99)
        text = " ".join(rng.choice(words) for _ in range(rng.randint(5, 40))) + f" {a}+{b}={a + b}"
        docs.append({"text": text, "source": "synthetic"})
    return docs


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    torch.set_num_threads(1)
    train, val = _docs(0, 120), _docs(1, 25)
    tok_dir = tmp_path_factory.mktemp("tok") / "tokenizer"
    tok = train_tokenizer([d["text"] for d in train], 300, tok_dir)
    return {"train": train, "val": val, "tok_dir": tok_dir, "tok": tok}


def _weights(model_dir):
    return load_file(str(model_dir / "model.safetensors"))


def _same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


class Crash(TrainerCallback):
    """Simulate a killed job: abort after optimizer step `at` (checkpoints exist up to at - 2),
    or, with at=None, at the very end of training (after the last checkpoint was saved)."""

    def __init__(self, at: int | None):
        self.at = at

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.at:
            raise KeyboardInterrupt("simulated kill")

    def on_train_end(self, args, state, control, **kwargs):
        if self.at is None:
            raise KeyboardInterrupt("simulated kill after the last step")


def _run(corpus, tmp_path, name, hp=HP, seed=3, **kw):
    return pretrain(
        BUILD,
        corpus["tok_dir"],
        corpus["train"],
        corpus["val"],
        tmp_path / name,
        tmp_path / f"ckpt_{name}",
        hp,
        seed=seed,
        threads=1,
        **kw,
    )


def test_resume_is_identical_to_uninterrupted(corpus, tmp_path):
    full = _run(corpus, tmp_path, "full")
    with pytest.raises(KeyboardInterrupt):
        _run(corpus, tmp_path, "resumed", callbacks=[Crash(at=10)])
    assert not (tmp_path / "resumed").exists()  # a killed run leaves no finished-looking output
    assert (tmp_path / "ckpt_resumed" / "checkpoint-8").is_dir()
    resumed = _run(corpus, tmp_path, "resumed")
    assert resumed["resumed_from"] == "checkpoint-8" and full["resumed_from"] is None
    assert resumed["steps"] == full["steps"] == HP["max_steps"]
    # Deterministic data order + restored optimizer/scheduler state: bit-identical weights.
    assert _same_weights(_weights(tmp_path / "full"), _weights(tmp_path / "resumed"))
    curve_full = json.loads((tmp_path / "full" / "loss_curve.json").read_text())
    curve_res = json.loads((tmp_path / "resumed" / "loss_curve.json").read_text())
    assert curve_full == curve_res
    # Checkpoints are cleared after success (keep_checkpoints is off by default).
    assert not list((tmp_path / "ckpt_resumed").glob("checkpoint-*"))
    # Killed after the last step but before the model was written: nothing left to train.
    with pytest.raises(KeyboardInterrupt):
        _run(corpus, tmp_path, "late", callbacks=[Crash(at=None)])
    late = _run(corpus, tmp_path, "late")
    assert late["resumed_from"] == "checkpoint-20" and late["steps"] == HP["max_steps"]
    assert _same_weights(_weights(tmp_path / "full"), _weights(tmp_path / "late"))


@pytest.fixture(scope="module")
def uninterrupted(corpus, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("uninterrupted")
    return _run(corpus, tmp, "full"), _weights(tmp / "full")


def _truncate(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


@pytest.mark.reliability
@pytest.mark.parametrize(
    "damage",
    ["killed_in_save", "no_trainer_state", "truncated_state", "truncated_weights", "truncated_optimizer"],
)
def test_incomplete_checkpoint_is_skipped(corpus, tmp_path, monkeypatch, uninterrupted, damage):
    """A kill (or full disk) while checkpoint-8 is written: the next run drops it, resumes from
    checkpoint-4 and still ends bit-identical to an uninterrupted run."""
    from transformers import Trainer

    if damage == "killed_in_save":
        # The real thing: die after the weights and optimizer, before trainer_state.json.
        real = Trainer._save_rng_state

        def die_at_8(self, output_dir):
            if self.state.global_step == 8:
                raise KeyboardInterrupt("simulated kill mid-checkpoint")
            return real(self, output_dir)

        monkeypatch.setattr(Trainer, "_save_rng_state", die_at_8)
        with pytest.raises(KeyboardInterrupt):
            _run(corpus, tmp_path, "m")
        monkeypatch.undo()
    else:
        with pytest.raises(KeyboardInterrupt):
            _run(corpus, tmp_path, "m", callbacks=[Crash(at=10)])
        ckpt = tmp_path / "ckpt_m" / "checkpoint-8"
        if damage == "no_trainer_state":
            (ckpt / "trainer_state.json").unlink()
        else:
            _truncate(
                ckpt
                / {
                    "truncated_state": "trainer_state.json",
                    "truncated_weights": "model.safetensors",
                    "truncated_optimizer": "optimizer.pt",
                }[damage]
            )
    assert (tmp_path / "ckpt_m" / "checkpoint-8").is_dir()
    resumed = _run(corpus, tmp_path, "m")
    assert resumed["resumed_from"] == "checkpoint-4" and resumed["steps"] == HP["max_steps"]
    full, full_weights = uninterrupted
    assert _same_weights(full_weights, _weights(tmp_path / "m"))
    assert resumed["val_loss"] == full["val_loss"]


def test_checkpoint_of_other_config_is_not_resumed(corpus, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _run(corpus, tmp_path, "m", callbacks=[Crash(at=6)])
    other = _run(corpus, tmp_path, "m", hp={**HP, "lr": 1e-3, "max_steps": 8, "eval_every": 0})
    assert other["resumed_from"] is None and other["steps"] == 8


def test_outputs_and_summary(corpus, tmp_path, capfd):
    s = _run(corpus, tmp_path, "tiny-base")
    logged = capfd.readouterr()
    # Progress bar and loss lines go to stderr, which the rules' logs capture.
    assert "step 20: {'loss'" in logged.err and "'eval_loss'" in logged.err
    assert "'loss'" not in logged.out and "20/20" in logged.err
    out = tmp_path / "tiny-base"
    meta = read_model_meta(out)
    assert (meta["prompt_format"], meta["stage"], meta["scale"]) == ("native", "base", "tiny")
    assert meta["source"] == {"build": BUILD, "seed": 3}
    curve = json.loads((out / "loss_curve.json").read_text())
    assert [e["step"] for e in curve["train"]] == list(range(1, 21))
    assert [e["step"] for e in curve["val"]] == [5, 10, 15, 20]
    assert s["val_perplexity"] == pytest.approx(math.exp(s["val_loss"]))
    assert s["tokens_seen"] == 20 * 4 * 32 and s["tokens_per_s"] > 0
    assert s["final_train_loss"] == curve["train"][-1]["loss"]
    assert s["params"] == sum(t.numel() for t in _weights(out).values())
    assert {"config.json", "tokenizer.json", "chat_template.jinja"} <= {p.name for p in out.iterdir()}
    # Learning happened: the trained model beats its own initialisation on held-out text.
    init_random(BUILD, corpus["tok_dir"], tmp_path / "init", seed=3)
    loss_init = corpus_loss(tmp_path / "init", corpus["val"], 32, 8)
    loss_trained = corpus_loss(out, corpus["val"], 32, 8)
    assert loss_trained < loss_init - 0.3
    assert abs(loss_init - math.log(len(corpus["tok"]))) < 0.5  # random init ~ uniform over vocab


def test_init_random_is_pretrain_start(corpus, tmp_path):
    init_random(BUILD, corpus["tok_dir"], tmp_path / "init_a", seed=5)
    init_random(BUILD, corpus["tok_dir"], tmp_path / "init_b", seed=5)
    init_random(BUILD, corpus["tok_dir"], tmp_path / "init_c", seed=6)
    a, b, c = (_weights(tmp_path / n) for n in ("init_a", "init_b", "init_c"))
    assert _same_weights(a, b) and not _same_weights(a, c)
    meta = read_model_meta(tmp_path / "init_a")
    assert (meta["prompt_format"], meta["stage"], meta["scale"]) == ("native", "random", None)
    init_random(BUILD, corpus["tok_dir"], tmp_path / "init_d", seed=5, scale="small")
    assert read_model_meta(tmp_path / "init_d")["scale"] == "small"
    # With lr = 0 AdamW leaves every weight where it started: pre-training's start is init_random's.
    _run(corpus, tmp_path, "lr0", hp={**HP, "lr": 0.0, "max_steps": 3, "eval_every": 0}, seed=5)
    assert _same_weights(a, _weights(tmp_path / "lr0"))


def test_pack_documents(corpus):
    tok = corpus["tok"]
    docs = ["ab cd", "12", "xyz"]
    blocks, tail = pack_documents(tok, docs, 4, keep_tail=True)
    flat = []
    for d in docs:
        flat += [tok.bos_token_id, *tok.encode(d, add_special_tokens=False), tok.eos_token_id]
    assert blocks.shape == (len(flat) // 4, 4)
    assert blocks.flatten().tolist() + tail.tolist() == flat
    assert pack_documents(tok, [{"text": d} for d in docs], 4).tolist() == blocks.tolist()
    with pytest.raises(ValueError, match="document #1"):
        pack_documents(tok, ["ok", {"txt": "no"}], 4)


def test_packed_blocks_order():
    blocks = torch.arange(10).view(5, 2)
    ds = PackedBlocks(blocks, n_items=12, seed=7)
    firsts = [ds[i]["input_ids"][0].item() // 2 for i in range(12)]
    assert sorted(firsts[:5]) == list(range(5)) and sorted(firsts[5:10]) == list(range(5))
    assert firsts[:5] != firsts[5:10]  # each pass is reshuffled
    other = PackedBlocks(blocks, n_items=12, seed=8)
    assert [other[i]["input_ids"][0].item() // 2 for i in range(12)] != firsts
    again = PackedBlocks(blocks, n_items=12, seed=7)
    assert [again[i]["input_ids"][0].item() // 2 for i in reversed(range(12))] == firsts[::-1]
    assert torch.equal(ds[3]["input_ids"], ds[3]["labels"])
    with pytest.raises(IndexError):
        ds[12]


def test_corpus_loss_matches_hf_loss(corpus, tmp_path):
    from transformers import AutoModelForCausalLM

    init_random(BUILD, corpus["tok_dir"], tmp_path / "m", seed=1)
    docs = [d["text"] for d in corpus["val"][:6]]
    ours = corpus_loss(tmp_path / "m", docs, 16, 3)
    # Independent: HF's own mean loss per block, weighted by the tokens each block predicts.
    model = AutoModelForCausalLM.from_pretrained(str(tmp_path / "m")).eval()
    blocks, tail = pack_documents(corpus["tok"], docs, 16, keep_tail=True)
    rows = [b for b in blocks] + ([tail] if len(tail) > 1 else [])
    with torch.no_grad():
        total = sum(
            model(input_ids=r[None].long(), labels=r[None].long()).loss.item() * (len(r) - 1) for r in rows
        )
    assert ours == pytest.approx(total / sum(len(r) - 1 for r in rows), rel=1e-5)


def test_resolve_hparams():
    hp = resolve_hparams({"tokens": 1000, "seq_len": 10, "batch_size": 3})
    assert hp["max_steps"] == 34 and hp["tokens"] == 34 * 30
    with pytest.raises(ValueError, match="unknown pre-training hparam"):
        resolve_hparams({"max_steps": 1, "learning_rate": 1e-3})
    with pytest.raises(ValueError, match="exactly one of max_steps and tokens"):
        resolve_hparams({"max_steps": 1, "tokens": 100})
    with pytest.raises(ValueError, match="warmup_ratio"):
        resolve_hparams({"max_steps": 1, "warmup_ratio": 1.5})


def test_bad_build_and_corpus(corpus, tmp_path):
    with pytest.raises(ValueError, match="num_layers"):
        init_random(
            {k: v for k, v in BUILD.items() if k != "num_layers"}, corpus["tok_dir"], tmp_path / "x", seed=0
        )
    with pytest.raises(ValueError, match="val corpus has fewer tokens"):
        pretrain(
            BUILD,
            corpus["tok_dir"],
            corpus["train"],
            [{"text": "hi"}],
            tmp_path / "y",
            tmp_path / "cy",
            HP,
            seed=0,
            threads=1,
        )
    with pytest.raises(ValueError, match="max_position_embeddings"):
        pretrain(
            BUILD,
            corpus["tok_dir"],
            corpus["train"],
            corpus["val"],
            tmp_path / "z",
            tmp_path / "cz",
            {**HP, "seq_len": 128},
            seed=0,
            threads=1,
        )
