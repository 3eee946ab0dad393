"""Reward-model training (TRL RewardTrainer) on (prompt, chosen, rejected) pairs.

The reward model is the language model with a scalar head (AutoModelForSequenceClassification,
num_labels=1) that scores the last non-pad token. Pairs are tokenized here exactly as GRPO/RLOO
will later score a rollout: ``tokenizer(rendered prompt + answer, add_special_tokens=False)``,
with no EOS appended (TRL decodes rollouts with special tokens skipped), so the score is read at
the same position in training and in use.
"""

from __future__ import annotations

from sahlab.models.prompting import answer_prefix
from sahlab.train.common import (
    dataset_from_rows,
    lora_config,
    render_prompt,
    require_fields,
    row_task,
    trl_config,
)


def tokenize_pairs(rows: list[dict], tokenizer, prompt_format: str) -> list[dict]:
    """Preference rows -> {"chosen_ids", "rejected_ids"} (prompt included, as RewardTrainer wants)."""
    require_fields(rows, ("prompt", "chosen", "rejected"), "reward")
    lead = answer_prefix(tokenizer, prompt_format)
    out = []
    for row in rows:
        prompt = render_prompt(tokenizer, row, prompt_format, row_task(row, prompt_format))
        out.append(
            {
                k + "_ids": tokenizer(prompt + lead + row[k], add_special_tokens=False)["input_ids"]
                for k in ("chosen", "rejected")
            }
        )
    return out


def load_reward_model(model_dir: str):
    """A causal-LM folder (or a saved reward model) as a 1-output sequence classifier.

    From an LM checkpoint the scalar head (`score.weight`) is new and the LM head unused, which
    transformers reports as MISSING/UNEXPECTED keys: that report is silenced (public logging API)
    and checked here instead, so any other missing or unexpected weight is an error.
    """
    import torch
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        model, info = AutoModelForSequenceClassification.from_pretrained(
            str(model_dir), num_labels=1, dtype=torch.float32, use_safetensors=True, output_loading_info=True
        )
    finally:
        hf_logging.set_verbosity(verbosity)
    missing = sorted(k for k in info["missing_keys"] if k != "score.weight")
    unexpected = sorted(k for k in info["unexpected_keys"] if not k.startswith("lm_head."))
    if missing or unexpected or info["mismatched_keys"]:
        raise ValueError(
            f"{model_dir}: not a causal LM or reward model of this architecture: missing weights "
            f"{missing}, unexpected {unexpected}, shape-mismatched {sorted(info['mismatched_keys'])}"
        )
    return model


def build_reward_trainer(model_dir: str, tokenizer, rows: list[dict], hp: dict, seed: int, work_dir: str):
    """A RewardTrainer ready to `.train()`; the scalar head is initialised from `seed`."""
    from transformers import set_seed
    from trl import RewardConfig, RewardTrainer

    data = dataset_from_rows(tokenize_pairs(rows, tokenizer, hp["prompt_format"]))
    n_long = sum(max(len(r["chosen_ids"]), len(r["rejected_ids"])) > hp["max_length"] for r in data)
    if n_long == len(data):
        raise ValueError(
            f"reward: every pair is longer than max_length={hp['max_length']} tokens "
            "(RewardTrainer drops such pairs); raise hparams 'max_length'"
        )
    args = trl_config(
        RewardConfig,
        hp,
        seed,
        work_dir,
        max_length=hp["max_length"],
        center_rewards_coefficient=hp["center_rewards"],
    )
    set_seed(seed)
    model = load_reward_model(model_dir)
    model.config.pad_token_id = tokenizer.pad_token_id
    peft = lora_config(hp["lora"], "SEQ_CLS") if hp["lora"] else None
    return RewardTrainer(
        model=model, args=args, train_dataset=data, processing_class=tokenizer, peft_config=peft
    )
