"""One truth for prompts: native layouts, the document start of any tokenizer, answers read back
into the task's form, and the stage table by prompt format."""

from __future__ import annotations

import copy
import json

import pytest

from conftest import unpad
from sahlab.models.prompting import (
    BOS,
    bind_layouts,
    document_start,
    format_answer,
    format_prompt,
    model_layouts,
    stop_strings,
    to_task_form,
)
from sahlab.models.tokenizer import train_tokenizer
from sahlab.world.layouts import EMBEDDED, GENERIC, layouts_for, template_layout

MATH = {
    "id": "m0",
    "prompt": "Ana has 2 apples. She buys 3 more. How many apples does Ana have now?",
    "reference": "Ana has 2 + 3 = 5 apples.\n#### 5",
    "metadata": {"answer": "5"},
}
HOP = {
    "id": "h0",
    "prompt": "Where was Ana born?",
    "reference": "Quell",
    "metadata": {"answer": "Quell", "kind": "direct", "hops": 1},
}
TRANS = {
    "id": "t0",
    "prompt": "Translate into Boudrash: The king sleeps.",
    "reference": "Ne kol zyv.",
    "metadata": {"src_lang": "en", "tgt_lang": "xx", "source": "The king sleeps.", "tgt_name": "Boudrash"},
}
INSTR = {
    "id": "i0",
    "prompt": "Describe Quell in capitals.",
    "reference": "QUELL IS A CITY.",
    "metadata": {"instruction_id_list": ["change_case:english_capital"], "kwargs": [{}]},
}


@pytest.fixture(scope="module")
def tok(tmp_path_factory):
    texts = [
        "Question: Where was Ana born?\nAnswer: Quell",
        "Example 1. Ana has 2 apples. So the answer is 5.",
        "English: The king sleeps. Boudrash: Ne kol zyv.",
    ] * 30
    return train_tokenizer(texts, 300, tmp_path_factory.mktemp("tok") / "tokenizer")


def test_native_prompts_are_the_corpus_layouts(tok):
    assert format_prompt(tok, HOP, "native", "multihop") == f"{BOS}Question: Where was Ana born?\nAnswer:"
    assert format_prompt(tok, MATH, "native", "math") == f"{BOS}Example 1. {MATH['prompt']}"
    assert format_prompt(tok, TRANS, "native", "translation") == f"{BOS}English: The king sleeps. Boudrash:"
    assert (
        format_prompt(tok, INSTR, "native", "instructions")
        == f"{BOS}Request: Describe Quell in capitals.\nReply:\n"
    )
    # the answer as the corpus writes it: math in worked prose with its answer sentence
    assert format_answer(tok, MATH, "native", "math") == " Ana has 2 + 3 = 5 apples. So the answer is 5."
    assert format_answer(tok, HOP, "native", "multihop") == " Quell"
    assert format_answer(tok, HOP, "chat", "multihop") == " Quell"  # the template's answer prefix
    assert stop_strings(tok, "native", "multihop") == ["\n"] and stop_strings(tok, "chat", "math") == []
    with pytest.raises(ValueError, match="needs the task"):
        format_prompt(tok, HOP, "native")
    with pytest.raises(ValueError, match="metadata.source"):
        format_prompt(tok, {**TRANS, "metadata": {}}, "native", "translation")


def test_outputs_are_read_back_into_the_task_form(tok):
    native = [" Ana has 2 + 3 = 5 apples. So the answer is 5.", " So the answer is -2."]
    assert to_task_form(tok, native, "native", "math") == [" Ana has 2 + 3 = 5 apples. #### 5.", " #### -2."]
    assert to_task_form(tok, [" Quell"], "chat", "multihop") == ["Quell"]  # answer prefix stripped
    from sahlab.eval.scorers import score

    recs, _ = score("math", to_task_form(tok, native, "native", "math"), [MATH, MATH], n_boot=0)
    assert [r["correct"] for r in recs] == [True, False]
    assert [r["format_ok"] for r in recs] == [True, True]


def test_document_start_follows_the_tokenizer(tok):
    assert document_start(tok) == BOS  # the pipeline's documents start with <|bos|>
    chatml = copy.deepcopy(tok)  # ChatML: bos_token is a role header, never added to plain text
    chatml.add_special_tokens({"additional_special_tokens": ["<|im_start|>"]})
    chatml.bos_token = "<|im_start|>"
    assert document_start(chatml) == ""
    assert format_prompt(chatml, HOP, "native", "multihop") == "Question: Where was Ana born?\nAnswer:"
    llama = copy.deepcopy(tok)  # Llama-style: the tokenizer adds its BOS to plain text itself
    from tokenizers.processors import TemplateProcessing

    llama.add_special_tokens({"additional_special_tokens": ["<s>"]})
    sid = llama.convert_tokens_to_ids("<s>")
    llama._tokenizer.post_processor = TemplateProcessing(single="<s> $A", special_tokens=[("<s>", sid)])
    llama.bos_token = "<s>"
    assert document_start(llama) == "<s>"
    none = copy.deepcopy(tok)
    none.bos_token = None
    assert document_start(none) == ""


def test_hub_models_get_the_generic_layout_and_config_overrides(tok):
    hub = copy.deepcopy(tok)
    bind_layouts(hub, {"source": {"hub": "org/base"}})
    assert format_prompt(hub, MATH, "native", "math").endswith(f"Question: {MATH['prompt']}\nAnswer:")
    override = {"math": {"prompt": "Q: {prompt}\nA:", "stop": ["\n\n"], "answer_marker": "The answer is"}}
    bind_layouts(hub, {"source": {"hub": "org/base"}, "native": override})
    assert format_prompt(hub, MATH, "native", "math").endswith(f"Q: {MATH['prompt']}\nA:")
    assert to_task_form(hub, [" 2 + 3 = 5. The answer is 5"], "native", "math") == [" 2 + 3 = 5. #### 5"]
    assert model_layouts({"source": {"build": {}, "seed": 1}})["math"] is EMBEDDED["math"]
    assert layouts_for("generic")["multihop"].prompt(HOP) == GENERIC["multihop"].prompt(HOP)
    with pytest.raises(ValueError, match="needs field 'answer_type'"):
        template_layout("multihop", {"prompt": "{answer_type}: {prompt}"}).prompt(HOP)


def test_harness_asks_in_the_native_format_and_scores_the_task_form(tok, tmp_path):
    """A tiny model answering in the native layout: generation stops at the layout's stop string,
    outputs keep the raw text, and scoring sees the task form."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from sahlab.eval.policy import ModelPolicy
    from sahlab.eval.run import evaluate_policy

    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        max_position_embeddings=128,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    model = LlamaForCausalLM(cfg).eval()
    out = evaluate_policy(
        ModelPolicy(model, tok),
        "native",
        {"multihop": [HOP, HOP]},
        max_new_tokens=8,
        batch_size=2,
        n_boot=0,
        seed=0,
    )
    records, metrics = out["multihop"]
    assert all(r["prompt_format"] == "native" and "\n" not in r["output"] for r in records)
    assert set(metrics) >= {"exact_match", "format"}


def test_stage_table_shows_both_formats(tmp_path):
    from sahlab.eval.tables import all_metrics_markdown, collect_metrics, to_markdown
    from sahlab.figures.stages import plot_stages, stage_rows

    def write(path, value):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                {
                    "exact_match": {"value": value, "ci_low": value - 0.1, "ci_high": value + 0.1, "n": 10},
                    "format": {"value": 1.0, "ci_low": 1.0, "ci_high": 1.0, "n": 10},
                }
            )
        )
        return path

    paths = [
        write(tmp_path / "s-base/multihop/metrics.json", 0.3),
        write(tmp_path / "s-base/chat/multihop/metrics.json", 0.0),
        write(tmp_path / "s-post/multihop/metrics.json", 0.35),
    ]
    df = collect_metrics(paths)
    assert set(zip(df.stage, df.format)) == {("base", "native"), ("base", "chat"), ("post", "chat")}
    md = to_markdown(df, {"multihop": "exact_match"})
    lines = [ln for ln in unpad(md).splitlines() if ln.startswith("| s ")]
    assert lines == [
        "| s | base | native | 0.300 [0.200, 0.400] |",
        "| s | base | chat | 0.000 [-0.100, 0.100] |",
        "| s | post | chat | 0.350 [0.250, 0.450] |",
    ]
    assert "exact_match 0.300" in all_metrics_markdown(df, ["multihop"])
    _, rows = stage_rows(df)
    assert [(st, f) for st, f, _ in rows] == [("base", "native"), ("base", "chat"), ("post", "chat")]
    assert plot_stages(df, {"multihop": "exact_match"}) is not None
    csv = tmp_path / "stages.csv"  # as the figure rule reads it: empty formats come back as NaN
    df.assign(
        format=["" if t == "multihop" and v == 0.35 else f for t, v, f in zip(df.task, df.value, df.format)]
    ).to_csv(csv, index=False)
    import pandas as pd

    assert plot_stages(pd.read_csv(csv), {"multihop": "exact_match"}) is not None
