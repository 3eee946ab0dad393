"""RL post-training with TRL's GRPOTrainer or RLOOTrainer.

Each prompt gets `num_generations` sampled completions; the reward is either the verifiable
per-task reward (`sahlab.train.rewards`) or a trained reward model (`reward_model_dir`).
`batch_size` counts completions, so batch_size / num_generations prompts make one step.
The KL reference (beta > 0) is the starting policy, or `ref_model_dir` if given.
"""

from __future__ import annotations

import json
from collections import deque

from sahlab.models.prompting import answer_prefix, to_task_form
from sahlab.train.common import (
    dataset_from_rows,
    lora_config,
    render_prompt,
    require_fields,
    row_task,
    trl_config,
)
from sahlab.train.rewards import infer_task, trl_reward_func


def rl_rows(rows: list[dict], tokenizer, prompt_format: str) -> list[dict]:
    """Common-schema rows -> the columns the trainer and the reward function read.

    Metadata is kept as a JSON string: its keys differ per task, which an Arrow column of
    structs would pad with nulls.
    """
    require_fields(rows, ("prompt",), "rl")
    out = []
    for row in rows:
        meta = row.get("metadata") or {}
        if not isinstance(meta, dict):
            raise ValueError(f"rl dataset row id={row.get('id')!r}: 'metadata' must be a dict")
        out.append(
            {
                "prompt": render_prompt(tokenizer, row, prompt_format, row_task(row, prompt_format)),
                "raw_prompt": row["prompt"],
                "task": infer_task(row),
                "reference": row.get("reference") or "",
                "metadata_json": json.dumps(meta),
            }
        )
    return out


def action_ids(tokenizer, actions: list[str]) -> list[int]:
    """The token id of each action string; ValueError unless each is exactly one token."""
    ids = []
    for a in actions:
        tok = tokenizer(a, add_special_tokens=False)["input_ids"]
        if len(tok) != 1:
            raise ValueError(
                f"hparams 'actions': {a!r} is {len(tok)} tokens for this tokenizer; "
                "each action must be exactly one token"
            )
        ids.append(tok[0])
    return ids


def suppressed_ids(tokenizer, model, actions: list[str]) -> list[int]:
    """Every vocabulary id but the actions' (generation samples among the actions only)."""
    keep = set(action_ids(tokenizer, actions))
    return [i for i in range(model.config.vocab_size) if i not in keep]


def build_rl_trainer(
    method: str,
    model,
    tokenizer,
    rows: list[dict],
    hp: dict,
    seed: int,
    work_dir: str,
    reward_model_dir: str | None = None,
    ref_model_dir: str | None = None,
):
    """A GRPOTrainer (method "grpo") or RLOOTrainer ("rloo") ready to `.train()`.

    TRL has no prompt truncation for these trainers (`max_length` is unused): a prompt that
    cannot fit with `max_completion_length` new tokens in the model's context is an error.
    """
    from trl import GRPOConfig, GRPOTrainer, RLOOConfig, RLOOTrainer

    if ref_model_dir is not None:
        if hp["lora"]:
            raise ValueError(
                f"{method}: with LoRA the KL reference is the base model (adapter off); "
                "ref_model_dir cannot be used"
            )
        # TRL 1.16's GRPOTrainer/RLOOTrainer take no ref_model: they build the reference with
        # create_model_from_path(get_config_model_id(model.config)), i.e. the policy's
        # `_name_or_path` (the path `from_pretrained` records). Pointing that at ref_model_dir
        # makes TRL load the requested reference; there is no public alternative in this version.
        model.config._name_or_path = str(ref_model_dir)

    if hp["reward"] == "reward_model":
        if reward_model_dir is None:
            raise ValueError(f"{method}: hparams reward='reward_model' needs reward_model_dir")
        from sahlab.train.common import load_tokenizer
        from sahlab.train.reward_model import load_reward_model

        reward_funcs = [load_reward_model(reward_model_dir).eval()]
        reward_tokenizers = [load_tokenizer(reward_model_dir)]
        reward_funcs[0].config.pad_token_id = reward_tokenizers[0].pad_token_id
    else:
        fmt = hp["prompt_format"]
        native = (
            (lambda task, text: to_task_form(tokenizer, [text], fmt, task)[0]) if fmt == "native" else None
        )
        reward_funcs = [trl_reward_func(answer_prefix(tokenizer, fmt), native)]
        reward_tokenizers = None
    table = rl_rows(rows, tokenizer, hp["prompt_format"])
    context = getattr(model.config, "max_position_embeddings", None)
    for row, src in zip(table, rows):
        n = len(tokenizer(row["prompt"])["input_ids"])
        if context and n + hp["max_completion_length"] > context:
            raise ValueError(
                f"{method}: row id={src.get('id')!r} has a {n}-token prompt; with "
                f"max_completion_length={hp['max_completion_length']} it exceeds the "
                f"model's context of {context} tokens"
            )
    data = dataset_from_rows(table)
    gen = {"suppress_tokens": suppressed_ids(tokenizer, model, hp["actions"])} if hp["actions"] else None
    config_cls, trainer_cls = (GRPOConfig, GRPOTrainer) if method == "grpo" else (RLOOConfig, RLOOTrainer)
    own = (
        {k: hp[k] for k in ("scale_rewards", "loss_type", "entropy_coef")}
        if method == "grpo"
        else {"normalize_advantages": hp["normalize_advantages"]}
    )
    args = trl_config(
        config_cls,
        hp,
        seed,
        work_dir,
        **own,
        num_generations=hp["num_generations"],
        max_completion_length=hp["max_completion_length"],
        beta=hp["beta"],
        temperature=hp["temperature"],
        num_iterations=hp["num_iterations"],
        epsilon=hp["epsilon"],
        shuffle_dataset=True,
        log_completions=False,
        generation_kwargs=gen,
    )
    peft = lora_config(hp["lora"], "CAUSAL_LM") if hp["lora"] else None
    return trainer_cls(
        model=model,
        reward_funcs=reward_funcs,
        args=args,
        train_dataset=data,
        processing_class=tokenizer,
        reward_processing_classes=reward_tokenizers,
        peft_config=peft,
        callbacks=(
            [reward_stop_callback(hp["stop_at_reward"], hp["stop_window"])]
            if hp["stop_at_reward"] is not None
            else None
        ),
    )


def reward_stop_callback(level: float, window: int):
    """A TrainerCallback that stops training once the mean of the last `window` logged training
    rewards is ≥ `level` ("as many steps as convergence needs": easy runs stop early)."""
    from transformers import TrainerCallback

    class StopAtReward(TrainerCallback):
        def __init__(self):
            self.last = deque(maxlen=window)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "reward" in logs:
                self.last.append(float(logs["reward"]))
                if len(self.last) == window and sum(self.last) / window >= level:
                    control.should_training_stop = True

    return StopAtReward()
