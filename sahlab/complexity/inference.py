"""The receiver side of study B's programs: what it takes to *run* a payload on a given model.

A program is (payload, this code). The receiver holds the conditioning model and the task's
test prompts; it decodes the payload, turns the model into the program's policy and answers:
- baseline: the task prompt in the model's own format, no payload;
- ICL: the payload is the demonstration text, prepended to every prompt (`render_icl_prompts`);
- LoRA: the payload is the zstd-compressed quantised low-rank factors (A, s·B), merged into the
  model's linear weights (`apply_lora_payload`);
- full fine-tuning: the payload is the zstd-compressed quantised weight delta (`apply_delta_payload`);
- data: the payload is the training data; the receiver trains on it (sahlab.train) and answers.

The orchestration (`sahlab.complexity.strategies`) evaluates every program through these very
functions, so the performance reported is that of the bytes that are counted. The bytes of this
file (and of the decoders it needs) are charged to every program (see `PROGRAM_FILES`).
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sahlab

_PKG = Path(sahlab.__file__).resolve().parent
# Code charged to each strategy's programs (paths relative to the sahlab package). The harness
# (sahlab/eval), the tokenizer and the conditioning model are given to every program, like the
# test prompts; what is charged is the code that is specific to consuming the payload.
PROGRAM_FILES: dict[str, tuple[str, ...]] = {
    "baseline": ("complexity/inference.py",),
    "icl": ("complexity/inference.py", "complexity/codelength.py"),
    "lora": ("complexity/inference.py", "complexity/quantize.py", "complexity/compress.py"),
    "full": ("complexity/inference.py", "complexity/quantize.py", "complexity/compress.py"),
    "data": ("complexity/inference.py", "complexity/codelength.py", "train/api.py",
             "train/common.py", "train/sft.py"),
}


def program_code(strategy: str) -> bytes:
    """The bytes of the code a strategy's program consists of (files concatenated in order)."""
    if strategy not in PROGRAM_FILES:
        raise ValueError(f"unknown strategy {strategy!r}; allowed: {sorted(PROGRAM_FILES)}")
    return b"".join((_PKG / rel).read_bytes() for rel in PROGRAM_FILES[strategy])


def script_bits(strategy: str, level: int = 19) -> int:
    """8 x zstd-compressed size of the strategy's program code (one blob, so shared files count once)."""
    from sahlab.complexity.compress import compressed_bits

    return compressed_bits(program_code(strategy), level=level)


# ----------------------------------------------------------------------------- prompts (ICL)
def icl_prefix(tokenizer, demos: Sequence[dict], task: str, prompt_format: str) -> str:
    """The rendered demonstrations alone (document start included): the ICL payload as the
    model reads it.

    native: the document start, then per demonstration its layout prompt + layout answer + the
    layout's item separator, as consecutive items of one corpus document;
    chat: the demonstrations as earlier user/assistant turns of the chat template.
    """
    return render_icl_prompts(tokenizer, demos, [None], task, prompt_format)[0]


def render_icl_prompts(tokenizer, demos: Sequence[dict], prompts: Sequence[dict | None], task: str,
                       prompt_format: str) -> list[str]:
    """Every test row (or None) rendered after the same k demonstrations (k = 0 gives the
    model's own zero-shot prompt, exactly as the evaluation harness renders it).

    A prompt of None renders the demonstrations only (`icl_prefix`); every full rendering starts
    with exactly that prefix.
    """
    from sahlab.models.prompting import default_layouts, document_start, format_prompt

    out = []
    for prompt in prompts:
        if prompt_format == "native":
            layout = default_layouts(tokenizer)[task]
            text = document_start(tokenizer) + "".join(
                layout.prompt(d) + layout.answer(d) + layout.sep for d in demos)
            out.append(text if prompt is None else text + layout.prompt(prompt))
        elif prompt_format == "chat":
            msgs = [m for d in demos for m in ({"role": "user", "content": d["prompt"]},
                                                {"role": "assistant", "content": d["reference"]})]
            if prompt is None:  # the demonstration turns alone (just BOS when there are none)
                out.append(tokenizer.apply_chat_template(msgs, tokenize=False) if msgs
                           else tokenizer.bos_token or "")
            elif msgs:
                msgs = msgs + [{"role": "user", "content": prompt["prompt"]}]
                out.append(tokenizer.apply_chat_template(msgs, tokenize=False,
                                                         add_generation_prompt=True))
            else:
                out.append(format_prompt(tokenizer, prompt, "chat", task))
        else:
            raise ValueError(f"unknown prompt_format {prompt_format!r}; allowed: ['chat', 'native']")
    return out


# ----------------------------------------------------------------------------- weight payloads
def decode_weights(blob: bytes) -> dict[str, Any]:
    """zstd blob -> float32 tensors (the receiver's decoding of a LoRA or delta payload)."""
    import torch

    from sahlab.complexity.compress import decompress
    from sahlab.complexity.quantize import dequantize_payload

    return {k: torch.from_numpy(v.copy()) for k, v in dequantize_payload(decompress(blob)).items()}


def lora_factors(adapter_sd: dict[str, Any], scaling: float) -> dict[str, Any]:
    """PEFT adapter tensors -> {"<module>.A": A, "<module>.B": scaling·B} keyed by the base
    model's module name, so W + B'A is the merged weight and no scale needs sending."""
    out = {}
    for key, t in adapter_sd.items():
        for part in ("A", "B"):
            tag = f".lora_{part}.weight"
            if key.endswith(tag):
                module = key[: -len(tag)].removeprefix("base_model.model.")
                out[f"{module}.{part}"] = t * scaling if part == "B" else t
                break
        else:
            raise ValueError(f"adapter tensor {key!r} is not a LoRA factor (lora_A / lora_B); "
                             "only plain LoRA adapters can be sent as payloads")
    return out


def merge_lora(model, factors: dict[str, Any]) -> None:
    """In place: W <- W + B' @ A for every module in `factors` (from `lora_factors`)."""
    import torch

    params = dict(model.named_parameters())
    modules = sorted({k.rsplit(".", 1)[0] for k in factors})
    with torch.no_grad():
        for m in modules:
            name = f"{m}.weight"
            if name not in params or f"{m}.A" not in factors or f"{m}.B" not in factors:
                raise ValueError(f"LoRA payload: module {m!r} has no weight in the model or lacks "
                                 "one of its factors A, B")
            w = params[name]
            w.add_((factors[f"{m}.B"].float() @ factors[f"{m}.A"].float()).to(w.dtype))


def add_delta(model, delta: dict[str, Any]) -> None:
    """In place: W <- W + ΔW for every parameter named in `delta`."""
    import torch

    params = dict(model.named_parameters())
    missing = sorted(set(delta) - set(params))
    if missing:
        raise ValueError(f"delta payload names parameters the model lacks: {missing[:5]}")
    with torch.no_grad():
        for name, d in delta.items():
            params[name].add_(d.to(params[name].dtype).reshape(params[name].shape))


def apply_lora_payload(model, blob: bytes) -> None:
    """Decode a LoRA payload and merge it into `model` (in place)."""
    merge_lora(model, decode_weights(blob))


def apply_delta_payload(model, blob: bytes) -> None:
    """Decode a full fine-tuning delta payload and add it to `model` (in place)."""
    add_delta(model, decode_weights(blob))


# ----------------------------------------------------------------------------- answering
def answer(model, tokenizer, rendered: Sequence[str], task: str, prompt_format: str, *,
           max_new_tokens: int, batch_size: int, seed: int) -> list[str]:
    """Greedy answers of the program's policy to already-rendered prompts."""
    from sahlab.eval.generate import generate
    from sahlab.eval.policy import ModelPolicy
    from sahlab.models.prompting import stop_strings, to_task_form

    outs = generate(ModelPolicy(model, tokenizer), list(rendered), max_new_tokens=max_new_tokens,
                    batch_size=batch_size, stop_strings=stop_strings(tokenizer, prompt_format, task),
                    seed=seed, progress=False)
    return to_task_form(tokenizer, outs, prompt_format, task)


def run_program(model, tokenizer, task: str, tests: Sequence[dict], prompt_format: str, *,
                demos: Sequence[dict] = (), max_new_tokens: int, batch_size: int,
                seed: int, metric: str | None = None) -> dict:
    """Answer the test prompts (after `demos`, if any) and score them with the task's scorer.

    Returns {"performance" (`metric`, default the task's main metric), "format", "metrics",
    "seconds"}."""
    from sahlab.eval.scorers import MAIN_METRIC, score

    t0 = time.perf_counter()
    model.eval()
    rendered = render_icl_prompts(tokenizer, demos, list(tests), task, prompt_format)
    outputs = answer(model, tokenizer, rendered, task, prompt_format,
                     max_new_tokens=max_new_tokens, batch_size=batch_size, seed=seed)
    _, metrics = score(task, outputs, list(tests), seed=seed, n_boot=0)
    values = {k: float(v["value"]) for k, v in metrics.items()}
    return {"performance": values[metric or MAIN_METRIC[task]], "format": values.get("format"),
            "metrics": values, "seconds": round(time.perf_counter() - t0, 3)}
