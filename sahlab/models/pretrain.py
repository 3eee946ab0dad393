"""Pre-train a small Llama from random initialisation on the packed corpus (HF Trainer, resumable).

Documents are tokenised as BOS + text + EOS, concatenated and cut into blocks of `seq_len`.
The order in which blocks are visited is a pure function of (seed, step), not of any global RNG
state, so a run killed and resumed from its last checkpoint sees exactly the batches an
uninterrupted run sees.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Iterable

from sahlab.io import atomic_path
from sahlab.models.registry import STAGES, llama_config, load_model, write_model_meta
from sahlab.models.registry import load_tokenizer as load_model_tokenizer
from sahlab.models.tokenizer import load_tokenizer

# sahlab.json stages of the two models built here (the registry's stage names).
STAGE_RANDOM, STAGE_PRETRAINED = "random", "base"

# Pre-training hyper-parameters (config key `hparams` of a built model) and their defaults.
DEFAULT_HPARAMS: dict[str, Any] = {
    "seq_len": 256,  # tokens per packed block
    "batch_size": 16,  # blocks per optimizer step (per micro-batch if grad_accum > 1)
    "grad_accum": 1,  # micro-batches per optimizer step
    "max_steps": None,  # optimizer steps; give this or `tokens`
    "tokens": None,  # training tokens; max_steps = ceil(tokens / tokens per step)
    "lr": 1e-3,  # peak learning rate (cosine decay to 0 after warm-up)
    "warmup_ratio": 0.05,  # share of max_steps spent in linear warm-up
    "weight_decay": 0.1,
    "adam_beta2": 0.95,
    "max_grad_norm": 1.0,
    "eval_every": 100,  # steps between val evaluations (0: only the final one)
    "eval_max_blocks": 256,  # periodic evals use this many val blocks (0: all); the final one uses all
    "save_every": 100,  # steps between checkpoints in ckpt_dir (0: no checkpoints)
    "log_every": 10,  # steps between train-loss log lines
    "keep_checkpoints": False,  # keep ckpt_dir's checkpoints after a successful run
    "compile": False,  # torch.compile the model (fuses element-wise ops; needs a C++ compiler)
}
# Keys that change the trained weights: a checkpoint made under other values is not resumed.
_FINGERPRINT_KEYS = (
    "seq_len",
    "batch_size",
    "grad_accum",
    "max_steps",
    "lr",
    "warmup_ratio",
    "weight_decay",
    "adam_beta2",
    "max_grad_norm",
)


def resolve_hparams(hparams: dict | None) -> dict:
    """Fill defaults, check types and ranges, and turn `tokens` into `max_steps`."""
    hparams = dict(hparams or {})
    unknown = sorted(set(hparams) - set(DEFAULT_HPARAMS))
    if unknown:
        raise ValueError(f"unknown pre-training hparam(s) {unknown}; allowed: {sorted(DEFAULT_HPARAMS)}")
    hp = {**DEFAULT_HPARAMS, **hparams}
    for key in ("seq_len", "batch_size", "grad_accum", "log_every"):
        if not isinstance(hp[key], int) or hp[key] < 1:
            raise ValueError(f"hparam {key} must be a positive integer, got {hp[key]!r}")
    for key in ("eval_every", "save_every", "eval_max_blocks"):
        if not isinstance(hp[key], int) or hp[key] < 0:
            raise ValueError(f"hparam {key} must be a non-negative integer, got {hp[key]!r}")
    for key in ("lr", "weight_decay", "max_grad_norm"):
        if not isinstance(hp[key], (int, float)) or hp[key] < 0:
            raise ValueError(f"hparam {key} must be a number >= 0, got {hp[key]!r}")
    for key in ("keep_checkpoints", "compile"):
        if not isinstance(hp[key], bool):
            raise ValueError(f"hparam {key} must be true or false, got {hp[key]!r}")
    if not isinstance(hp["warmup_ratio"], (int, float)) or not 0 <= hp["warmup_ratio"] < 1:
        raise ValueError(f"hparam warmup_ratio must be in [0, 1), got {hp['warmup_ratio']!r}")
    if not isinstance(hp["adam_beta2"], (int, float)) or not 0 < hp["adam_beta2"] < 1:
        raise ValueError(f"hparam adam_beta2 must be in (0, 1), got {hp['adam_beta2']!r}")
    if (hp["max_steps"] is None) == (hp["tokens"] is None):
        raise ValueError(
            "pre-training hparams need exactly one of max_steps and tokens, "
            f"got max_steps={hp['max_steps']!r}, tokens={hp['tokens']!r}"
        )
    tokens_per_step = hp["seq_len"] * hp["batch_size"] * hp["grad_accum"]
    if hp["tokens"] is not None:
        if not isinstance(hp["tokens"], int) or hp["tokens"] < 1:
            raise ValueError(f"hparam tokens must be a positive integer, got {hp['tokens']!r}")
        hp["max_steps"] = math.ceil(hp["tokens"] / tokens_per_step)
    elif not isinstance(hp["max_steps"], int) or hp["max_steps"] < 1:
        raise ValueError(f"hparam max_steps must be a positive integer, got {hp['max_steps']!r}")
    hp["tokens"] = hp["max_steps"] * tokens_per_step
    return hp


def build_model(build: dict, tokenizer, seed: int):
    """A freshly initialised LlamaForCausalLM; the same seed gives the same weights."""
    from transformers import LlamaForCausalLM, set_seed

    config = llama_config(build, len(tokenizer), tokenizer)
    set_seed(seed)
    return LlamaForCausalLM(config)


def _doc_texts(docs: Iterable, what: str) -> list[str]:
    texts = []
    for i, doc in enumerate(docs):
        text = doc.get("text") if isinstance(doc, dict) else doc
        if not isinstance(text, str):
            raise ValueError(
                f"{what} document #{i}: expected a str or a dict with a 'text' string, "
                f"got {type(doc).__name__}"
            )
        texts.append(text)
    return texts


def pack_documents(tokenizer, docs: Iterable, seq_len: int, keep_tail: bool = False, what: str = "corpus"):
    """Tokenise each document as BOS + text + EOS, concatenate, cut into rows of `seq_len`.

    Returns an int32 tensor [n_blocks, seq_len]; with `keep_tail` also the 1-D tensor of the
    leftover tokens (shorter than seq_len), else they are dropped.
    """
    import numpy as np
    import torch
    from tqdm.auto import tqdm

    texts = _doc_texts(docs, what)
    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    eos = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    chunks, chunk = [], 1000
    for start in tqdm(
        range(0, len(texts), chunk),
        desc=f"tokenising {what}",
        unit="kdoc",
        file=sys.stderr,
        disable=len(texts) <= chunk,
    ):
        enc = tokenizer(texts[start : start + chunk], add_special_tokens=False)["input_ids"]
        chunks.extend(np.asarray(bos + ids + eos, dtype=np.int32) for ids in enc)
    flat = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int32)
    n_blocks = len(flat) // seq_len
    blocks = torch.from_numpy(flat[: n_blocks * seq_len].reshape(n_blocks, seq_len).copy())
    if keep_tail:
        return blocks, torch.from_numpy(flat[n_blocks * seq_len :].copy())
    return blocks


class PackedBlocks:
    """Map-style dataset of `n_items` training rows drawn from `blocks`.

    Row i is block perm_e[i mod n] with e = i // n and perm_e a permutation seeded by (seed, e):
    every pass over the data is reshuffled, yet the order never depends on global RNG state, so a
    resumed run (which skips the rows already consumed) sees the same rows as an uninterrupted one.
    """

    def __init__(self, blocks, n_items: int | None = None, seed: int | None = None):
        self.blocks = blocks
        self.n_items = len(blocks) if n_items is None else n_items
        self.seed = seed
        self._perm_epoch, self._perm = None, None

    def __len__(self) -> int:
        return self.n_items

    def __getitem__(self, i: int) -> dict:
        import numpy as np

        if not 0 <= i < self.n_items:
            raise IndexError(i)
        epoch, j = divmod(i, len(self.blocks))
        if self.seed is not None:
            if self._perm_epoch != epoch:
                self._perm = np.random.default_rng([self.seed, epoch]).permutation(len(self.blocks))
                self._perm_epoch = epoch
            j = int(self._perm[j])
        ids = self.blocks[j].long()
        return {"input_ids": ids, "labels": ids}


def _callbacks():
    """Trainer callbacks: log lines to stderr (the rule's log) and pure step timing."""
    from tqdm.auto import tqdm
    from transformers.trainer_callback import ProgressCallback, TrainerCallback

    class StderrProgress(ProgressCallback):
        # The stock callback writes loss lines with tqdm.write to stdout; rule logs capture stderr.
        def on_log(self, args, state, control, logs=None, **kwargs):
            if state.is_world_process_zero and self.training_bar is not None:
                shown = {
                    k: (f"{v:.4g}" if isinstance(v, float) else v)
                    for k, v in (logs or {}).items()
                    if k != "total_flos"
                }
                tqdm.write(f"step {state.global_step}: {shown}", file=sys.stderr)

    class StepTimer(TrainerCallback):
        """Wall time inside optimizer steps, without evaluation or checkpoint saving."""

        def __init__(self):
            self.step_times: list[float] = []
            self._t0 = None

        def on_step_begin(self, args, state, control, **kwargs):
            self._t0 = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            self.step_times.append(time.perf_counter() - self._t0)

    return StderrProgress, StepTimer


def make_trainer(
    model, tokenizer, train_blocks, val_blocks, ckpt_dir, hp: dict, seed: int, callbacks: list | None = None
):
    """The HF Trainer used by `pretrain` (and by bench/bench_pretrain.py, to time the same path).

    Returns (trainer, step_timer). `hp` must come from `resolve_hparams`.
    """
    import torch
    from transformers import Trainer, TrainingArguments, default_data_collator
    from transformers.trainer_callback import ProgressCallback

    from sahlab.parallel import per_device_batch

    rows_needed = hp["max_steps"] * hp["batch_size"] * hp["grad_accum"]
    train_ds = PackedBlocks(train_blocks, n_items=rows_needed, seed=seed)
    eval_ds = None
    if val_blocks is not None and hp["eval_every"] > 0:
        n_eval = min(len(val_blocks), hp["eval_max_blocks"] or len(val_blocks))
        # Evenly spaced blocks, so a subset still spans every source of a source-ordered corpus.
        eval_ds = PackedBlocks(val_blocks[torch.linspace(0, len(val_blocks) - 1, n_eval).long()])
    cuda = torch.cuda.is_available()
    args = TrainingArguments(
        output_dir=str(ckpt_dir),
        # batch_size is the global batch: split over the processes of a parallel block
        per_device_train_batch_size=per_device_batch(hp["batch_size"], "pretrain batch_size"),
        per_device_eval_batch_size=hp["batch_size"],
        gradient_accumulation_steps=hp["grad_accum"],
        max_steps=hp["max_steps"],
        learning_rate=hp["lr"],
        lr_scheduler_type="cosine",
        warmup_steps=float(hp["warmup_ratio"]),  # a float in [0, 1) is a ratio of max_steps
        weight_decay=hp["weight_decay"],
        adam_beta2=hp["adam_beta2"],
        max_grad_norm=hp["max_grad_norm"],
        # The order is already shuffled, reproducibly, by PackedBlocks.
        train_sampling_strategy="sequential",
        eval_strategy="steps" if eval_ds is not None else "no",
        eval_steps=hp["eval_every"] or None,
        prediction_loss_only=True,
        save_strategy="steps" if hp["save_every"] > 0 else "no",
        save_steps=hp["save_every"] or 500,
        save_total_limit=2,
        logging_strategy="steps",
        logging_steps=hp["log_every"],
        logging_first_step=True,
        disable_tqdm=False,
        report_to="none",
        dataloader_num_workers=0,
        dataloader_pin_memory=cuda,
        use_cpu=not cuda,
        bf16=bool(cuda and torch.cuda.is_bf16_supported()),
        torch_compile=hp["compile"],
        seed=seed,
        remove_unused_columns=False,
    )
    StderrProgress, StepTimer = _callbacks()
    timer = StepTimer()
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=train_ds,
        eval_dataset=eval_ds,
        data_collator=default_data_collator,
        processing_class=tokenizer,
        callbacks=[timer, *(callbacks or [])],
    )
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(StderrProgress())
    return trainer, timer


def _fingerprint(build: dict, hp: dict, seed: int, tokenizer_dir, train_blocks) -> str:
    h = hashlib.sha256()
    h.update(
        json.dumps(
            {"build": build, "hp": {k: hp[k] for k in _FINGERPRINT_KEYS}, "seed": seed},
            sort_keys=True,
            default=str,
        ).encode()
    )
    tok_file = Path(tokenizer_dir) / "tokenizer.json"
    if tok_file.is_file():
        h.update(tok_file.read_bytes())
    h.update(train_blocks.numpy().tobytes())
    return h.hexdigest()


def _prepare_ckpt_dir(ckpt_dir: Path, fingerprint: str) -> str | None:
    """Return the complete checkpoint to resume from, or None (sahlab.checkpoints)."""
    from sahlab.checkpoints import resumable_checkpoint

    return resumable_checkpoint(ckpt_dir, fingerprint, who="pretrain")


def _remove_checkpoints(ckpt_dir: Path) -> None:
    from sahlab.checkpoints import remove_checkpoints

    remove_checkpoints(ckpt_dir)


def _loss_curve(log_history: list[dict]) -> dict:
    train = [
        {"step": e["step"], "loss": e["loss"], "lr": e.get("learning_rate")}
        for e in log_history
        if "loss" in e
    ]
    val = [{"step": e["step"], "loss": e["eval_loss"]} for e in log_history if "eval_loss" in e]
    return {"train": train, "val": val}


def _scale_from_name(out_dir) -> str | None:
    """The scale of a folder named <scale>-<stage> (the layout's model naming), else None."""
    scale, _, stage = Path(out_dir).name.rpartition("-")
    return scale if scale and stage in STAGES else None


def _save_model(
    model,
    tokenizer,
    out_dir,
    stage: str,
    build: dict,
    seed: int,
    scale: str | None,
    extra: dict | None = None,
) -> None:
    with atomic_path(out_dir, is_dir=True) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        write_model_meta(
            tmp,
            prompt_format="native",
            stage=stage,
            scale=scale if scale is not None else _scale_from_name(out_dir),
            source={"build": build, "seed": seed},
        )
        for name, obj in (extra or {}).items():
            (tmp / name).write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def init_random(build: dict, tokenizer_dir, out_dir, seed: int, *, scale: str | None = None) -> dict:
    """Save the random-init model: exactly the weights `pretrain` starts from with this seed.

    sahlab.json gets stage "random", prompt_format "native" and `scale` (default: from a
    folder named <scale>-<stage>).
    """
    tokenizer = load_tokenizer(tokenizer_dir)
    model = build_model(build, tokenizer, seed)
    _save_model(model, tokenizer, out_dir, STAGE_RANDOM, build, seed, scale)
    return {"params": model.num_parameters(), "seed": seed}


def pretrain(
    build: dict,
    tokenizer_dir,
    train_docs: Iterable,
    val_docs: Iterable,
    out_dir,
    ckpt_dir,
    hparams: dict,
    seed: int,
    threads: int,
    *,
    scale: str | None = None,
    callbacks: list | None = None,
) -> dict:
    """Pre-train a Llama model from `init_random`'s initialisation and save it to `out_dir`.

    Checkpoints go to `ckpt_dir` every `save_every` steps; if it already holds checkpoints of the
    same configuration, training resumes from the last one. `out_dir` (written atomically) gets
    the model (safetensors), the tokenizer, `sahlab.json` (stage "base", prompt_format "native",
    `scale` as in `init_random`), `loss_curve.json` (train loss per logged step, val loss per
    evaluation) and `train_summary.json`. `callbacks` are extra TrainerCallbacks (tests use one
    to interrupt a run). Returns a summary: steps, tokens seen, final train/val loss, val
    perplexity, tokens/s, parameter counts.
    """
    import torch

    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    torch.set_num_threads(threads)
    hp = resolve_hparams(hparams)
    tokenizer = load_tokenizer(tokenizer_dir)
    max_pos = llama_config(build, len(tokenizer), tokenizer).max_position_embeddings
    if hp["seq_len"] > max_pos:
        raise ValueError(
            f"hparam seq_len {hp['seq_len']} exceeds the model's max_position_embeddings {max_pos}"
        )
    train_blocks = pack_documents(tokenizer, train_docs, hp["seq_len"], what="train corpus")
    val_blocks = pack_documents(tokenizer, val_docs, hp["seq_len"], what="val corpus")
    for name, blocks in (("train", train_blocks), ("val", val_blocks)):
        if len(blocks) == 0:
            raise ValueError(
                f"the {name} corpus has fewer tokens than one block of seq_len="
                f"{hp['seq_len']}; give more documents or a smaller seq_len"
            )

    from sahlab.checkpoints import exit_if_preempted, preemption_callback
    from sahlab.parallel import barrier, broadcast_object, is_main, rank_world

    ckpt_dir = Path(ckpt_dir)
    resume = None  # rank 0 manages the checkpoint folder of a parallel block
    if is_main():
        resume = _prepare_ckpt_dir(ckpt_dir, _fingerprint(build, hp, seed, tokenizer_dir, train_blocks))
    resume = broadcast_object(resume)
    model = build_model(build, tokenizer, seed)
    trainer, timer = make_trainer(
        model,
        tokenizer,
        train_blocks,
        val_blocks,
        ckpt_dir,
        hp,
        seed,
        [*(callbacks or []), preemption_callback()],
    )
    t0 = time.perf_counter()
    trainer.train(resume_from_checkpoint=resume)
    exit_if_preempted("pretrain", ckpt_dir)
    wall = time.perf_counter() - t0
    if trainer.state.global_step < hp["max_steps"]:
        raise RuntimeError(
            f"training stopped at step {trainer.state.global_step} of "
            f"{hp['max_steps']}; rerun to resume from {ckpt_dir}"
        )

    # Final val loss on every val block (periodic evals may use a subset).
    if rank_world()[1] > 1 and trainer.accelerator.distributed_type.value not in ("FSDP", "DEEPSPEED"):
        # DDP: the Trainer would shard the blocks and pad the last shard with repeats, which
        # shifts the mean; every rank holds the whole model, so each scores all blocks alike
        final_val = {"final_val_loss": _block_loss(trainer.model, val_blocks, hp["batch_size"])}
    else:
        final_val = trainer.evaluate(PackedBlocks(val_blocks), metric_key_prefix="final_val")
    curve = _loss_curve(trainer.state.log_history)
    tokens_per_step = hp["batch_size"] * hp["grad_accum"] * hp["seq_len"]
    step_time = sum(timer.step_times)
    n_params = model.num_parameters()
    n_embed = model.get_input_embeddings().weight.numel()
    summary = {
        "steps": trainer.state.global_step,
        "tokens_seen": trainer.state.global_step * tokens_per_step,
        "train_blocks": len(train_blocks),
        "epochs": trainer.state.global_step * hp["batch_size"] * hp["grad_accum"] / len(train_blocks),
        "final_train_loss": curve["train"][-1]["loss"] if curve["train"] else None,
        "val_loss": final_val["final_val_loss"],
        "val_perplexity": math.exp(final_val["final_val_loss"]),
        "val_tokens": int(val_blocks.numel()),
        # Throughput of this invocation's optimizer steps only (a resumed run counts its own).
        "tokens_per_s": len(timer.step_times) * tokens_per_step / step_time if step_time else None,
        "wall_s": wall,
        "resumed_from": Path(resume).name if resume else None,
        "params": n_params,
        "params_non_embedding": n_params - n_embed,
        "seed": seed,
        "threads": threads,
        "hparams": hp,
    }
    curve["final_val"] = {"step": trainer.state.global_step, "loss": final_val["final_val_loss"]}
    model = trainer.model
    if trainer.accelerator.distributed_type.value in ("FSDP", "DEEPSPEED"):
        # sharded weights: gathered (a collective of every rank), loaded into a full copy
        state = trainer.accelerator.get_state_dict(trainer.model)
        if is_main():
            model = build_model(build, tokenizer, seed)
            model.load_state_dict(state)
    if is_main():
        _save_model(
            model,
            tokenizer,
            out_dir,
            STAGE_PRETRAINED,
            build,
            seed,
            scale,
            extra={"loss_curve.json": curve, "train_summary.json": summary},
        )
        if not hp["keep_checkpoints"]:
            _remove_checkpoints(ckpt_dir)
    barrier()
    return summary


def _block_loss(model, blocks, batch_size: int) -> float:
    """The Trainer's evaluation loss on `blocks` (mean of batch losses weighted by batch size),
    computed in one process over every block."""
    import torch

    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total = 0.0
    with torch.inference_mode():
        for i in range(0, len(blocks), batch_size):
            ids = blocks[i : i + batch_size].long().to(device)
            total += model(input_ids=ids, labels=ids).loss.item() * len(ids)
    model.train(was_training)
    return total / len(blocks)


def corpus_loss(model_dir, docs: Iterable, seq_len: int, batch_size: int) -> float:
    """Mean per-token negative log-likelihood (nats) of `docs` under the model in `model_dir`.

    Documents are packed exactly as in pre-training (BOS + text + EOS, blocks of seq_len, the
    leftover tail kept as a last shorter block); every token but the first of a block is scored.
    """
    import torch
    from tqdm.auto import tqdm

    if not isinstance(seq_len, int) or seq_len < 2:
        raise ValueError(f"seq_len must be an integer >= 2, got {seq_len!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    tokenizer = load_model_tokenizer(model_dir)
    model = load_model(model_dir, dtype="float32")
    blocks, tail = pack_documents(tokenizer, docs, seq_len, keep_tail=True, what="held-out docs")
    batches = [blocks[i : i + batch_size] for i in range(0, len(blocks), batch_size)]
    if len(tail) >= 2:
        batches.append(tail[None, :])
    if not batches:
        raise ValueError("corpus_loss: the documents give fewer than 2 tokens to score")
    total, count = 0.0, 0
    with torch.inference_mode():
        for batch in tqdm(batches, desc="corpus loss", file=sys.stderr):
            ids = batch.long()
            logits = model(input_ids=ids).logits[:, :-1].float()
            nll = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.size(-1)), ids[:, 1:].reshape(-1), reduction="sum"
            )
            total += nll.item()
            count += ids[:, 1:].numel()
    return total / count
