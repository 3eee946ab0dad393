"""Study B orchestration: payload sizes, decoded weights actually evaluated, ICL prompts and code
lengths, the whole strategy run on a tiny model, config checks, complexity tables."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from conftest import unpad  # noqa: E402
from sahlab.complexity import inference, strategies  # noqa: E402
from sahlab.complexity.compress import compressed_bits  # noqa: E402
from sahlab.complexity.config import check_complexity_config, settings  # noqa: E402
from sahlab.complexity.programs import code_bits, program_path  # noqa: E402
from sahlab.complexity.programs import full as full_program  # noqa: E402
from sahlab.complexity.programs import lora as lora_program  # noqa: E402
from sahlab.complexity.quantize import quantize_state_dict  # noqa: E402
from sahlab.config import ConfigError  # noqa: E402
from sahlab.models.prompting import BOS, CHAT_TEMPLATE, EOS, PAD, SPECIAL_TOKENS, format_prompt  # noqa: E402

CITIES = ["Quell", "Brant", "Ostra", "Velm", "Dunmore", "Ptarn", "Saro", "Lisk"]


def qa_rows(n: int, split: str) -> list[dict]:
    return [
        {
            "id": f"{split}-{i}",
            "prompt": f"Where was person {i} born?",
            "reference": CITIES[i % len(CITIES)],
            "metadata": {"answer": CITIES[i % len(CITIES)], "hops": 1, "kind": "direct"},
        }
        for i in range(n)
    ]


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def _make_model(folder: Path, prompt_format: str) -> Path:
    """A randomly initialised tiny Llama + BPE tokenizer with the chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    texts = [f"{r['prompt']}\n{r['reference']}" for r in qa_rows(16, "t")]
    tok.train_from_iterator(
        texts * 4,
        trainers.BpeTrainer(
            vocab_size=320,
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
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        bos_token_id=hf.bos_token_id,
        eos_token_id=hf.eos_token_id,
        pad_token_id=hf.pad_token_id,
        tie_word_embeddings=True,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    hf.save_pretrained(folder)
    (folder / "sahlab.json").write_text(
        json.dumps({"prompt_format": prompt_format, "stage": "base", "scale": "tiny"})
    )
    return folder


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return _make_model(tmp_path_factory.mktemp("m") / "tiny-base", "native")


OPTS = {
    **settings({"scales": {"tiny": {}}, "tasks": {"multihop": {}}}),
    "n_test": 4,
    "n_select": 2,
    "max_new_tokens": 4,
    "batch_size": 8,
    "icl_k": [1, 2],
    "lora_ranks": [2],
    "bits": [16, 4],
    "n_train": 8,
    "prequential_n": [2, 4, 8],
    "full_hparams": {"lr": 1e-3, "max_steps": 1, "batch_size": 8, "max_length": 64},
    "lora_hparams": {"lr": 1e-2, "max_steps": 1, "batch_size": 8, "max_length": 64, "lora": {"alpha": 4}},
}


@pytest.fixture(scope="module")
def job(model_dir, tmp_path_factory):
    return strategies._Job(
        model_dir,
        "multihop",
        qa_rows(16, "train"),
        qa_rows(4, "test"),
        OPTS,
        seed=3,
        work_dir=tmp_path_factory.mktemp("work"),
        threads=1,
    )


# ------------------------------------------------------------------------------- payloads
def test_weight_payload_bits_are_the_compressed_quantised_bytes():
    g = torch.Generator().manual_seed(0)
    sd = {"a.A": torch.randn(2, 40, generator=g), "a.B": torch.randn(24, 2, generator=g) * 0.01}
    for bits in (16, 8, 4):
        blob, deq, info = strategies.weight_payload(sd, bits, level=19)
        payload, deq_ref = quantize_state_dict(sd, bits)  # independent recomputation
        assert info["payload_bits"] == compressed_bits(payload, level=19) == 8 * len(blob)
        assert info["naive_bits"] == 16 * (80 + 48) and info["n_params"] == 128
        for k in sd:
            assert torch.equal(deq[k], deq_ref[k])
        # the receiver's decoding of the blob gives the same tensors
        back = lora_program.tensors(blob)
        for k in sd:
            assert torch.equal(back[k], deq_ref[k].float())
    # fewer bits, smaller payload (same tensors)
    sizes = [strategies.weight_payload(sd, b, 19)[2]["payload_bits"] for b in (16, 8, 4)]
    assert sizes[0] > sizes[1] > sizes[2]


def test_lora_payload_merge_equals_dequantised_factors_and_peft_merge(model_dir, tmp_path):
    """The model evaluated for a LoRA program has W + deq(s·B) @ deq(A) — the decoded bytes —
    and at 16 bits agrees with PEFT's own merge of the unquantised adapter."""
    from peft import LoraConfig, get_peft_model

    from sahlab.models.registry import load_model

    base = load_model(model_dir, dtype="float32")
    peft_model = get_peft_model(
        copy.deepcopy(base), LoraConfig(r=2, lora_alpha=6, target_modules="all-linear")
    )
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for n, p in peft_model.named_parameters():
            if "lora_" in n:
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    peft_model.save_pretrained(tmp_path / "adapter")
    factors = strategies.read_adapter(tmp_path / "adapter")
    assert len(factors) == 2 * 7  # q, k, v, o, gate, up, down of the single layer
    peft_merged = peft_model.merge_and_unload()
    for bits in (16, 4):
        blob, deq, _ = strategies.weight_payload(factors, bits, level=19)
        model = copy.deepcopy(base)
        lora_program.apply(model, blob)
        params, base_p = dict(model.named_parameters()), dict(base.named_parameters())
        for key in factors:
            if not key.endswith(".A"):
                continue
            m = key[:-2]
            want = base_p[f"{m}.weight"] + deq[f"{m}.B"].float() @ deq[f"{m}.A"].float()
            torch.testing.assert_close(params[f"{m}.weight"], want, rtol=0, atol=1e-6)
            if bits == 16:
                ref = dict(peft_merged.named_parameters())[f"{m}.weight"]
                torch.testing.assert_close(params[f"{m}.weight"], ref, rtol=1e-2, atol=1e-3)
        # untouched parameters stay the conditioning model's
        torch.testing.assert_close(
            params["model.embed_tokens.weight"], base_p["model.embed_tokens.weight"], rtol=0, atol=0
        )


def test_delta_payload_reconstructs_tuned_weights_within_quantisation_error(model_dir):
    from sahlab.models.registry import load_model

    base = load_model(model_dir, dtype="float32")
    tuned = copy.deepcopy(base)
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for p in tuned.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 1e-3)
    delta = strategies.weight_delta(base, tuned)
    blob, deq, _ = strategies.weight_payload(delta, 8, level=19)
    model = copy.deepcopy(base)
    full_program.apply(model, blob)
    tuned_p, base_p = dict(tuned.named_parameters()), dict(base.named_parameters())
    for n, p in model.named_parameters():
        torch.testing.assert_close(p, base_p[n] + deq[n], rtol=0, atol=1e-7)
        step = delta[n].abs().max().item() / 127
        assert (p - tuned_p[n]).abs().max().item() <= step / 2 + 1e-6


# ------------------------------------------------------------------------------- ICL
@pytest.mark.parametrize("fmt", ["native", "chat"])
def test_icl_prompts(job, fmt):
    demos = qa_rows(3, "d")
    prompts = [{"prompt": "Where was Ana born?"}, {"prompt": "Where was Bo born?"}]
    # k = 0 is exactly the harness' rendering (the baseline)
    assert inference.render_icl_prompts(job.tok, [], prompts, "multihop", fmt) == [
        format_prompt(job.tok, p, fmt, "multihop") for p in prompts
    ]
    full = inference.render_icl_prompts(job.tok, demos, prompts, "multihop", fmt)
    prefix = inference.icl_prefix(job.tok, demos, "multihop", fmt)
    for text, p in zip(full, prompts):
        assert text.startswith(prefix) and text.endswith(
            format_prompt(job.tok, p, fmt, "multihop")[len(BOS) :] if fmt == "native" else "<|assistant|>"
        )
        assert all(d["reference"] in prefix and d["prompt"] in prefix for d in demos)
    if fmt == "native":  # demonstrations are the corpus's QA pairs, separated as in its documents
        assert prefix == BOS + "".join(
            f"Question: {d['prompt']}\nAnswer: {d['reference']}\n\n" for d in demos
        )


def test_icl_payload_bits_equal_manual_code_length(job):
    points, skipped = strategies.run_baseline_icl(job)
    assert not skipped
    assert [p["strategy"] for p in points] == ["baseline", "icl", "icl", "urial", "urial"]
    assert points[0]["payload_bits"] == 0 and points[0]["bits"] == job.script_bits["baseline"]
    from sahlab.complexity.urial import preamble

    for p in points[1:]:
        pre = preamble("multihop") if p["strategy"] == "urial" else ""
        # recompute -Σ log2 p(demo tokens) with a plain forward pass
        import random

        order = random.Random(job.seed).sample(range(16), 2)
        demos = [job.train_rows[i] for i in order[: p["k"]]]
        prefix = inference.icl_prefix(job.tok, demos, "multihop", "native", pre)
        head, payload = inference.icl_payload(job.tok, demos, "multihop", "native", pre)
        assert head == BOS and head + payload == prefix  # BOS is free, as in the baseline
        assert payload.startswith(pre)  # URIAL's preamble is charged with the demonstrations
        ids = torch.tensor([job.tok(prefix, add_special_tokens=False)["input_ids"]])
        with torch.no_grad():
            logp = torch.log_softmax(job.base(ids).logits[0, :-1].double(), -1)
        want = -logp.gather(1, ids[0, 1:, None]).sum().item() / math.log(2)
        assert p["payload_bits"] == pytest.approx(want, rel=1e-4)
        assert p["payload_bits_zstd"] == compressed_bits(payload.encode(), level=19)
        assert p["bits"] == pytest.approx(p["payload_bits"] + job.script_bits[p["strategy"]])
    assert points[2]["payload_bits"] > points[1]["payload_bits"]  # nested: more demos, more bits


SMOLLM2 = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
    "Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}"
)
LLAMA31 = (
    "{{ bos_token }}{% if messages[0]['role'] != 'system' %}{{ '<|start_header_id|>system"
    "<|end_header_id|>\n\nCutting Knowledge Date: December 2023<|eot_id|>' }}{% endif %}"
    "{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + "
    "'<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}"
    "{% endif %}"
)
ZEPHYR = (
    "{% for message in messages %}{% if message['role'] == 'user' %}{{ '<|user|>\n' + "
    "message['content'] + eos_token }}{% elif message['role'] == 'assistant' %}"
    "{{ '<|assistant|>\n' + message['content'] + eos_token }}{% endif %}"
    "{% if loop.last and add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}{% endfor %}"
)


@pytest.mark.parametrize(
    "template,head",
    [
        (
            SMOLLM2,
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by "
            "Hugging Face<|im_end|>\n",
        ),
        (
            LLAMA31,
            BOS + "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: "
            "December 2023<|eot_id|>",
        ),
        (ZEPHYR, ""),
        (CHAT_TEMPLATE, BOS),
    ],
)
def test_template_head_is_what_the_template_adds_by_itself(job, template, head):
    tok = copy.deepcopy(job.tok)
    tok.chat_template = template
    assert inference.template_head(tok) == head
    demos = qa_rows(2, "d")
    got_head, payload = inference.icl_payload(tok, demos, "multihop", "chat")
    assert got_head == head and payload.startswith(
        ("<|im_start|>user", "<|start_header_id|>user", "<|user|>")
    )
    assert all(d["prompt"] in payload and d["reference"] in payload for d in demos)
    assert inference.icl_payload(tok, [], "multihop", "chat") == (head, "")  # k = 0: nothing


def test_icl_bits_do_not_charge_the_templates_default_system_prompt(job):
    """A template with a default system prompt (as SmolLM2's): the baseline carries that turn
    for free, so the ICL payload is the demonstration turns alone, coded given it."""
    system = "System: you are a helpful assistant who always answers briefly and politely.\n"
    sys_job = copy.copy(job)
    sys_job.tok = copy.deepcopy(job.tok)
    sys_job.tok.chat_template = CHAT_TEMPLATE.replace(
        "{% for message in messages %}",
        "{% for message in messages %}{% if loop.first %}" + system + "{% endif %}",
        1,
    )
    sys_job.fmt = "chat"
    assert format_prompt(sys_job.tok, {"prompt": "q"}, "chat").startswith(BOS + system)
    points, skipped = strategies.run_baseline_icl(sys_job)
    assert not skipped and points[0]["payload_bits"] == 0
    import random

    order = random.Random(job.seed).sample(range(16), 2)
    for p in points[1:]:
        if p["strategy"] == "urial":  # URIAL's preamble goes after the template's head too
            head, payload = inference.icl_payload(sys_job.tok, [], "multihop", "chat", "PRE\n")
            assert head == BOS + system and payload == "PRE\n"
            continue
        demos = [job.train_rows[i] for i in order[: p["k"]]]
        head, payload = inference.icl_payload(sys_job.tok, demos, "multihop", "chat")
        assert head == BOS + system and system not in payload
        ctx = sys_job.tok(head, add_special_tokens=False)["input_ids"]
        ids = ctx + sys_job.tok(payload, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logp = torch.log_softmax(job.base(torch.tensor([ids])).logits[0, :-1].double(), -1)
        target = torch.tensor(ids[1:])[:, None]
        want = -logp.gather(1, target)[len(ctx) - 1 :].sum().item() / math.log(2)
        assert p["payload_bits"] == pytest.approx(want, rel=1e-4)
        assert p["payload_bits_zstd"] == compressed_bits(payload.encode(), level=19)


def test_icl_settings_that_overflow_the_context_are_skipped(job):
    long_job = copy.copy(job)
    long_job.max_new = 500
    points, skipped = strategies.run_baseline_icl(long_job)
    assert [p["strategy"] for p in points] == ["baseline"]
    assert [(s["strategy"], s["setting"]) for s in skipped] == [
        ("icl", "k=1"),
        ("icl", "k=2"),
        ("urial", "k=1"),
        ("urial", "k=2"),
    ]


# ------------------------------------------------------------------------------- whole run
def test_lora_programs_are_evaluated_with_the_decoded_weights(job, monkeypatch):
    """Intercept every evaluation: the weights it sees are base + the dequantised payload."""
    seen = []
    monkeypatch.setattr(
        strategies._Job,
        "evaluate",
        lambda self, model, demos=(), preamble="", split="select": (
            seen.append({n: p.detach().clone() for n, p in model.named_parameters()})
            or {"performance": 0.0, "format": 1.0, "boot": []}
        ),
    )
    points = strategies.run_lora(job)
    factors = strategies.read_adapter(Path(job.trained["lora_r2"]) / "adapter")
    assert [p["setting"] for p in points] == ["r=2,b=16", "r=2,b=4"]
    base_p = dict(job.base.named_parameters())
    for p, weights in zip(points, seen):
        payload, deq = quantize_state_dict(factors, p["quant_bits"])
        assert p["payload_bits"] == compressed_bits(payload, level=19)
        assert p["naive_bits"] == 16 * sum(t.numel() for t in factors.values())
        m = "model.layers.0.self_attn.q_proj"
        want = base_p[f"{m}.weight"] + deq[f"{m}.B"].float() @ deq[f"{m}.A"].float()
        torch.testing.assert_close(weights[f"{m}.weight"], want, rtol=0, atol=1e-6)
    # the 4-bit program differs from the 16-bit one: quantisation really reached the model
    assert not torch.equal(seen[0][f"{m}.weight"], seen[1][f"{m}.weight"])


def test_run_complexity_end_to_end(model_dir):
    from sahlab.complexity.config import BLORA_DEFAULTS

    opts = {**OPTS, "blora": {**BLORA_DEFAULTS, "r": 2, "epochs": 1, "batch_size": 8}}
    res = strategies.run_complexity(
        model_dir, "multihop", qa_rows(16, "train"), qa_rows(4, "test"), opts, seed=3
    )
    by = {}
    for p in res["points"]:
        by.setdefault(p["strategy"], []).append(p)
        assert p["bits"] == pytest.approx(p["payload_bits"] + res["script_bits"][p["strategy"]])
        assert 0.0 <= p["performance"] <= 1.0
    assert sorted(by) == ["baseline", "blora", "full", "icl", "lora", "online", "urial"]
    (bl,) = by["blora"]  # one program: its coded payload, the paper's nominal count beside it
    assert bl["r"] == 2 and bl["payload_bits"] > 0 and bl["nominal_bits"] > 0
    assert set(bl["blora_modules"]) and all(1 <= m["rank"] <= 2 for m in bl["blora_modules"].values())
    assert (res["n_select"], res["n_eval"]) == (2, 2)
    # only the programs chosen on the selection split are scored on the evaluation split:
    # the frontier and each strategy's best (bootstrap resamples of that split beside them)
    from sahlab.complexity.frontier import programs_to_check

    chosen = programs_to_check(res["points"])
    for p in res["points"]:
        assert (p["performance_eval"] is not None) == ((p["strategy"], p["setting"]) in chosen)
        if p["performance_eval"] is not None:
            assert len(p["boot_eval"]) == OPTS["n_boot"]
    assert ("baseline", "prompt") in chosen
    # URIAL = the same demonstrations after the task preamble: more payload than ICL
    for u, i in zip(by["urial"], by["icl"]):
        assert u["setting"] == i["setting"] and u["payload_bits"] > i["payload_bits"]
    # the block prequential code of the same prefixes is reported beside the online code
    assert [c["N"] for c in res["prequential"]["block"]] == [2, 4, 8]
    assert all(p["bits_block"] > p["script_bits"] for p in by["online"])
    json.dumps(res)  # no builders or tensors left in the result
    assert [p["setting"] for p in by["full"]] == ["N=8,b=16", "N=8,b=4"]
    # online: the payload of N examples is the lr header plus their summed code lengths
    per = res["prequential"]["per_example_bits"]
    assert len(per) == 8 and all(b > 0 for b in per)
    header = [p["payload_bits"] - sum(per[: p["N"]]) for p in by["online"]]
    assert [p["N"] for p in by["online"]] == [2, 4, 8] and len(set(header)) == 1 and header[0] > 0
    # code bits: 8 × the raw size of each strategy's receiver script, as the paper counts them
    for s, b in res["script_bits"].items():
        assert b == 8 * len(program_path(s).read_bytes()) == code_bits(s)
    assert res["script_bits"]["online"] > res["script_bits"]["baseline"]
    # training each model and quantising + compressing its payload are both logged
    whats = [t["what"] for t in res["timings"]]
    assert "train lora_r2" in whats and "train full_n8" in whats and "online code pass" in whats
    assert "quantise+compress full delta b=4" in whats and "block prequential code" in whats
    # a rerun gives the same results (wall-clock times are apart, in "timings")
    again = strategies.run_complexity(
        model_dir, "multihop", qa_rows(16, "train"), qa_rows(4, "test"), opts, seed=3
    )
    res.pop("timings"), again.pop("timings")
    assert json.dumps(res, sort_keys=True) == json.dumps(again, sort_keys=True)


def test_online_code_charges_whole_sequences_under_the_model_so_far(job):
    """Example 1 is coded by the conditioning model itself, prompt and answer; example 2 by the
    model after one AdamW step on example 1 (the single pass of the paper's online code)."""
    from sahlab.complexity.programs.online import online

    texts = strategies.online_texts(job, job.train_rows[:2])
    assert (
        texts[0] == BOS + f"Question: {job.train_rows[0]['prompt']}\nAnswer: "
        f"{job.train_rows[0]['reference']}{EOS}"
    )  # the model's own format, answer and EOS

    def bits_of(model, text):
        ids = torch.tensor([job.tok(text, add_special_tokens=False)["input_ids"]])
        with torch.no_grad():
            logp = torch.log_softmax(model(ids).logits[0, :-1].double(), -1)
        return -logp.gather(1, ids[0, 1:, None]).sum().item() / math.log(2)

    model, bits = copy.deepcopy(job.base), []
    online(model, job.tok, texts, 1e-3, bits=bits)
    assert bits[0] == pytest.approx(bits_of(job.base, texts[0]), rel=1e-4)
    stepped = copy.deepcopy(job.base)
    online(stepped, job.tok, texts[:1], 1e-3)
    assert bits[1] == pytest.approx(bits_of(stepped, texts[1]), rel=1e-4)
    assert bits[1] != pytest.approx(bits_of(job.base, texts[1]), rel=1e-4)


def test_receiver_scripts_reproduce_the_pipelines_answers(job, model_dir, tmp_path):
    """Each strategy's counted script, run as a program on its real payload, gives the answers
    the pipeline scored for that program (greedy, token for token)."""
    import subprocess
    import sys

    from sahlab.complexity.programs.online import online

    tests = (job.splits["select"] + job.splits["eval"])[:3]
    demos = job.train_rows[:2]
    full_q = inference.render_icl_prompts(job.tok, [], tests, "multihop", job.fmt)
    prefix = inference.icl_prefix(job.tok, demos, "multihop", job.fmt)
    head, demo_text = inference.icl_payload(job.tok, demos, "multihop", job.fmt)
    icl_q = [
        t[len(prefix) :] for t in inference.render_icl_prompts(job.tok, demos, tests, "multihop", job.fmt)
    ]
    from sahlab.models.prompting import stop_strings

    stop = stop_strings(job.tok, job.fmt, "multihop")

    runs, wants = [], []  # every script runs as __main__ in one interpreter (one import cost)

    def run(strategy, payload: bytes, queries, model, pre=None) -> None:
        k = len(runs)
        (tmp_path / f"payload{k}").write_bytes(payload)
        # the format's own start
        extra = {"context": head} if strategy in ("icl", "urial") else {}
        (tmp_path / f"q{k}.jsonl").write_text(
            "".join(
                json.dumps({**extra, "prompt": q, "stop": stop, "max_new_tokens": 4}) + "\n" for q in queries
            )
        )
        runs.append(
            [
                str(program_path(strategy)),
                str(model_dir),
                str(tmp_path / f"payload{k}"),
                str(tmp_path / f"q{k}.jsonl"),
            ]
        )
        rendered = [(pre or prefix) + q for q in queries] if strategy in ("icl", "urial") else full_q
        wants.append(
            inference.answer(
                model, job.tok, rendered, "multihop", job.fmt, max_new_tokens=4, batch_size=8, seed=0
            )
        )

    run("baseline", b"", full_q, job.base)
    assert head + demo_text == prefix
    run("icl", demo_text.encode(), icl_q, job.base)
    from sahlab.complexity.urial import preamble

    pre = preamble("multihop")
    u_prefix = inference.icl_prefix(job.tok, demos, "multihop", job.fmt, pre)
    u_head, u_text = inference.icl_payload(job.tok, demos, "multihop", job.fmt, pre)
    assert u_head == head and u_text == pre + demo_text and u_head + u_text == u_prefix
    u_q = [
        t[len(u_prefix) :]
        for t in inference.render_icl_prompts(job.tok, demos, tests, "multihop", job.fmt, pre)
    ]
    run("urial", u_text.encode(), u_q, job.base, u_prefix)
    g = torch.Generator().manual_seed(5)
    for strategy, program in (("lora", lora_program), ("full", full_program)):
        if strategy == "lora":
            m = "model.layers.0.self_attn.q_proj"
            sd = {f"{m}.A": torch.randn(2, 32, generator=g), f"{m}.B": torch.randn(32, 2, generator=g)}
        else:
            sd = {n: torch.randn(p.shape, generator=g) * 0.05 for n, p in job.base.named_parameters()}
        blob, _, _ = strategies.weight_payload(sd, 8, level=19)
        model = copy.deepcopy(job.base)
        program.apply(model, blob)
        run(strategy, blob, full_q, model)
    texts = strategies.online_texts(job, job.train_rows[:4])
    model = copy.deepcopy(job.base)
    online(model, job.tok, texts, 1e-2)
    payload = "".join(json.dumps(r) + "\n" for r in [{"lr": 1e-2}, *({"text": t} for t in texts)])
    run("online", payload.encode(), full_q, model)
    from sahlab.complexity import blora
    from sahlab.complexity.programs import blora as blora_program

    # a real BLoRA payload: trained (a large lr, so the adapter moves the answers), gated, coded
    trained = copy.deepcopy(job.base)
    layers, _ = blora.train_blora(
        trained,
        job.tok,
        [{**r, "task": "multihop"} for r in job.train_rows[:4]],
        job.fmt,
        {**blora.DEFAULTS, "r": 2, "epochs": 2, "batch_size": 2, "lr": 0.3},
        seed=0,
    )
    blob, _ = blora.payload(layers, 19)
    model = copy.deepcopy(job.base)
    blora_program.apply(model, blob)
    run("blora", blob, full_q, model)
    driver = (
        "import contextlib, io, json, runpy, sys\n"
        "for argv in json.loads(sys.argv[1]):\n"
        "    sys.argv, out = argv, io.StringIO()\n"
        "    with contextlib.redirect_stdout(out):\n"
        "        runpy.run_path(argv[0], run_name='__main__')\n"
        "    print(json.dumps(out.getvalue().splitlines()))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", driver, json.dumps(runs)],
        capture_output=True,
        text=True,
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    outputs = [[json.loads(a) for a in json.loads(line)] for line in proc.stdout.splitlines()]
    for strategy, got, want in zip(
        ("baseline", "icl", "urial", "lora", "full", "online", "blora"), outputs, wants
    ):
        assert got == want, strategy
    assert len(outputs) == 7 and sum(bool(a) for o in outputs for a in o) >= 5  # real answers


# ------------------------------------------------------------------------------- config
def _config(**complexity):
    return {
        "scales": {"small": {}},
        "tasks": {"math": {"source": "embedded"}},
        "world": {"tasks": {"math": {"train": 64, "test": 40}}},
        "complexity": complexity,
    }


def test_config_defaults_and_resolution():
    s = check_complexity_config(_config(prequential_n=[8, 16], n_train=32, icl_k=[1, 2]))
    assert s["models"] == ["small-random", "small-base", "small-post"]
    # 32 select, the rest of n_test (a cap: the 40-example split is used whole) evaluates
    assert (s["n_test"], s["n_select"]) == (232, 32)
    assert check_complexity_config(_config(n_test=8))["n_select"] == 4
    # data-program prefixes beyond the train split become the whole split; post has its own grid
    from sahlab.complexity.config import max_new_tokens, online_grid

    s = check_complexity_config(
        _config(
            prequential_n=[8, 32, 128, 512],
            prequential_n_post=[8, 16],
            max_new_tokens={"math": 48, "default": 16},
        )
    )
    assert online_grid(s, "base", 64) == [8, 32, 64] and online_grid(s, "post", 64) == [8, 16]
    assert online_grid(s, "base", 600) == [8, 32, 128, 512]
    assert max_new_tokens("math", s) == 48 and max_new_tokens("other", s) == 16
    assert s["tasks"] == ["math"] and s["deltas"] == {"math": [0.05, 0.1, 0.2]}
    assert s["lora_hparams"]["lr"] == 5.0e-3  # defaults kept under a partial override


def test_tasks_without_deltas_get_points_but_no_rows():
    cfg = _config()
    cfg["tasks"]["math_gsm8k"] = {"source": "hub"}
    s = check_complexity_config(cfg)
    assert s["tasks"] == ["math", "math_gsm8k"] and "math_gsm8k" not in s["deltas"]
    cfg["complexity"]["deltas"] = {"math_gsm8k": []}
    with pytest.raises(ConfigError, match=r"complexity\.deltas\.math_gsm8k"):
        check_complexity_config(cfg)


@pytest.mark.parametrize(
    "bad, key",
    [
        ({"models": ["small-instruct"]}, "complexity.models"),
        ({"tasks": ["poetry"]}, "complexity.tasks"),
        ({"prequential_n": [8, 4]}, "complexity.prequential_n"),
        ({"prequential_n_post": [8, 8]}, "complexity.prequential_n_post"),
        ({"prequential_block_max": -1}, "complexity.prequential_block_max"),
        ({"n_select": 40}, "complexity.n_select"),  # the test split has 40: nothing left to evaluate
        ({"max_new_tokens": {"poetry": 4}}, "complexity.max_new_tokens.poetry"),
        ({"urial": "yes"}, "complexity.urial"),
        ({"n_train": 65}, "complexity.n_train"),
        ({"icl_k": []}, "complexity.icl_k"),
        ({"icl_k": [0, 1]}, "complexity.icl_k"),
        ({"bits": [3]}, "complexity.bits"),
        ({"zstd_level": 3}, "complexity.zstd_level"),
        ({"deltas": {"math": [1.5]}}, "complexity.deltas.math"),
        ({"lora_hparams": {"lr": 1e-3, "lora": {"r": 4}}}, "complexity.lora_hparams.lora.r"),
        ({"full_hparams": {"lr": -1.0}}, "complexity.full_hparams"),
        ({"full_hparams": {"lora": {"r": 2}}}, "complexity.full_hparams.lora"),
        ({"lora_hparams": {"learning_rate": 1e-3}}, "complexity.lora_hparams"),
        ({"grid": 1}, "complexity.grid"),
        ({"blora": "yes"}, "complexity.blora"),
        ({"blora": {"rank": 4}}, "complexity.blora.rank"),
        ({"blora": {"r": 1}}, "complexity.blora.r"),
        ({"blora": {"gates_lr": 0}}, "complexity.blora.gates_lr"),
        ({"blora": {"lambda_rank": -1e-3}}, "complexity.blora.lambda_rank"),
        ({"blora": {"gamma_init": -3.0}}, "complexity.blora.gamma_init"),
    ],
)
def test_bad_config_names_the_key(bad, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        check_complexity_config(_config(**bad))


# ------------------------------------------------------------------------------- tables
def _result(model, points, task="math"):
    return {
        "model": model,
        "task": task,
        "metric": "accuracy",
        "points": [
            {"strategy": s, "setting": str(i), "bits": b, "performance": perf, "performance_eval": perf}
            for i, (s, b, perf) in enumerate(points)
        ],
    }


def test_complexity_tables(tmp_path):
    from sahlab.complexity.summary import complexity_rows, read_point_rows, write_tables

    results = [
        _result("small-random", [("baseline", 100, 0.0), ("full", 1e6, 0.05)]),
        _result("small-base", [("baseline", 100, 0.0), ("icl", 2000, 0.15), ("lora", 80_000, 0.3)]),
        _result("small-post", [("baseline", 100, 0.35), ("lora", 90_000, 0.5)]),
    ]
    table, red = complexity_rows(results, {"math": [0.1, 0.3, 0.45, 0.9]})
    cell = {(r["stage"], r["delta"]): r for r in table}
    assert cell[("base", 0.1)]["bits"] == 2000 and cell[("base", 0.1)]["strategy"] == "icl"
    assert cell[("base", 0.3)]["bits"] == 80_000 and cell[("post", 0.3)]["bits"] == 100
    assert math.isinf(cell[("random", 0.1)]["bits"]) and cell[("random", 0.1)]["strategy"] is None
    r = {row["delta"]: row for row in red}
    assert r[0.1]["base_over_post"] == pytest.approx(20.0)
    assert r[0.3]["base_over_post"] == pytest.approx(800.0)
    assert math.isinf(r[0.1]["random_over_base"])  # random init never reaches 0.1
    assert r[0.45]["base_over_post"] == 0.0 or math.isinf(r[0.45]["base_over_post"])
    assert math.isinf(r[0.45]["base_over_post"])  # only post reaches 0.45
    assert math.isnan(r[0.9]["base_over_post"])
    write_tables(
        results,
        {"math": [0.3]},
        tmp_path / "p.csv",
        tmp_path / "c.csv",
        tmp_path / "c.md",
        tmp_path / "r.csv",
    )
    rows = read_point_rows(tmp_path / "p.csv")
    assert len(rows) == 7 and rows[0]["stage"] == "random" and rows[0]["bits"] == 100.0
    md = unpad((tmp_path / "c.md").read_text())
    assert "| small | math (accuracy) | 0.3 |" in md and "800.00×" in md
    # a scale with only a post-trained model: no ratio involving the missing base
    from sahlab.complexity.summary import markdown

    post_only = complexity_rows([_result("chat-post", [("baseline", 100, 0.35)])], {"math": [0.3, 0.9]})
    md = unpad(markdown(*post_only))
    assert "| chat | math (accuracy) | 0.3 | – | – | 12 B (baseline 0) | – | – |" in md
    assert "neither reaches" not in md
