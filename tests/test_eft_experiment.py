"""Study C orchestration: config checks, grid tables, and the grid / sweep / speculative runners on
tiny model folders, checked against independent plain-model evaluations (β = 0 and a zero delta
reduce EFT to the large base alone)."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import pytest
import yaml

from conftest import unpad
from sahlab.config import ConfigError
from sahlab.eft.config import check_eft_config, max_new_tokens_for, mixture_tasks, scale_models, variant_names
from sahlab.eft.experiment import (
    diagonal_rows,
    grid_tables,
    markdown,
    metric_rows,
    rescore_outputs,
    variant_dataset,
)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def config():
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def _with(config, path: str, value):
    cfg = copy.deepcopy(config)
    node = cfg
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[k]
    node[keys[-1]] = value
    return cfg


# --------------------------------------------------------------------------- config
def test_default_config_passes_and_derives_names(config):
    check_eft_config(config)
    assert scale_models(config) == {
        "small_base": "small-base",
        "small_post": "small-post",
        "large_base": "large-base",
        "large_post": "large-post",
    }
    assert variant_names(config) == ["reason", "chat"]
    assert set(mixture_tasks(config)) == {"math", "multihop", "instructions", "translation"}
    assert max_new_tokens_for(config, "multihop") == config["eft"]["max_new_tokens"]["multihop"]
    assert (
        max_new_tokens_for(_with(config, "eft.max_new_tokens", None), "math")
        == config["evaluation"]["max_new_tokens"]
    )


@pytest.mark.parametrize(
    "path, value, key",
    [
        ("eft.large", "huge", "eft.large"),
        ("eft.large", "small", "eft.large"),
        ("eft.tasks", ["math", "poetry"], "eft.tasks"),
        ("eft.tasks", [], "eft.tasks"),
        ("eft.n_test", 10_000, "eft.n_test"),  # above evaluation.n_test, whose outputs the diagonal reuses
        ("eft.beta.values", [], "eft.beta.values"),
        ("eft.beta.n_test", 10_000, "eft.beta.n_test"),
        ("eft.mixture.variants", {"only": ["math"]}, "eft.mixture.variants"),
        ("eft.mixture.variants", {"a": ["math"], "b": ["math"]}, "eft.mixture.variants"),
        ("eft.mixture.variants", {"a": ["math"], "b": ["poetry"]}, "eft.mixture.variants.b"),
        ("eft.mixture.lambdas", [0.0, 1.5], "eft.mixture.lambdas"),
        ("eft.mixture.n_per_task", 10_000_000, "eft.mixture.n_per_task"),
        ("eft.mixture.hparams", {"lr": 1e-3, "bogus": 1}, "eft.mixture.hparams"),
        ("eft.mixture.hparams", {"prompt_format": "plain"}, "eft.mixture.hparams"),
        ("eft.speculative.temperatures", [1.0], "eft.speculative.temperatures"),
        ("eft.speculative.n_prompts", 10_000, "eft.speculative.n_prompts"),
    ],
)
def test_bad_config_names_the_key(config, path, value, key):
    with pytest.raises(ConfigError, match=f"'{key}'"):
        check_eft_config(_with(config, path, value))


def test_n_test_bound_by_evaluation(config):
    cfg = _with(_with(config, "evaluation.n_test", 100), "eft.n_test", 100)
    check_eft_config(cfg)  # equal is fine
    with pytest.raises(ConfigError, match="evaluation.n_test"):
        check_eft_config(_with(cfg, "evaluation.n_test", cfg["eft"]["n_test"] - 1))


# --------------------------------------------------------------------------- tables
def _cell_rows(values: dict, metric="accuracy", task="math"):
    cells = {
        ("small", "small"): "small",
        ("large", "small"): "up",
        ("small", "large"): "down",
        ("large", "large"): "large",
    }
    return [
        {
            "cell": cells[k],
            "pretrain": k[0],
            "finetune": k[1],
            "emulated": cells[k] in ("up", "down"),
            "task": task,
            "metric": metric,
            "value": v,
            "ci_low": v,
            "ci_high": v,
            "n": 4,
        }
        for k, v in values.items()
    ]


CELL_OF = {
    ("small", "small"): "small",
    ("large", "small"): "up",
    ("small", "large"): "down",
    ("large", "large"): "large",
}


def _records(correct: dict, fmt: dict | None = None):
    """cell -> {"math": per-item records} from (pretrain, finetune) -> list of 0/1 per item."""
    out = {}
    for key, values in correct.items():
        f = (fmt or {}).get(key, [1] * len(values))
        out[CELL_OF[key]] = {
            "math": [
                {
                    "id": f"m{i}",
                    "correct": bool(v),
                    "format_ok": bool(g),
                    "error_kind": "correct" if v else ("reasoning" if g else "format"),
                }
                for i, (v, g) in enumerate(zip(values, f))
            ]
        }
    return out


def _rows_of(records):
    import numpy as np

    rows = []
    for cell, per_task in records.items():
        recs = per_task["math"]
        for metric, field in (("accuracy", "correct"), ("format", "format_ok")):
            v = float(np.mean([r[field] for r in recs]))
            rows += _cell_rows({next(k for k, c in CELL_OF.items() if c == cell): v}, metric=metric)
    return rows


def test_grid_gains_average_the_two_scaling_directions():
    # 10 items; (pretrain, finetune) -> correct per item: the large fine-tune adds items 4-7 at both
    # pre-training scales, the large pre-training adds item 8 at both fine-tuning scales.
    a = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    correct = {
        ("small", "small"): a,
        ("large", "small"): a[:8] + [1, 0],
        ("small", "large"): [1] * 8 + [0, 0],
        ("large", "large"): [1] * 9 + [0],
    }
    fmt = {
        ("small", "small"): [1] * 10,
        ("large", "small"): [0] * 10,
        ("small", "large"): [1] * 10,
        ("large", "large"): [1] * 5 + [0] * 5,
    }
    records = _records(correct, fmt)
    cells, gains = grid_tables(_rows_of(records), records, n_boot=400, seed=0)
    assert list(cells["cell"][:4]) == ["small", "up", "down", "large"]  # CELLS order within a metric
    g = gains.set_index("metric")
    assert g.loc["accuracy", "ft_gain"] == pytest.approx(0.4)
    assert g.loc["accuracy", "pt_gain"] == pytest.approx(0.1)
    assert g.loc["accuracy", "pt_minus_ft"] == pytest.approx(-0.3)
    # paired: every resample sees the same items in all four cells, so the ft gain is the mean of a
    # per-item difference of 1 on 4 items of 10, never 0 -> "> 0"; the pt gain is 1 on one item
    assert 0 < g.loc["accuracy", "ft_ci_low"] <= 0.4 <= g.loc["accuracy", "ft_ci_high"]
    assert g.loc["accuracy", "ft_verdict"] == "> 0"
    assert g.loc["accuracy", "pt_ci_low"] == 0.0 and g.loc["accuracy", "pt_verdict"] == "inconclusive"
    assert g.loc["accuracy", "pt_minus_ft_ci_low"] < -0.3 < g.loc["accuracy", "pt_minus_ft_ci_high"]
    # format: ft gain ((1 - 1) + (0.5 - 0)) / 2, pt gain ((0 - 1) + (0.5 - 1)) / 2
    assert g.loc["format", "ft_gain"] == pytest.approx(0.25)
    assert g.loc["format", "pt_gain"] == pytest.approx(-0.75)
    assert g.loc["format", "pt_verdict"] == "< 0"
    assert (gains["n"] == 10).all()
    md = unpad(markdown(gains[["task", "metric", "ft_gain", "pt_gain"]]))
    assert md.splitlines()[0] == "| task | metric | ft_gain | pt_gain |"
    assert "| math | accuracy | 0.400 | 0.100 |" in md


def test_paired_intervals_resample_the_same_items_in_every_cell():
    """The interval equals a hand-made paired bootstrap: one index draw, applied to all four cells."""
    import numpy as np

    from sahlab.eft.paired import paired_metric
    from sahlab.stats.resampling import resample_indices

    rng = np.random.default_rng(1)
    correct = {k: list(rng.integers(0, 2, 30)) for k in CELL_OF}
    records = _records(correct)
    cells = {c: records[c]["math"] for c in records}
    res = paired_metric("accuracy", cells, {}, n_boot=300, seed=7)
    idx = resample_indices(30, 300, 7)
    v = {k: np.array(val, dtype=float)[idx].mean(axis=1) for k, val in correct.items()}
    ft = ((v["small", "large"] - v["small", "small"]) + (v["large", "large"] - v["large", "small"])) / 2
    assert res["ft"]["ci_low"] == pytest.approx(np.quantile(ft, 0.025))
    assert res["ft"]["ci_high"] == pytest.approx(np.quantile(ft, 0.975))
    with pytest.raises(RuntimeError, match="out of step with the scorer"):
        paired_metric("accuracy", cells, {"small": 0.99}, n_boot=10, seed=0)
    shuffled = {**cells, "up": cells["up"][::-1]}
    with pytest.raises(ValueError, match="other items"):
        paired_metric("accuracy", shuffled, {}, n_boot=10, seed=0)


def test_paired_corpus_and_ratio_metrics_match_the_scorers():
    """chrF / BLEU from segment statistics and instruction-level ratios reproduce the scorers' values."""
    from sahlab.eft.paired import paired_metric
    from sahlab.eval.scorers import score

    ex = _translation_examples(12)
    outs = {
        c: [e["reference"] if (i + j) % 3 else e["metadata"]["source"] for i, e in enumerate(ex)]
        for j, c in enumerate(("small", "up", "down", "large"))
    }
    cells, reported = {}, {}
    for c, o in outs.items():
        recs, metrics = score("translation", o, ex, n_boot=0)
        for r, e in zip(recs, ex):
            r["reference"] = e["reference"]
        cells[c] = recs
        reported[c] = {m: metrics[m]["value"] for m in ("chrf", "bleu", "sentence_chrf")}
    for m in ("chrf", "bleu", "sentence_chrf"):
        res = paired_metric(m, cells, {c: reported[c][m] for c in cells}, n_boot=50, seed=0)
        assert res["ft"]["ci_low"] <= res["ft"]["value"] <= res["ft"]["ci_high"]


def test_grid_missing_cell_is_an_error():
    rows = _cell_rows({("small", "small"): 0.1, ("large", "small"): 0.2, ("small", "large"): 0.5})
    with pytest.raises(ValueError, match="3 of 4 cells"):
        grid_tables(rows, {}, n_boot=10, seed=0)


def test_metric_rows_flatten_and_tag():
    rows = metric_rows(
        {"accuracy": {"value": 0.5, "ci_low": 0.25, "ci_high": 0.75, "n": 8}}, beta=2.0, task="math"
    )
    assert rows == [
        {
            "beta": 2.0,
            "task": "math",
            "metric": "accuracy",
            "value": 0.5,
            "ci_low": 0.25,
            "ci_high": 0.75,
            "n": 8,
        }
    ]


def _math_examples(n, seed=0):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        a, b = rng.randint(1, 50), rng.randint(1, 50)
        out.append(
            {
                "id": f"m{i}",
                "prompt": f"What is {a} plus {b}?",
                "reference": f"{a} + {b}\n#### {a + b}",
                "metadata": {"answer": str(a + b)},
            }
        )
    return out


def _translation_examples(n, seed=0):
    """chrF varies continuously with the output, so equal metrics mean (near-)equal outputs."""
    rng = random.Random(seed)
    words = "what is plus the answer eggs coins has many how".split()
    out = []
    for i in range(n):
        src = " ".join(rng.choice(words) for _ in range(4))
        out.append(
            {
                "id": f"t{i}",
                "prompt": f"Translate: {src}",
                "reference": src[::-1],
                "metadata": {"source": src, "tgt_name": "Reverse"},
            }
        )
    return out


def _tests(seed):
    return {"math": _math_examples(3, seed), "translation": _translation_examples(3, seed)}


def test_rescore_uses_first_n_and_checks_ids():
    ex = _math_examples(6)
    # 2 of the first 4 right, the other 2 without an answer line; the last two (beyond n) right
    outs = [
        {"id": e["id"], "output": f"#### {e['metadata']['answer']}" if i % 2 == 0 or i >= 4 else "dunno"}
        for i, e in enumerate(ex)
    ]
    recs, m = rescore_outputs("math", outs, ex, 4, n_boot=50, seed=0)
    assert m["accuracy"]["value"] == pytest.approx(0.5) and m["accuracy"]["n"] == 4
    assert m["error_format"]["value"] == pytest.approx(0.5)
    assert [r["id"] for r in recs] == ["m0", "m1", "m2", "m3"] and recs[0]["reference"] == ex[0]["reference"]
    rows, records = diagonal_rows({"large": {"math": outs}}, {"math": ex}, 6, n_boot=50, seed=0)
    assert len(records["large"]["math"]) == 6
    acc = next(r for r in rows if r["metric"] == "accuracy")
    assert (acc["pretrain"], acc["finetune"], acc["emulated"], acc["value"]) == (
        "large",
        "large",
        False,
        pytest.approx(4 / 6),
    )
    with pytest.raises(ValueError, match="re-run the evaluation"):
        rescore_outputs("math", outs[1:] + outs[:1], ex, 4, n_boot=50, seed=0)
    with pytest.raises(ValueError, match="need 10 outputs"):
        rescore_outputs("math", outs, ex, 10, n_boot=50, seed=0)


def test_variant_dataset_takes_first_n_of_its_tasks():
    train = {
        "math": [{"id": f"m{i}"} for i in range(5)],
        "multihop": [{"id": f"h{i}"} for i in range(5)],
        "translation": [{"id": f"t{i}"} for i in range(5)],
    }
    rows = variant_dataset(train, ["math", "multihop"], 3)
    assert [r["id"] for r in rows] == ["m0", "m1", "m2", "h0", "h1", "h2"]
    assert [r["task"] for r in rows] == ["math"] * 3 + ["multihop"] * 3
    with pytest.raises(ValueError, match="instructions"):
        variant_dataset(train, ["instructions"], 3)


# --------------------------------------------------------------------------- runners on tiny models
torch = pytest.importorskip("torch")

SMALL = {
    "arch": "llama",
    "hidden_size": 32,
    "num_layers": 2,
    "num_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 256,
}
LARGE = {**SMALL, "hidden_size": 48, "intermediate_size": 96}
MNT = {"math": 6, "translation": 6}


def _no_early_eos(folder):
    """Random models often repeat a special token (EOS, <|assistant|>), which decodes to nothing: zero
    their output rows (a median logit) so greedy outputs have text to compare."""
    from safetensors.torch import load_file, save_file
    from transformers import AutoTokenizer

    special = AutoTokenizer.from_pretrained(folder).all_special_ids
    weights = load_file(str(folder / "model.safetensors"))
    for name in [n for n in weights if "lm_head" in n or "embed_tokens" in n]:
        weights[name][special] = 0.0
    save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    """Four tiny random model folders (chat format for the post models) sharing one tokenizer."""
    from sahlab.models.pretrain import init_random
    from sahlab.models.tokenizer import train_tokenizer

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("eft_models")
    rng = random.Random(0)
    words = "what is plus the answer eggs coins has many how".split()
    texts = [
        " ".join(rng.choice(words) for _ in range(12)) + f" #### {rng.randint(0, 99)}" for _ in range(80)
    ]
    train_tokenizer(texts, 300, root / "tok")
    out = {}
    for i, (role, build) in enumerate(
        [("small_base", SMALL), ("small_post", SMALL), ("large_base", LARGE), ("large_post", LARGE)]
    ):
        init_random(build, root / "tok", root / role, seed=i, scale=role.split("_")[0])
        _no_early_eos(root / role)
        if role.endswith("post"):
            meta = json.loads((root / role / "sahlab.json").read_text())
            (root / role / "sahlab.json").write_text(
                json.dumps({**meta, "prompt_format": "chat", "stage": "post"})
            )
        out[role] = str(root / role)
    return out


def _base_alone(model_dir, tests, **kw):
    """Independent reference for a vanishing delta: the large base alone, asked in its own (native)
    format with its own stop strings, its answers read back in the fine-tune's (chat) format.
    Returns (raw outputs, tasks in order; {task: metrics})."""
    from sahlab.eval.generate import generate, render_prompts
    from sahlab.eval.policy import ModelPolicy
    from sahlab.eval.scorers import score
    from sahlab.models.prompting import stop_strings, to_task_form

    policy = ModelPolicy.from_pretrained(model_dir)
    tok = policy.tokenizer
    outs, metrics = [], {}
    for task, ex in tests.items():
        raw = generate(
            policy,
            render_prompts(tok, ex, "native", task),
            MNT[task],
            batch_size=4,
            progress=False,
            stop_strings=stop_strings(tok, "native", task),
        )
        outs += raw
        if kw:
            metrics[task] = score(task, to_task_form(tok, raw, "chat", task), ex, **kw)[1]
    return outs, metrics


def _by(rows, key, value):
    return {(r["task"], r["metric"]): r["value"] for r in rows if r[key] == value}


def _flat(metrics):
    return {(t, k): v["value"] for t, m in metrics.items() for k, v in m.items()}


def test_grid_cell_rows_and_zero_delta_equals_large_base(dirs):
    from sahlab.eft.experiment import run_grid_cell

    tests = _tests(0)
    kw = dict(batch_size=4, n_boot=20, seed=0)
    rows, records = run_grid_cell("up", dirs, tests, MNT, **kw)
    assert {(r["cell"], r["pretrain"], r["finetune"], r["emulated"]) for r in rows} == {
        ("up", "large", "small", True)
    }
    assert [r["id"] for r in records] == ["m0", "m1", "m2", "t0", "t1", "t2"]
    assert all(r["cell"] == "up" for r in records)
    # each member in its own format, the output read in the fine-tune's
    assert records[0]["member_formats"] == {
        "base_large": "native",
        "ft_small": "chat",
        "base_small": "native",
    }
    assert records[0]["prompt_format"] == "chat"
    # With the fine-tune's base equal to the fine-tune the delta vanishes: up-scaling is the large
    # base alone, asked in its own (native) format.
    same = {**dirs, "small_base": dirs["small_post"]}
    zero_rows, zero_recs = run_grid_cell("up", same, tests, MNT, **kw)
    ref, _ = _base_alone(dirs["large_base"], tests)
    assert [r["output"] for r in zero_recs] == ref and any(o.strip() for o in ref)
    assert [r["output"] for r in records] != ref  # a real delta changes the decoding
    with pytest.raises(ValueError, match="emulated cells"):
        run_grid_cell("small", dirs, tests, MNT, **kw)


def test_beta_and_lambda_sweeps_reduce_to_plain_models(dirs):
    from sahlab.eft.experiment import (
        emulated_policy,
        load_members,
        role_formats,
        run_beta_sweep,
        run_grid_cell,
        run_lambda_sweep,
    )
    from sahlab.eval.generate import generate

    tests = _tests(1)
    kw = dict(batch_size=4, n_boot=20, seed=0)
    beta_rows = run_beta_sweep(dirs, [0.0, 1.0], tests, MNT, **kw)
    base = _flat(_base_alone(dirs["large_base"], tests, n_boot=20, seed=0)[1])
    assert _by(beta_rows, "beta", 0.0) == base  # β = 0: the large base alone
    # (that the delta changes the outputs is checked on the raw outputs in the grid-cell test)
    up_rows, up_recs = run_grid_cell("up", dirs, tests, MNT, **kw)
    assert _by(beta_rows, "beta", 1.0) == _by(up_rows, "cell", "up")  # β = 1: the grid's up cell
    # λ mixes variant a (= small post) and variant b (= small base, zero delta): λ = 1 is plain
    # up-scaling, λ = 0 the large base alone; λ = 0.5 halves the delta, i.e. up-scaling at β = 0.5.
    lam_rows = run_lambda_sweep(
        dirs, [dirs["small_post"], dirs["small_base"]], [0.0, 0.5, 1.0], 1.0, tests, MNT, **kw
    )
    assert _by(lam_rows, "lam", 1.0) == _by(up_rows, "cell", "up")
    assert _by(lam_rows, "lam", 0.0) == base
    roles = ("large_base", "small_post", "small_base")
    half = emulated_policy("up", load_members(dirs, roles), beta=0.5, formats=role_formats(dirs, roles))
    from sahlab.eval.scorers import score

    half_metrics = {}
    for task, ex in tests.items():
        raw = generate(
            half,
            half.render_prompts(ex, task),
            MNT[task],
            batch_size=4,
            progress=False,
            stop_strings=half.stop_strings(task),
        )
        half_metrics[task] = score(task, half.to_task_form(raw, task), ex, seed=0, n_boot=20)[1]
    assert _by(lam_rows, "lam", 0.5) == _flat(half_metrics)


def test_speculative_rows_and_greedy_identity(dirs):
    from sahlab.eft.experiment import run_speculative

    prompts = {"math": _math_examples(3)}
    rows = run_speculative(
        dirs, prompts, k=2, batch_sizes=[1, 3], temperatures=[0.0, 1.0], max_new_tokens=5, seed=0
    )
    assert [(r["batch_size"], r["temperature"]) for r in rows] == [(1, 0.0), (1, 1.0), (3, 0.0), (3, 1.0)]
    for r in rows:
        assert r["n_prompts"] == 3 and r["k"] == 2
        assert 0.0 <= r["acceptance_rate"] <= 1.0
        assert 1.0 <= r["tokens_per_verification"] <= 3.0  # at most k accepted + 1 per verification
        # speed-up from the unrounded times; the stored times are rounded to 0.1 ms
        assert r["speedup"] == pytest.approx(r["plain_s"] / r["speculative_s"], rel=0.02)
        assert r["flop_weighted_speedup"] > 0
        if r["temperature"] == 0.0:
            assert r["identical"] and r["identical_outputs"] == 3


# --------------------------------------------------------------------------- figures
def _sweep_rows():
    rows = []
    for lam in (0.0, 0.5, 1.0):
        rows += [
            {"lam": lam, "task": "math", "metric": "accuracy", "value": lam, "ci_low": lam, "ci_high": lam},
            {
                "lam": lam,
                "task": "translation",
                "metric": "chrf",
                "value": 100 * (1 - lam),
                "ci_low": 0.0,
                "ci_high": 100.0,
            },
            {
                "lam": lam,
                "task": "instructions",
                "metric": "prompt_strict",
                "value": 0.5,
                "ci_low": 0.5,
                "ci_high": 0.5,
            },
        ]
    return rows


def test_tradeoff_score_puts_chrf_on_unit_scale():
    import pandas as pd

    from sahlab.figures.eft import main_score

    df = pd.DataFrame(_sweep_rows())
    b = main_score(df, ["translation", "instructions"])  # (chrF/100 + 0.5) / 2
    assert b.to_dict() == pytest.approx({0.0: 0.75, 0.5: 0.5, 1.0: 0.25})
    assert main_score(df, ["math"]).to_dict() == pytest.approx({0.0: 0.0, 0.5: 0.5, 1.0: 1.0})


def test_figures_have_one_panel_per_task():
    import pandas as pd

    from sahlab.figures.eft import plot_grid, plot_sweep, tradeoff_panel
    from sahlab.figures.theme import apply_theme

    apply_theme()
    df = pd.DataFrame(_sweep_rows())
    fig = plot_sweep(df, "lam", "λ", extra=tradeoff_panel(df, ["math"], ["translation", "instructions"]))
    assert [ax.get_title() for ax in fig.axes] == [
        "instructions",
        "math",
        "translation",
        "test-time trade-off",
    ]
    chrf_line = fig.axes[2].lines[0]
    assert max(chrf_line.get_ydata()) == pytest.approx(1.0)  # chrF drawn as a fraction
    a = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    records = _records(
        {
            ("small", "small"): a,
            ("large", "small"): a[:8] + [1, 0],
            ("small", "large"): [1] * 8 + [0, 0],
            ("large", "large"): [1] * 9 + [0],
        }
    )
    cells, gains = grid_tables(_rows_of(records), records, n_boot=200, seed=0)
    grid = plot_grid(cells, gains)
    title = grid.axes[0].get_title()
    assert "Δft +0.4 [+0.1" in title and "Δpt +0.1 [+0, +0.3]?" in title  # "?": inconclusive
    panel = grid.axes[-1]
    assert panel.get_title() == "scaling gains, main metrics"
    assert [t.get_text() for t in panel.get_yticklabels()] == ["math: accuracy"]


def test_native_stops_never_cut_a_chat_answer_of_the_embedded_tasks():
    """EFT stops at the union of its members' stop strings (`EFTPolicy.stop_strings`): safe only if
    no answer in the fine-tune's chat format contains its task's native item boundary."""
    from sahlab.world.build import build_world, make_task, validate_world_config
    from sahlab.world.layouts import EMBEDDED

    cfg = validate_world_config(
        {
            "entities": {
                "n_countries": 2,
                "n_cities": 3,
                "n_companies": 4,
                "n_universities": 2,
                "n_corpus_people": 6,
                "n_new_people": 2,
            },
            "tasks": {"multihop": {"train": 8, "test": 8}},
            "newknowledge": {"test": 8},
        }
    )
    world = build_world(cfg, 5)
    for task in ("math", "translation", "instructions", "multihop"):
        rows = [r for split in make_task(world, task, cfg, 5).values() for r in split]
        assert rows
        stops = EMBEDDED[task].stop
        assert not [r["reference"] for r in rows if any(s in r["reference"] for s in stops)], task


def test_verdict_names_each_reading_of_an_interval():
    from sahlab.eft.paired import verdict

    assert verdict({"ci_low": 0.1, "ci_high": 0.3}) == "> 0"
    assert verdict({"ci_low": -0.3, "ci_high": -0.1}) == "< 0"
    assert verdict({"ci_low": -0.1, "ci_high": 0.1}) == "inconclusive"
    assert verdict({"ci_low": 0.0, "ci_high": 0.2}) == "inconclusive"  # touches 0: both readings
    assert verdict({"ci_low": 0.0, "ci_high": 0.0}) == "= 0"  # the cells agree item for item
    assert verdict({"ci_low": None, "ci_high": None}) == "n/a"
