"""Supervised fine-tuning (TRL SFTTrainer) on prompt -> reference pairs.

Examples are tokenized here, not by TRL: the rendered prompt and the answer (the template's
answer prefix + reference + EOS) are tokenized separately with ``add_special_tokens=False`` and
concatenated, which is exactly what the model sees at inference (prompt tokens, then its own
answer tokens up to EOS). TRL gets ``input_ids`` plus a ``completion_mask`` and, with
``completion_only_loss=True``, turns it into labels that are -100 on the prompt, so only answer
tokens are trained.
"""

from __future__ import annotations

from sahlab.models.prompting import format_answer, format_prompt
from sahlab.train.common import dataset_from_rows, lora_config, require_fields, row_task, trl_config


def tokenize_sft_rows(rows: list[dict], tokenizer, prompt_format: str) -> list[dict]:
    """Common-schema rows -> {"input_ids", "completion_mask"} (1 on the answer and its EOS).
    Prompt and answer are written as `prompt_format` writes them (`format_prompt`,
    `format_answer`): in the native format a math answer is the corpus's worked prose."""
    require_fields(rows, ("prompt", "reference"), "sft")
    out = []
    for row in rows:
        task = row_task(row, prompt_format)
        text = format_prompt(tokenizer, row, prompt_format, task)
        prompt_ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        answer = format_answer(tokenizer, row, prompt_format, task)
        answer_ids = tokenizer(answer, add_special_tokens=False)["input_ids"]
        answer_ids = answer_ids + [tokenizer.eos_token_id]
        out.append(
            {
                "input_ids": prompt_ids + answer_ids,
                "completion_mask": [0] * len(prompt_ids) + [1] * len(answer_ids),
            }
        )
    return out


def build_sft_trainer(model, tokenizer, rows: list[dict], hp: dict, seed: int, work_dir: str):
    """An SFTTrainer ready to `.train()` (full fine-tuning, or LoRA if hp["lora"])."""
    from trl import SFTConfig, SFTTrainer

    data = dataset_from_rows(tokenize_sft_rows(rows, tokenizer, hp["prompt_format"]))
    args = trl_config(
        SFTConfig,
        hp,
        seed,
        work_dir,
        max_length=hp["max_length"],
        completion_only_loss=hp["completion_only"],
        packing=hp["packing"],
        # BFD packing keeps examples apart via position ids (no cross-example attention)
        packing_strategy="bfd",
        shuffle_dataset=True,
    )
    peft = lora_config(hp["lora"], "CAUSAL_LM") if hp["lora"] else None
    return SFTTrainer(
        model=model, args=args, train_dataset=data, processing_class=tokenizer, peft_config=peft
    )
