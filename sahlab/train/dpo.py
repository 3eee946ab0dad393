"""Direct Preference Optimisation (TRL DPOTrainer) on (prompt, chosen, rejected) pairs.

Prompts are rendered in the training prompt format; TRL appends EOS to both answers, tokenizes
prompt and prompt + answer and trains on the answer tokens only. The reference policy is the
starting model (for LoRA: the model with the adapter switched off) unless `ref_model_dir` is
given.
"""

from __future__ import annotations

from sahlab.models.prompting import answer_prefix
from sahlab.train.common import (
    dataset_from_rows,
    load_causal_lm,
    lora_config,
    render_prompt,
    require_fields,
    row_task,
    trl_config,
)


def dpo_rows(rows: list[dict], tokenizer, prompt_format: str) -> list[dict]:
    require_fields(rows, ("prompt", "chosen", "rejected"), "dpo")
    lead = answer_prefix(tokenizer, prompt_format)
    return [
        {
            "prompt": render_prompt(tokenizer, r, prompt_format, row_task(r, prompt_format)),
            "chosen": lead + r["chosen"],
            "rejected": lead + r["rejected"],
        }
        for r in rows
    ]


def build_dpo_trainer(
    model, tokenizer, rows: list[dict], hp: dict, seed: int, work_dir: str, ref_model_dir: str | None = None
):
    """A DPOTrainer ready to `.train()`."""
    from trl import DPOConfig, DPOTrainer

    data = dataset_from_rows(dpo_rows(rows, tokenizer, hp["prompt_format"]))
    args = trl_config(
        DPOConfig,
        hp,
        seed,
        work_dir,
        max_length=hp["max_length"],
        beta=hp["beta"],
        loss_type=[hp["loss_type"]],
    )
    ref = load_causal_lm(ref_model_dir).eval() if ref_model_dir is not None else None
    peft = lora_config(hp["lora"], "CAUSAL_LM") if hp["lora"] else None
    return DPOTrainer(
        model=model,
        ref_model=ref,
        args=args,
        train_dataset=data,
        processing_class=tokenizer,
        peft_config=peft,
    )
