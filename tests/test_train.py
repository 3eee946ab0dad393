"""Post-training with TRL on a tiny Llama built here (2 layers, hidden 64, ~130k parameters).

Every check is measured independently of the trainer's own logs where possible: losses and
margins are recomputed from the saved folders, reward models are re-run on the pairs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

from sahlab.models.prompting import BOS, CHAT_TEMPLATE, EOS, PAD, SPECIAL_TOKENS, format_prompt  # noqa: E402
from sahlab.train import make_preference_pairs, train  # noqa: E402
from sahlab.train.common import load_tokenizer, resolve_hparams  # noqa: E402

SENTENCES = [
    "Tom has 3 apples and buys 4 more. How many apples does he have?",
    "3 + 4 = 7\n#### 7",
    "Translate to Zorbian: the cat sleeps on the mat.",
    "lo gato dorma sur la tapo",
    "WRITE IN CAPITALS ONLY. the river flows north.",
    "THE RIVER FLOWS NORTH.",
    "Where was Ana born? Quell.",
]


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory) -> Path:
    """A randomly initialised tiny Llama + BPE tokenizer with the chat template, prompt format plain."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(
        SENTENCES * 4,
        trainers.BpeTrainer(
            vocab_size=360,
            special_tokens=SPECIAL_TOKENS,
            show_progress=False,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
    )
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        chat_template=CHAT_TEMPLATE,
        extra_special_tokens=[t for t in SPECIAL_TOKENS if t not in (BOS, EOS, PAD)],
    )
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(hf),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        intermediate_size=128,
        max_position_embeddings=256,
        bos_token_id=hf.bos_token_id,
        eos_token_id=hf.eos_token_id,
        pad_token_id=hf.pad_token_id,
        tie_word_embeddings=False,
    )
    folder = tmp_path_factory.mktemp("models") / "tiny-base"
    LlamaForCausalLM(config).save_pretrained(folder)
    hf.save_pretrained(folder)
    (folder / "sahlab.json").write_text(
        json.dumps({"prompt_format": "plain", "stage": "base", "scale": "tiny"})
    )
    return folder


def math_rows(n: int) -> list[dict]:
    rows = []
    for i in range(n):
        a, b = i % 5 + 1, (i * 3) % 4 + 1
        rows.append(
            {
                "id": f"m{i}",
                "prompt": f"Tom has {a} apples and buys {b} more. How many apples?",
                "reference": f"{a} + {b} = {a + b}\n#### {a + b}",
                "metadata": {"answer": str(a + b)},
            }
        )
    return rows


def caps_rows(n: int) -> list[dict]:
    """Instruction rows whose compliant answer is in capitals (the corruption lower-cases it)."""
    texts = [
        "the river flows north",
        "the cat sleeps on the mat",
        "ana was born in quell",
        "tom buys four apples",
    ]
    return [
        {
            "id": f"c{i}",
            "prompt": f"Write in capitals only: {texts[i % 4]} ({i}).",
            "reference": texts[i % 4].upper() + ".",
            "metadata": {"instruction_id_list": ["change_case:english_capital"], "kwargs": [{}]},
        }
        for i in range(n)
    ]


def translation_rows(n: int) -> list[dict]:
    pairs = [
        ("the cat sleeps", "lo gato dorma"),
        ("on the mat", "sur la tapo"),
        ("the river flows", "la rivero fluas"),
    ]
    return [
        {
            "id": f"t{i}",
            "prompt": f"Translate to Zorbian: {pairs[i % 3][0]}.",
            "reference": pairs[i % 3][1],
            "metadata": {"src_lang": "en", "tgt_lang": "zb"},
        }
        for i in range(n)
    ]


def load_lm(folder):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32).eval()


def answer_logprob(model, tok, prompt: str, answer: str) -> tuple[float, int]:
    """Summed log p(answer + EOS | chat-rendered prompt) and the number of answer tokens."""
    p = tok(format_prompt(tok, prompt, "chat"), add_special_tokens=False)["input_ids"]
    a = tok(answer, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    ids = torch.tensor([p + a])
    with torch.no_grad():
        logp = torch.log_softmax(model(ids).logits[0, :-1].float(), -1)
    targets = ids[0, 1:]
    token_lp = logp[torch.arange(len(targets)), targets][len(p) - 1 :]
    return token_lp.sum().item(), len(a)


def completion_nll(folder, rows) -> float:
    model, tok = load_lm(folder), load_tokenizer(folder)
    total, count = 0.0, 0
    for r in rows:
        lp, n = answer_logprob(model, tok, r["prompt"], r["reference"])
        total, count = total - lp, count + n
    return total / count


def weights(folder) -> dict:
    from safetensors.torch import load_file

    return load_file(str(Path(folder) / "model.safetensors"))


SFT = {"lr": 1e-2, "max_steps": 12, "batch_size": 4, "max_length": 128, "warmup": 0}


# --------------------------------------------------------------------------- SFT
def test_sft_full_reduces_loss_and_saves_a_chat_model(base_dir, tmp_path):
    rows = math_rows(12)
    out = tmp_path / "sft"
    summary = train(base_dir, rows, "sft", SFT, seed=0, out_dir=out)
    assert summary["steps"] == 12 and summary["n_examples"] == 12
    before, after = completion_nll(base_dir, rows), completion_nll(out, rows)
    assert after < 0.7 * before, (before, after)
    info = json.loads((out / "sahlab.json").read_text())
    assert info["prompt_format"] == "chat" and info["stage"] == "post" and info["scale"] == "tiny"
    assert (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file()
    log = json.loads((out / "train_log.json").read_text())
    losses = [e["loss"] for e in log["log_history"] if "loss" in e]
    assert len(losses) == 12 and losses[-1] < losses[0]
    assert not list(tmp_path.glob(".sft.*"))  # no temporary folder left behind


@pytest.mark.reliability
@pytest.mark.parametrize("kill", ["mid_checkpoint", "after_checkpoint"])
def test_sft_resumes_from_its_last_complete_checkpoint(base_dir, tmp_path, monkeypatch, kill):
    """save_every > 0: a job killed while checkpoint-4 is written resumes from checkpoint-2, one
    killed right after it from checkpoint-4; both end bit-identical to an uninterrupted run."""
    from transformers import Trainer

    hp = {**SFT, "max_steps": 6, "save_every": 2}
    rows = math_rows(12)
    full = train(base_dir, rows, "sft", hp, seed=1, out_dir=tmp_path / "full")
    name = "_save_rng_state" if kill == "mid_checkpoint" else "_save_checkpoint"
    real = getattr(Trainer, name)

    def die_at_4(self, *args, **kwargs):
        if self.state.global_step != 4:
            return real(self, *args, **kwargs)
        if kill == "after_checkpoint":
            real(self, *args, **kwargs)
        raise KeyboardInterrupt("simulated kill")

    monkeypatch.setattr(Trainer, name, die_at_4)
    with pytest.raises(KeyboardInterrupt):
        train(base_dir, rows, "sft", hp, seed=1, out_dir=tmp_path / "m")
    monkeypatch.undo()
    assert (tmp_path / ".m.train-work" / "checkpoint-4").is_dir() and not (tmp_path / "m").exists()
    again = train(base_dir, rows, "sft", hp, seed=1, out_dir=tmp_path / "m")
    assert again["resumed_from"] == ("checkpoint-2" if kill == "mid_checkpoint" else "checkpoint-4")
    assert full["resumed_from"] is None and again["steps"] == full["steps"] == 6
    wa, wb = weights(tmp_path / "full"), weights(tmp_path / "m")
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    assert not (tmp_path / ".m.train-work").exists()  # scratch removed after success


def test_sft_is_deterministic_for_a_seed(base_dir, tmp_path):
    hp = {**SFT, "max_steps": 3}
    train(base_dir, math_rows(8), "sft", hp, seed=1, out_dir=tmp_path / "a")
    train(base_dir, math_rows(8), "sft", hp, seed=1, out_dir=tmp_path / "b")
    wa, wb = weights(tmp_path / "a"), weights(tmp_path / "b")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_sft_lora_merged_equals_peft_model(base_dir, tmp_path):
    from peft import PeftModel

    rows = math_rows(12)
    out = tmp_path / "lora"
    hp = {
        **SFT,
        "lora": {"r": 4, "alpha": 32, "target_modules": ["q_proj", "v_proj", "up_proj", "down_proj"]},
    }
    summary = train(base_dir, rows, "sft", hp, seed=0, out_dir=out)
    assert summary["lora"] == 4
    assert (out / "adapter" / "adapter_model.safetensors").is_file()
    assert completion_nll(out, rows) < 0.9 * completion_nll(base_dir, rows)
    x = torch.randint(0, 300, (2, 16))
    with torch.no_grad():
        base_logits = load_lm(base_dir)(x).logits
        peft_logits = PeftModel.from_pretrained(load_lm(base_dir), str(out / "adapter")).eval()(x).logits
        merged_logits = load_lm(out)(x).logits
    assert (peft_logits - base_logits).abs().max() > 1e-3  # the adapter does something
    torch.testing.assert_close(merged_logits, peft_logits, atol=1e-5, rtol=1e-5)
    assert json.loads((out / "sahlab.json").read_text())["lora"]["r"] == 4


def test_sft_labels_cover_only_the_answer(base_dir, tmp_path):
    from sahlab.train.common import load_causal_lm
    from sahlab.train.sft import build_sft_trainer

    rows = math_rows(6)
    tok = load_tokenizer(base_dir)
    hp = resolve_hparams("sft", {**SFT, "batch_size": 6})
    trainer = build_sft_trainer(load_causal_lm(base_dir), tok, rows, hp, 0, str(tmp_path))
    batch = next(iter(trainer.get_train_dataloader()))
    expected = {}
    for r in rows:  # the whole chat-template rendering; the prompt as the model sees it at inference
        msgs = [{"role": "user", "content": r["prompt"]}, {"role": "assistant", "content": r["reference"]}]
        full = tok(tok.apply_chat_template(msgs, tokenize=False), add_special_tokens=False)["input_ids"]
        p = tok(format_prompt(tok, r["prompt"], "chat"), add_special_tokens=False)["input_ids"]
        assert full[: len(p)] == p and full[-1] == tok.eos_token_id
        expected[tuple(full)] = len(p)
    assert len(batch["input_ids"]) == 6
    for ids, labels, mask in zip(batch["input_ids"], batch["labels"], batch["attention_mask"]):
        n = int(mask.sum())
        n_prompt = expected[tuple(ids[:n].tolist())]
        assert (labels[:n_prompt] == -100).all()
        assert torch.equal(labels[n_prompt:n], ids[n_prompt:n])
        assert labels[n - 1] == tok.eos_token_id
        assert (labels[n:] == -100).all()


def test_sft_zero_examples_returns_the_input_model(base_dir, tmp_path):
    out = tmp_path / "n0"
    summary = train(base_dir, [], "sft", SFT, seed=0, out_dir=out)
    assert summary["steps"] == 0 and summary["n_examples"] == 0
    wa, wb = weights(base_dir), weights(out)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    assert json.loads((out / "sahlab.json").read_text())["prompt_format"] == "plain"
    assert json.loads((out / "train_log.json").read_text())["summary"]["n_examples"] == 0


# --------------------------------------------------------------------------- reward model
@pytest.fixture(scope="module")
def reward_model(base_dir, tmp_path_factory):
    pairs = make_preference_pairs(caps_rows(8), "instructions", seed=0)
    out = tmp_path_factory.mktemp("rm") / "reward"
    summary = train(
        base_dir, pairs, "reward", {"lr": 3e-3, "max_steps": 16, "batch_size": 4}, seed=0, out_dir=out
    )
    return out, pairs, summary


def test_reward_model_ranks_chosen_above_rejected(base_dir, reward_model):
    from transformers import AutoModelForSequenceClassification, set_seed

    from sahlab.train.reward_model import load_reward_model

    out, pairs, summary = reward_model
    assert summary["steps"] == 16
    tok = load_tokenizer(out)

    def margins(rm):
        def score(prompt, answer):
            ids = tok(
                format_prompt(tok, prompt, "chat") + answer, add_special_tokens=False, return_tensors="pt"
            )
            with torch.no_grad():
                return rm(**ids).logits[0, 0].item()

        return [score(p["prompt"], p["chosen"]) - score(p["prompt"], p["rejected"]) for p in pairs]

    set_seed(0)  # the scalar head the trainer started from (same seed, same init)
    before = margins(load_reward_model(base_dir).eval())
    after = margins(AutoModelForSequenceClassification.from_pretrained(str(out)).eval())
    assert sum(m > 0 for m in after) / len(after) >= 0.75, after
    assert sum(after) / len(after) > sum(before) / len(before) + 0.1, (before, after)
    assert json.loads((out / "sahlab.json").read_text())["head"] == "reward"


# --------------------------------------------------------------------------- RL
@pytest.mark.parametrize("method", ["grpo", "rloo"])
def test_rl_with_verifiable_reward_logs_rewards(base_dir, tmp_path, method):
    out = tmp_path / method
    hp = {
        "lr": 1e-2,
        "max_steps": 3,
        "batch_size": 8,
        "num_generations": 4,
        "max_completion_length": 8,
        "beta": 0.0,
    }
    summary = train(base_dir, translation_rows(6), method, hp, seed=0, out_dir=out)
    assert summary["steps"] == 3
    log = json.loads((out / "train_log.json").read_text())["log_history"]
    rewards = [e["rewards/verifiable/mean"] for e in log if "rewards/verifiable/mean" in e]
    assert len(rewards) == 3 and all(0.0 <= r <= 1.0 for r in rewards)
    assert max(rewards) > 0.0  # chrF of random text against the reference is small but not zero
    wa, wb = weights(base_dir), weights(out)
    assert any(not torch.equal(wa[k], wb[k]) for k in wa)  # the policy gradient moved the weights


@pytest.mark.reliability
@pytest.mark.parametrize("method", ["grpo", "reward"])
def test_killed_rl_and_reward_runs_resume(base_dir, tmp_path, monkeypatch, method):
    """The other trainers resume the same way (completion checked; RL sampling makes no
    bit-exactness promise here)."""
    from transformers import Trainer

    if method == "grpo":
        rows, hp = (
            translation_rows(6),
            {"lr": 1e-2, "max_steps": 3, "batch_size": 8, "num_generations": 4, "max_completion_length": 8},
        )
    else:
        rows, hp = (
            make_preference_pairs(caps_rows(8), "instructions", seed=0),
            {"lr": 3e-3, "max_steps": 3, "batch_size": 4},
        )
    hp["save_every"] = 1
    real = Trainer._save_checkpoint

    def die_after_2(self, *args, **kwargs):
        real(self, *args, **kwargs)
        if self.state.global_step == 2:
            raise KeyboardInterrupt("simulated kill")

    monkeypatch.setattr(Trainer, "_save_checkpoint", die_after_2)
    with pytest.raises(KeyboardInterrupt):
        train(base_dir, rows, method, hp, seed=0, out_dir=tmp_path / "m")
    monkeypatch.undo()
    summary = train(base_dir, rows, method, hp, seed=0, out_dir=tmp_path / "m")
    assert summary["resumed_from"] == "checkpoint-2" and summary["steps"] == 3
    assert not (tmp_path / ".m.train-work").exists()


# a GRPO policy over the labels "0"/"1" on study D's feature rows
LABEL_POLICY = {
    "lr": 1e-3,
    "batch_size": 8,
    "num_generations": 4,
    "max_completion_length": 1,
    "actions": ["0", "1"],
}


def label_rows():
    from sahlab.inductive.experiment import feature_split

    return feature_split("contains_1-vs-contains_2", 16, 0.5, 0)


def test_rl_stops_once_its_training_reward_reaches_the_level(base_dir, tmp_path):
    """stop_at_reward ends a run at the first step whose last stop_window logged rewards average
    at least the level: with a level every reward meets, that is step stop_window."""
    hp = LABEL_POLICY | {"max_steps": 20, "prompt_format": "raw", "stop_at_reward": 1e-9, "stop_window": 2}
    summary = train(base_dir, label_rows(), "grpo", hp, seed=0, out_dir=tmp_path / "a")
    assert summary["steps"] == 2
    with pytest.raises(ValueError, match="stop_at_reward"):
        resolve_hparams("grpo", hp | {"stop_at_reward": 1.5})
    with pytest.raises(ValueError, match="stop_window"):
        resolve_hparams("rloo", hp | {"stop_window": 0})


def test_rl_actions_restrict_sampling_to_the_labels(base_dir, tmp_path):
    """With actions ["0", "1"] every sampled completion is a label: a random tiny model, free to
    sample any of its ~360 tokens, would almost never earn the label reward."""
    from sahlab.train.rl import action_ids

    rows = label_rows()
    hp = LABEL_POLICY | {"max_steps": 3, "prompt_format": "plain"}
    train(base_dir, rows, "grpo", hp, seed=0, out_dir=tmp_path / "a")
    log = json.loads((tmp_path / "a" / "train_log.json").read_text())["log_history"]
    rewards = [e["rewards/verifiable/mean"] for e in log if "rewards/verifiable/mean" in e]
    assert len(rewards) == 3 and sum(rewards) / 3 > 0.15, rewards
    tok = load_tokenizer(base_dir)
    with pytest.raises(ValueError, match="exactly one token"):
        action_ids(tok, ["0", "0 1"])
    with pytest.raises(ValueError, match="'actions'"):
        train(base_dir, rows, "grpo", hp | {"actions": ["0"]}, seed=0, out_dir=tmp_path / "b")


def test_grpo_with_reward_model(base_dir, tmp_path, reward_model):
    rm_dir = reward_model[0]
    hp = {
        "lr": 1e-3,
        "max_steps": 2,
        "batch_size": 4,
        "num_generations": 2,
        "max_completion_length": 6,
        "reward": "reward_model",
        "beta": 0.1,
    }
    summary = train(
        base_dir, caps_rows(4), "grpo", hp, seed=0, out_dir=tmp_path / "g", reward_model_dir=rm_dir
    )
    log = json.loads((tmp_path / "g" / "train_log.json").read_text())["log_history"]
    assert summary["steps"] == 2 and sum("reward" in e for e in log) == 2
    with pytest.raises(ValueError, match="reward_model_dir"):
        train(base_dir, caps_rows(4), "grpo", hp, seed=0, out_dir=tmp_path / "h")


# --------------------------------------------------------------------------- DPO
def test_dpo_margin_grows(base_dir, tmp_path):
    pairs = make_preference_pairs(math_rows(8), "math", seed=0)
    out = tmp_path / "dpo"
    train(
        base_dir,
        pairs,
        "dpo",
        {"lr": 3e-3, "max_steps": 8, "batch_size": 4, "beta": 0.1},
        seed=0,
        out_dir=out,
    )
    policy, ref, tok = load_lm(out), load_lm(base_dir), load_tokenizer(base_dir)
    margins = []
    for p in pairs:  # implicit reward margin: log-ratio(chosen) - log-ratio(rejected); 0 before training
        lr_c = (
            answer_logprob(policy, tok, p["prompt"], p["chosen"])[0]
            - answer_logprob(ref, tok, p["prompt"], p["chosen"])[0]
        )
        lr_r = (
            answer_logprob(policy, tok, p["prompt"], p["rejected"])[0]
            - answer_logprob(ref, tok, p["prompt"], p["rejected"])[0]
        )
        margins.append(lr_c - lr_r)
    assert sum(margins) / len(margins) > 0.05, margins
    assert sum(m > 0 for m in margins) > len(margins) / 2


# --------------------------------------------------------------------------- errors
def test_bad_inputs_get_clear_errors(base_dir, tmp_path):
    out = tmp_path / "x"
    with pytest.raises(ValueError, match="unknown post-training method"):
        train(base_dir, math_rows(2), "ppo", SFT, seed=0, out_dir=out)
    with pytest.raises(ValueError, match="'lr'"):
        train(base_dir, math_rows(2), "sft", {"max_steps": 1}, seed=0, out_dir=out)
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['lerning_rate'\]"):
        train(base_dir, math_rows(2), "sft", {**SFT, "lerning_rate": 1}, seed=0, out_dir=out)
    with pytest.raises(ValueError, match="multiple of num_generations"):
        train(
            base_dir,
            math_rows(2),
            "grpo",
            {"lr": 1e-3, "batch_size": 6, "num_generations": 4},
            seed=0,
            out_dir=out,
        )
    with pytest.raises(ValueError, match="field 'reference'"):
        train(base_dir, [{"id": "q", "prompt": "hi"}], "sft", SFT, seed=0, out_dir=out)
    with pytest.raises(ValueError, match="only sft accepts N = 0"):
        train(base_dir, [], "dpo", SFT, seed=0, out_dir=out)
    with pytest.raises(ValueError, match="model folder .*missing. does not exist"):
        train(tmp_path / "missing", math_rows(2), "sft", SFT, seed=0, out_dir=out)
    assert not out.exists()


def test_ref_model_dir_sets_the_kl_reference(base_dir, tmp_path):
    from sahlab.train.common import load_causal_lm
    from sahlab.train.dpo import build_dpo_trainer
    from sahlab.train.rl import build_rl_trainer

    policy_dir = tmp_path / "policy"  # a policy that differs from base_dir, whose weights are the reference
    train(base_dir, math_rows(4), "sft", {**SFT, "max_steps": 2}, seed=0, out_dir=policy_dir)
    tok = load_tokenizer(policy_dir)
    ref_w = weights(base_dir)
    rl_hp = resolve_hparams("grpo", {"lr": 1e-3, "batch_size": 4, "num_generations": 2, "beta": 0.1})
    dpo_hp = resolve_hparams("dpo", {"lr": 1e-3, "batch_size": 4})
    pairs = make_preference_pairs(math_rows(4), "math", seed=0)
    for trainer in (
        build_rl_trainer(
            "grpo",
            load_causal_lm(policy_dir),
            tok,
            math_rows(4),
            rl_hp,
            0,
            str(tmp_path / "w1"),
            ref_model_dir=str(base_dir),
        ),
        build_dpo_trainer(
            load_causal_lm(policy_dir),
            tok,
            pairs,
            dpo_hp,
            0,
            str(tmp_path / "w2"),
            ref_model_dir=str(base_dir),
        ),
    ):
        ref = trainer.accelerator.unwrap_model(trainer.ref_model).state_dict()
        policy = trainer.accelerator.unwrap_model(trainer.model).state_dict()
        key = "model.layers.0.self_attn.q_proj.weight"
        assert torch.equal(ref[key], ref_w[key]) and not torch.equal(policy[key], ref_w[key])


def test_render_prompt_avoids_a_double_bos(base_dir):
    from tokenizers import processors

    from sahlab.train.common import render_prompt

    tok = load_tokenizer(base_dir)
    assert render_prompt(tok, "Hi?", "chat") == format_prompt(tok, "Hi?", "chat")  # no auto BOS: unchanged
    # a hub-style tokenizer that inserts BOS itself, as TRL's text tokenization will do
    tok._tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", special_tokens=[(BOS, tok.bos_token_id)]
    )
    assert tok("x")["input_ids"][0] == tok.bos_token_id
    for fmt in ("chat", "plain"):
        expected = tok(format_prompt(tok, "Hi?", fmt), add_special_tokens=False)["input_ids"]
        assert tok(render_prompt(tok, "Hi?", fmt))["input_ids"] == expected
        assert expected.count(tok.bos_token_id) == 1


def test_trl_args_pass_through_and_refusals():
    # any TRL config field can be set from the config; unknown or doubly-set fields fail by name
    from trl import GRPOConfig

    from sahlab.train.common import resolve_hparams, trl_config

    hp = resolve_hparams("grpo", {"lr": 1e-4, "trl_args": {"top_p": 0.9, "mask_truncated_completions": True}})
    args = trl_config(GRPOConfig, hp, 0, "/tmp/sahlab-trl-args", num_generations=4)
    assert (args.top_p, args.mask_truncated_completions, args.learning_rate) == (0.9, True, 1e-4)
    with pytest.raises(ValueError, match=r"\['scale_reward'\] not fields of trl.GRPOConfig"):
        trl_config(
            GRPOConfig, resolve_hparams("grpo", {"lr": 1e-4, "trl_args": {"scale_reward": "x"}}), 0, "/tmp/x"
        )
    with pytest.raises(ValueError, match=r"\['learning_rate'\] are set by sahlab"):
        trl_config(
            GRPOConfig, resolve_hparams("grpo", {"lr": 1e-4, "trl_args": {"learning_rate": 1}}), 0, "/tmp/x"
        )
    with pytest.raises(ValueError, match=r"\['scale_rewards'\] are set by sahlab"):  # an own hparam
        trl_config(
            GRPOConfig,
            resolve_hparams("grpo", {"lr": 1e-4, "trl_args": {"scale_rewards": "batch"}}),
            0,
            "/tmp/x",
            scale_rewards="group",
        )
    with pytest.raises(ValueError, match="'trl_args' must be a mapping"):
        resolve_hparams("sft", {"lr": 1e-4, "trl_args": ["loss_type"]})


@pytest.mark.parametrize(
    "method,key,value",
    [
        ("grpo", "scale_rewards", "per_token"),
        ("grpo", "loss_type", "ppo"),
        ("grpo", "entropy_coef", -0.01),
        ("grpo", "entropy_coef", True),
        ("rloo", "normalize_advantages", "yes"),
        ("rloo", "scale_rewards", "group"),
    ],
)
def test_rl_loss_options_are_checked(method, key, value):
    with pytest.raises(ValueError, match=key):
        resolve_hparams(method, {"lr": 1e-3, "batch_size": 4, "num_generations": 2, key: value})


def test_rl_loss_options_default_to_trl_and_pass_through():
    hp = resolve_hparams(
        "grpo",
        {"lr": 1e-3, "batch_size": 4, "num_generations": 2, "scale_rewards": "none", "entropy_coef": 0.01},
    )
    assert (hp["scale_rewards"], hp["loss_type"], hp["entropy_coef"]) == ("none", "dapo", 0.01)
    assert resolve_hparams("rloo", {"lr": 1e-3})["normalize_advantages"] is False


def test_load_reward_model_checks_the_load_report_itself(tmp_path, capfd):
    """An LM checkpoint loads as a reward model quietly (new score head, unused LM head); a
    checkpoint that lacks another weight is an error, not a warning."""
    from safetensors.torch import load_file, save_file
    from transformers import LlamaConfig, LlamaForCausalLM

    from sahlab.train.reward_model import load_reward_model

    cfg = LlamaConfig(
        vocab_size=32, hidden_size=8, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2
    )
    LlamaForCausalLM(cfg).save_pretrained(tmp_path / "lm")
    capfd.readouterr()
    assert load_reward_model(tmp_path / "lm").score.weight.shape == (1, 8)
    assert "LOAD REPORT" not in "".join(capfd.readouterr())
    weights = load_file(tmp_path / "lm" / "model.safetensors")
    del weights["model.norm.weight"]
    save_file(weights, tmp_path / "lm" / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ValueError, match="model.norm.weight"):
        load_reward_model(tmp_path / "lm")
