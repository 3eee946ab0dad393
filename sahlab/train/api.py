"""`train`: the one entry point of post-training (SFT, reward model, GRPO, RLOO, DPO)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from pathlib import Path

from sahlab.io import atomic_path
from sahlab.io import work_dir as scratch_dir
from sahlab.train.common import (
    history_summary,
    load_causal_lm,
    load_tokenizer,
    read_model_info,
    resolve_hparams,
    save_trained,
)

log = logging.getLogger(__name__)

# sahlab.json keys that describe one training run: a child model must not inherit its parent's.
_RUN_KEYS = ("method", "parent", "seed", "lora", "adapter", "merged", "head")


def train(
    model_dir: str | os.PathLike,
    dataset: list[dict],
    method: str,
    hparams: dict,
    seed: int,
    out_dir: str | os.PathLike,
    *,
    ref_model_dir: str | os.PathLike | None = None,
    reward_model_dir: str | os.PathLike | None = None,
    threads: int = 1,
    stage: str = "post",
) -> dict:
    """Post-train the model in `model_dir` with TRL and save the result to `out_dir` (atomically).

    method: "sft" (rows in the common schema: prompt -> reference), "reward" and "dpo"
    (preference rows: prompt, chosen, rejected), "grpo"/"rloo" (common-schema rows; reward
    hparams["reward"] = "verifiable" or "reward_model" with `reward_model_dir`).
    hparams: see `sahlab.train.common.COMMON_HPARAMS`/`METHOD_HPARAMS`/`LORA_HPARAMS`.

    `out_dir` gets the model (`save_pretrained`, safetensors; a reward model is a 1-label
    sequence classifier), its tokenizer, `adapter/` for LoRA, `sahlab.json` (the input's, with
    prompt_format set to the training format and `stage`) and `train_log.json`
    (trainer.state.log_history and the summary). SFT on an empty dataset copies the input model
    unchanged (study A's N = 0, "prompt only"). Returns the summary dict.
    """
    from sahlab.logs import set_threads

    hp = resolve_hparams(method, hparams)
    if not isinstance(dataset, list):
        raise ValueError(f"{method}: dataset must be a list of dict rows, got {type(dataset).__name__}")
    info = read_model_info(model_dir)
    ref_model_dir, reward_model_dir = _opt_str(ref_model_dir), _opt_str(reward_model_dir)
    for path in (ref_model_dir, reward_model_dir):
        if path is not None:
            read_model_info(path)  # fail now, with the folder named, not deep inside TRL
    set_threads(threads)
    out_dir = Path(out_dir)
    if not dataset:
        if method != "sft":
            raise ValueError(f"{method}: the dataset is empty; only sft accepts N = 0")
        from sahlab.parallel import is_main

        if not is_main():  # one copy, by rank 0
            return {"method": "sft", "n_examples": 0, "steps": 0}
        return _copy_unchanged(model_dir, out_dir, hp, seed)

    tokenizer = load_tokenizer(model_dir)
    start = time.perf_counter()
    # Trainer scratch beside out_dir (not /tmp): a killed job's leftovers go at the next start,
    # unless it holds checkpoints to resume from (save_every > 0, or a SLURM job that may be
    # preempted and requeued). Processes of a parallel block share it; rank 0 manages it.
    from sahlab.checkpoints import exit_if_preempted, preemptible, preemption_callback
    from sahlab.parallel import barrier, broadcast_object, is_main, rank_world

    parallel = rank_world()[1] > 1
    keep = hp["save_every"] > 0 or preemptible()
    with scratch_dir(out_dir, "train-work", keep=keep or parallel) as work:
        resume = None
        if keep:
            from sahlab.checkpoints import resumable_checkpoint

            if is_main():
                fp = _fingerprint(method, hp, seed, dataset, model_dir, ref_model_dir, reward_model_dir)
                resume = resumable_checkpoint(work, fp, who=f"train ({method})")
            resume = broadcast_object(resume)
        trainer = _build(
            method,
            model_dir,
            tokenizer,
            dataset,
            hp,
            seed,
            str(work),
            ref_model_dir=ref_model_dir,
            reward_model_dir=reward_model_dir,
        )
        trainer.add_callback(preemption_callback())
        n_used = len(trainer.train_dataset)
        result = trainer.train(resume_from_checkpoint=resume)
        exit_if_preempted(f"train ({method})", work)
        seconds = time.perf_counter() - start
        history = trainer.state.log_history
        steps = trainer.state.global_step
        summary = {
            "method": method,
            "n_examples": len(dataset),
            "n_used": n_used,
            "steps": steps,
            "seconds": round(seconds, 3),
            "seconds_per_step": round(result.metrics["train_runtime"] / max(steps, 1), 4),
            "train_loss": result.training_loss,
            "seed": seed,
            "out_dir": str(out_dir),
            "prompt_format": hp["prompt_format"],
            "lora": hp["lora"]["r"] if hp["lora"] else None,
            "resumed_from": Path(resume).name if resume else None,
            "processes": rank_world()[1],
            **history_summary(history),
        }
        # FSDP / ZeRO-3 hold shards: gathering the full weights is a collective of all ranks
        state = None
        if trainer.accelerator.distributed_type.value in ("FSDP", "DEEPSPEED") and not hp["lora"]:
            state = trainer.accelerator.get_state_dict(trainer.model)
        if is_main():
            with atomic_path(out_dir, is_dir=True) as tmp:
                saved = save_trained(trainer, tokenizer, tmp, hp, state_dict=state)
                inherited = {k: v for k, v in info.items() if k not in _RUN_KEYS}
                meta = {
                    **inherited,
                    "prompt_format": hp["prompt_format"],
                    "stage": stage,
                    "method": method,
                    "parent": str(model_dir),
                    "seed": seed,
                    **saved,
                }
                if method == "reward":
                    meta["head"] = "reward"  # a sequence classifier, not a causal LM
                (tmp / "sahlab.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
                _write_log(tmp, method, hp, seed, history, summary)
        barrier()  # no rank removes the scratch folder while rank 0 still saves
        if parallel and not is_main():
            return summary
    log.info(
        "%s: %d steps in %.1f s (%.3f s/step) -> %s",
        method,
        steps,
        seconds,
        summary["seconds_per_step"],
        out_dir,
    )
    return summary


def _build(method, model_dir, tokenizer, dataset, hp, seed, work_dir, *, ref_model_dir, reward_model_dir):
    if method == "reward":
        from sahlab.train.reward_model import build_reward_trainer

        return build_reward_trainer(str(model_dir), tokenizer, dataset, hp, seed, work_dir)
    from transformers import set_seed

    set_seed(seed)
    model = load_causal_lm(model_dir)
    if method == "sft":
        from sahlab.train.sft import build_sft_trainer

        return build_sft_trainer(model, tokenizer, dataset, hp, seed, work_dir)
    if method == "dpo":
        from sahlab.train.dpo import build_dpo_trainer

        return build_dpo_trainer(model, tokenizer, dataset, hp, seed, work_dir, ref_model_dir=ref_model_dir)
    from sahlab.train.rl import build_rl_trainer

    return build_rl_trainer(
        method,
        model,
        tokenizer,
        dataset,
        hp,
        seed,
        work_dir,
        reward_model_dir=reward_model_dir,
        ref_model_dir=ref_model_dir,
    )


def _fingerprint(method: str, hp: dict, seed: int, dataset: list, *model_dirs) -> str:
    """What the checkpoints depend on: a checkpoint of another run is never resumed."""
    h = hashlib.sha256(
        json.dumps(
            {
                "method": method,
                "seed": seed,
                "dirs": [str(d) for d in model_dirs],
                "hp": {k: v for k, v in hp.items() if k != "save_every"},
            },
            sort_keys=True,
            default=str,
        ).encode()
    )
    for d in filter(None, model_dirs):  # a re-made input model has new weight files
        for f in sorted(Path(d).glob("*.safetensors")):
            st = f.stat()
            h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    h.update(json.dumps(dataset, sort_keys=True, default=str).encode())
    return h.hexdigest()


def _opt_str(path) -> str | None:
    return None if path is None else str(path)


def _copy_unchanged(model_dir, out_dir: Path, hp: dict, seed: int) -> dict:
    summary = {
        "method": "sft",
        "n_examples": 0,
        "n_used": 0,
        "steps": 0,
        "seconds": 0.0,
        "seed": seed,
        "out_dir": str(out_dir),
        "copied_from": str(model_dir),
    }
    with atomic_path(out_dir, is_dir=True) as tmp:
        shutil.copytree(model_dir, tmp, dirs_exist_ok=True)
        (tmp / "train_log.json").unlink(missing_ok=True)  # the parent's log is not this run's
        _write_log(tmp, "sft", hp, seed, [], summary)
    return summary


def _write_log(folder: Path, method: str, hp: dict, seed: int, history: list, summary: dict) -> None:
    """train_log.json (what the run reproduces) and timing.json (its wall-clock fields), so the
    log is byte-identical across re-runs of the same config (sahlab.timing)."""
    from sahlab.timing import split_timings

    record = {"method": method, "seed": seed, "hparams": hp, "summary": summary, "log_history": history}
    record, timings = split_timings(record)
    (folder / "train_log.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
    (folder / "timing.json").write_text(json.dumps(timings, indent=2, default=str) + "\n")
