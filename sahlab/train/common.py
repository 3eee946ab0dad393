"""What every post-training method shares: hyper-parameters, model loading, prompt rendering,
TRL config arguments, LoRA, and saving a plain `save_pretrained` folder with its logs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sahlab.models.prompting import RENDER_FORMATS, format_prompt

METHODS = ("sft", "reward", "grpo", "rloo", "dpo")
_REQUIRED = object()

# Keys every method accepts. `lr` has no default: a learning rate that suits a 1M-parameter model
# and one that suits a 7B model differ by 100x, so the config must say it.
COMMON_HPARAMS: dict[str, Any] = {
    "lr": _REQUIRED,
    "lora": None,  # None = full fine-tuning; else a dict of LORA_HPARAMS keys
    "epochs": 1.0,  # ignored when max_steps is set
    "max_steps": None,  # optimizer steps; overrides epochs
    "batch_size": 8,  # examples per step (GRPO/RLOO: completions per step)
    "grad_accum": 1,
    "max_length": 512,  # tokens of prompt + answer
    "warmup": 0.0,  # linear warm-up: steps (int >= 1) or a fraction of all steps
    "weight_decay": 0.0,
    "lr_scheduler": "linear",
    "max_grad_norm": 1.0,
    "logging_steps": 1,
    "prompt_format": "chat",  # how prompts are rendered in training; recorded in sahlab.json
    "gradient_checkpointing": False,
    "bf16": None,  # None = bf16 mixed precision iff a CUDA GPU supports it
    "save_every": 0,  # steps between resumable checkpoints beside the output (0 = none)
    "trl_args": {},  # any other field of the method's TRL config (e.g. GRPO scale_rewards,
    # loss_type), passed through unchanged; fields sahlab sets are refused
}
METHOD_HPARAMS: dict[str, dict[str, Any]] = {
    "sft": {"completion_only": True, "packing": False},
    "reward": {"center_rewards": None},
    # actions: None = free generation; a list of strings, each one token, restricts every sampled
    # token to them (a policy over labels, as a classifier trained by RL)
    # scale_rewards / loss_type / entropy_coef (GRPO) and normalize_advantages (RLOO) are TRL's
    # own options, passed through with TRL's defaults. stop_at_reward: stop once the mean logged
    # training reward of the last stop_window logs reaches it (None = run all max_steps)
    "grpo": {
        "num_generations": 4,
        "max_completion_length": 64,
        "beta": 0.0,
        "temperature": 1.0,
        "reward": "verifiable",
        "num_iterations": 1,
        "epsilon": 0.2,
        "actions": None,
        "scale_rewards": "group",
        "loss_type": "dapo",
        "entropy_coef": 0.0,
        "stop_at_reward": None,
        "stop_window": 10,
    },
    "rloo": {
        "num_generations": 4,
        "max_completion_length": 64,
        "beta": 0.05,
        "temperature": 1.0,
        "reward": "verifiable",
        "num_iterations": 1,
        "epsilon": 0.2,
        "actions": None,
        "normalize_advantages": False,
        "stop_at_reward": None,
        "stop_window": 10,
    },
    "dpo": {"beta": 0.1, "loss_type": "sigmoid"},
}
LORA_HPARAMS: dict[str, Any] = {
    "r": 8,
    "alpha": None,
    "dropout": 0.0,
    "target_modules": "all-linear",
    "merge": True,
}
RL_REWARDS = ("verifiable", "reward_model")
GRPO_SCALE_REWARDS = ("group", "batch", "none")
GRPO_LOSS_TYPES = ("grpo", "dr_grpo", "dapo", "bnpo")


def resolve_hparams(method: str, hparams: dict | None) -> dict:
    """Fill defaults and check every key/value; raise ValueError naming the bad key."""
    if method not in METHODS:
        raise ValueError(f"unknown post-training method {method!r}; allowed: {list(METHODS)}")
    allowed = {**COMMON_HPARAMS, **METHOD_HPARAMS[method]}
    hparams = dict(hparams or {})
    unknown = sorted(set(hparams) - set(allowed))
    if unknown:
        raise ValueError(f"hparams for {method!r}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    hp = {**allowed, **hparams}
    if hp["lr"] is _REQUIRED:
        raise ValueError(f"hparams for {method!r}: 'lr' (learning rate) is required")
    _positive(hp, "lr", float)
    _positive(hp, "epochs", float)
    for key in ("batch_size", "grad_accum", "max_length", "logging_steps"):
        _positive(hp, key, int)
    if hp["max_steps"] is not None:
        _positive(hp, "max_steps", int)
    if isinstance(hp["save_every"], bool) or not isinstance(hp["save_every"], int) or hp["save_every"] < 0:
        raise ValueError(
            f"hparams 'save_every' must be an integer >= 0 (0 = no checkpoints), got {hp['save_every']!r}"
        )
    if hp["prompt_format"] not in RENDER_FORMATS:
        raise ValueError(
            f"hparams 'prompt_format' must be one of {list(RENDER_FORMATS)}, got {hp['prompt_format']!r}"
        )
    w = hp["warmup"]
    if (
        isinstance(w, bool)
        or not isinstance(w, (int, float))
        or w < 0
        or (isinstance(w, float) and w >= 1 and not w.is_integer())
    ):
        raise ValueError(
            f"hparams 'warmup' must be a step count (integer) or a fraction in [0, 1), got {w!r}"
        )
    hp["warmup"] = int(w) if w >= 1 else float(w)
    if not isinstance(hp["trl_args"], dict) or not all(isinstance(k, str) for k in hp["trl_args"]):
        raise ValueError(
            f"hparams 'trl_args' must be a mapping of TRL config fields to values, got {hp['trl_args']!r}"
        )
    if hp["lora"] is not None:
        hp["lora"] = _resolve_lora(hp["lora"])
    if method in ("grpo", "rloo"):
        _positive(hp, "max_completion_length", int)
        if not isinstance(hp["num_generations"], int) or hp["num_generations"] < 2:
            raise ValueError(
                f"hparams 'num_generations' must be an integer >= 2 (advantages compare "
                f"completions of one prompt), got {hp['num_generations']!r}"
            )
        if hp["batch_size"] * hp["grad_accum"] % hp["num_generations"]:
            raise ValueError(
                f"hparams 'batch_size' x 'grad_accum' ({hp['batch_size']} x {hp['grad_accum']}) "
                f"counts completions and must be a multiple of num_generations "
                f"({hp['num_generations']})"
            )
        if hp["stop_at_reward"] is not None:
            r = hp["stop_at_reward"]
            if isinstance(r, bool) or not isinstance(r, (int, float)) or not 0 < r <= 1:
                raise ValueError(f"hparams 'stop_at_reward' must be null or a reward in (0, 1], got {r!r}")
        _positive(hp, "stop_window", int)
        if hp["reward"] not in RL_REWARDS:
            raise ValueError(f"hparams 'reward' must be one of {list(RL_REWARDS)}, got {hp['reward']!r}")
        if method == "grpo":
            if hp["scale_rewards"] not in GRPO_SCALE_REWARDS:
                raise ValueError(
                    f"hparams 'scale_rewards' must be one of {list(GRPO_SCALE_REWARDS)}, "
                    f"got {hp['scale_rewards']!r}"
                )
            if hp["loss_type"] not in GRPO_LOSS_TYPES:
                raise ValueError(
                    f"hparams 'loss_type' must be one of {list(GRPO_LOSS_TYPES)}, got {hp['loss_type']!r}"
                )
            e = hp["entropy_coef"]
            if isinstance(e, bool) or not isinstance(e, (int, float)) or e < 0:
                raise ValueError(f"hparams 'entropy_coef' must be a number >= 0, got {e!r}")
        elif not isinstance(hp["normalize_advantages"], bool):
            raise ValueError(
                f"hparams 'normalize_advantages' must be true or false, got {hp['normalize_advantages']!r}"
            )
        a = hp["actions"]
        if a is not None and (
            not isinstance(a, list)
            or len(a) < 2
            or len(set(a)) != len(a)
            or not all(isinstance(x, str) and x for x in a)
        ):
            raise ValueError(
                f"hparams 'actions' must be null or a list of >= 2 distinct non-empty strings, got {a!r}"
            )
    return hp


def _positive(hp: dict, key: str, kind: type) -> None:
    value = hp[key]
    if isinstance(value, str):  # YAML reads "2e-5" (no dot) as a string
        try:
            value = float(value)
        except ValueError:
            pass
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
    if kind is int:
        ok = ok and float(value).is_integer()
    if not ok:
        raise ValueError(f"hparams {key!r} must be a positive {kind.__name__}, got {value!r}")
    hp[key] = kind(value)


def _resolve_lora(lora: Any) -> dict:
    if not isinstance(lora, dict):
        raise ValueError(
            f"hparams 'lora' must be null (full fine-tuning) or a mapping with keys "
            f"{sorted(LORA_HPARAMS)}, got {lora!r}"
        )
    unknown = sorted(set(lora) - set(LORA_HPARAMS))
    if unknown:
        raise ValueError(f"hparams 'lora': unknown key(s) {unknown}; allowed: {sorted(LORA_HPARAMS)}")
    out = {**LORA_HPARAMS, **lora}
    try:
        _positive(out, "r", int)
        out["alpha"] = out["alpha"] if out["alpha"] is not None else 2 * out["r"]
        _positive(out, "alpha", float)
    except ValueError as e:  # name the key as written in the config: lora.r, lora.alpha
        raise ValueError(str(e).replace("hparams '", "hparams 'lora.", 1)) from None
    if not 0 <= out["dropout"] < 1:
        raise ValueError(f"hparams 'lora.dropout' must be in [0, 1), got {out['dropout']!r}")
    return out


# --------------------------------------------------------------------------- models
def read_model_info(model_dir: str | os.PathLike) -> dict:
    """The model folder's sahlab.json ({} if absent), after the registry's folder check
    (config.json, complete safetensors, no pickle-only weights, tokenizer; the file named)."""
    from sahlab.models.registry import check_model_folder

    path = check_model_folder(model_dir)
    info_path = path / "sahlab.json"
    return json.loads(info_path.read_text()) if info_path.is_file() else {}


def load_tokenizer(model_dir: str | os.PathLike):
    from transformers import AutoTokenizer

    from sahlab.models.prompting import bind_layouts
    from sahlab.models.registry import read_model_meta

    tok = bind_layouts(AutoTokenizer.from_pretrained(str(model_dir)), read_model_meta(model_dir))
    if tok.eos_token is None:
        raise ValueError(f"{model_dir}: the tokenizer has no eos_token; training needs one to end answers")
    if tok.pad_token is None:  # batching needs a pad id; eos is the usual stand-in
        tok.pad_token = tok.eos_token
    return tok


def load_causal_lm(model_dir: str | os.PathLike):
    import torch
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32, use_safetensors=True)


def row_task(row: dict, prompt_format: str) -> str | None:
    """The task of a training row when its format needs one (native layouts are per task)."""
    if prompt_format != "native":
        return None
    from sahlab.train.rewards import infer_task

    return infer_task(row)


def render_prompt(tokenizer, prompt: str | dict, prompt_format: str, task: str | None = None) -> str:
    """The text a model sees before answering (`format_prompt`), as TRL should tokenize it.

    Rendered prompts carry their own BOS; a tokenizer that also inserts BOS by itself (many hub
    tokenizers) would double it when TRL tokenizes text, so that copy is stripped here.
    """
    text = format_prompt(tokenizer, prompt, prompt_format, task)
    auto = tokenizer("x")["input_ids"]
    plain = tokenizer("x", add_special_tokens=False)["input_ids"]
    if auto != plain:
        if auto[-len(plain) :] != plain or auto[: -len(plain)] != [tokenizer.bos_token_id]:
            raise ValueError(
                "the tokenizer inserts special tokens other than a leading BOS when "
                "tokenizing text; sahlab's trainers cannot use it"
            )
        if tokenizer.bos_token and text.startswith(tokenizer.bos_token):
            text = text[len(tokenizer.bos_token) :]
    return text


def lora_config(lora: dict, task_type: str):
    from peft import LoraConfig

    return LoraConfig(
        r=lora["r"],
        lora_alpha=lora["alpha"],
        lora_dropout=lora["dropout"],
        target_modules=lora["target_modules"],
        task_type=task_type,
    )


def trainer_args(hp: dict, seed: int, work_dir: str) -> dict:
    """TrainingArguments fields shared by every TRL config. The model is saved by `train`;
    checkpoints (hp["save_every"] > 0) only let a killed job resume (sahlab.checkpoints)."""
    import torch

    from sahlab.parallel import per_device_batch

    bf16 = hp["bf16"]
    if bf16 is None:
        bf16 = bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    return dict(
        output_dir=work_dir,
        seed=seed,
        data_seed=seed,
        learning_rate=hp["lr"],
        num_train_epochs=hp["epochs"],
        max_steps=hp["max_steps"] if hp["max_steps"] is not None else -1,
        # batch_size is the global batch: split over the processes of a parallel block
        per_device_train_batch_size=per_device_batch(hp["batch_size"], "hparams 'batch_size'"),
        gradient_accumulation_steps=hp["grad_accum"],
        lr_scheduler_type=hp["lr_scheduler"],
        warmup_steps=hp["warmup"],
        weight_decay=hp["weight_decay"],
        max_grad_norm=hp["max_grad_norm"],
        logging_steps=hp["logging_steps"],
        logging_first_step=True,
        save_strategy="steps" if hp["save_every"] else "no",
        save_steps=hp["save_every"] or 500,
        save_total_limit=2,
        eval_strategy="no",
        report_to="none",
        bf16=bf16,
        use_cpu=not torch.cuda.is_available(),
        activation_checkpointing=hp["gradient_checkpointing"],  # the new name of gradient_checkpointing
        dataloader_num_workers=0,
        disable_tqdm=False,
    )


def trl_config(config_cls, hp: dict, seed: int, work_dir: str, **fields):
    """`config_cls` (a TRL config) from the shared `trainer_args`, the method's own `fields` and the
    stage's `trl_args` pass-through. A pass-through key that is not a field of the config, or that
    sahlab already sets from its own hparams, is a ValueError naming it (one truth per setting)."""
    import dataclasses

    args = {**trainer_args(hp, seed, work_dir), **fields}
    extra = dict(hp.get("trl_args") or {})
    known = {f.name for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(extra) - known)
    if unknown:
        raise ValueError(f"hparams 'trl_args': {unknown} not fields of trl.{config_cls.__name__}")
    taken = sorted(set(extra) & set(args))
    if taken:
        raise ValueError(
            f"hparams 'trl_args': {taken} are set by sahlab from its own hparams "
            f"(lr, epochs, max_steps, batch_size, beta, ...); set those instead"
        )
    return config_cls(**args, **extra)


def dataset_from_rows(rows: list[dict]):
    from datasets import Dataset

    return Dataset.from_list(rows)


def require_fields(rows: list[dict], fields: tuple[str, ...], method: str) -> None:
    """Every row has each field as a string, else ValueError naming the row and field."""
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ValueError(f"{method} dataset row {i}: expected a dict, got {type(row).__name__}")
        for f in fields:
            if not isinstance(row.get(f), str):
                raise ValueError(
                    f"{method} dataset row {i} (id={row.get('id')!r}): field {f!r} must be "
                    f"a string, got {type(row.get(f)).__name__}; needed: {list(fields)}"
                )


# --------------------------------------------------------------------------- saving
def save_trained(trainer, tokenizer, out: Path, hp: dict, state_dict=None) -> dict:
    """Save the trained model to `out`: plain weights, plus `adapter/` for LoRA.

    A LoRA model is saved as its adapter (`out/adapter/`, what complexity estimates compress)
    and, with lora.merge (default), merged into the base weights at `out/` so downstream code
    loads a plain folder. Returns the sahlab.json fields describing what was saved.
    `state_dict`: the full weights gathered from the processes of an FSDP/ZeRO-3 run.
    """
    from peft import PeftModel

    model = trainer.accelerator.unwrap_model(trainer.model)
    extra: dict[str, Any] = {"lora": None}
    if isinstance(model, PeftModel):
        model.save_pretrained(str(out / "adapter"))
        extra = {
            "lora": {k: hp["lora"][k] for k in ("r", "alpha", "dropout", "target_modules")},
            "adapter": "adapter",
            "merged": hp["lora"]["merge"],
        }
        if not hp["lora"]["merge"]:
            tokenizer.save_pretrained(str(out))
            return extra
        model = model.merge_and_unload()
        state_dict = None  # the merged model's own weights
    model.save_pretrained(str(out), state_dict=state_dict)
    tokenizer.save_pretrained(str(out))
    return extra


def history_summary(log_history: list[dict]) -> dict:
    """First/last value of each logged training metric (loss, reward, margin, accuracy...)."""
    series: dict[str, list[float]] = {}
    for entry in log_history:
        for key, value in entry.items():
            if isinstance(value, (int, float)) and key not in ("epoch", "step"):
                series.setdefault(key, []).append(float(value))
    out = {}
    for key in (
        "loss",
        "reward",
        "rewards/verifiable/mean",
        "margin",
        "accuracy",
        "rewards/margins",
        "rewards/accuracies",
    ):
        if key in series:
            name = key.replace("/", "_")
            out[f"{name}_first"], out[f"{name}_last"] = series[key][0], series[key][-1]
    return out
