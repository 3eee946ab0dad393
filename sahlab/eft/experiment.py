"""Study C orchestration: the 2×2 pre-training × fine-tuning grid, the β and λ sweeps and the
speculative up-scaling benchmark, each a function that loads its models once and returns long-form
rows (one per setting × task × metric) for the tables and figures.

Model roles (`dirs`): small_base, small_post, large_base, large_post (model folders). Each EFT
member is prefilled with the prompt in its own format (`read_model_meta(dir)["prompt_format"]`:
chat for post-trained models, native for base models); the shared continuation is read back in the
fine-tuned member's format, and stops where any running member's format ends an answer
(`EFTPolicy.stop_strings`).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Sequence

from sahlab.eft.config import CELLS, EMULATED

if TYPE_CHECKING:
    from sahlab.eft.policy import EFTPolicy
    from sahlab.eval.policy import ModelPolicy

log = logging.getLogger("sahlab.eft")

ROLES = ("small_base", "small_post", "large_base", "large_post")
# Emulated cell -> (base kept, fine-tune, its base): up-scaling grafts the small fine-tune's delta
# onto the large base, down-scaling the large fine-tune's delta onto the small base.
EMULATION = {
    "up": ("large_base", "small_post", "small_base"),
    "down": ("small_base", "large_post", "large_base"),
}


def metric_rows(metrics: dict, **keys: Any) -> list[dict]:
    """Flatten a harness metrics dict {metric: {value, ci_low, ci_high, n}} into rows tagged with `keys`."""
    return [
        {
            **keys,
            "metric": name,
            "value": m["value"],
            "ci_low": m["ci_low"],
            "ci_high": m["ci_high"],
            "n": m["n"],
        }
        for name, m in metrics.items()
    ]


def load_members(dirs: dict[str, str], roles: Sequence[str], dtype: Any = None) -> dict[str, "ModelPolicy"]:
    """Load each needed role's model once (a folder named under two roles is loaded once)."""
    from sahlab.eval.policy import ModelPolicy

    missing = [r for r in roles if r not in dirs]
    if missing:
        raise ValueError(f"model folders missing for role(s) {missing}; given: {sorted(dirs)}")
    by_path: dict[str, ModelPolicy] = {}
    out = {}
    for role in roles:
        path = str(dirs[role])
        if path not in by_path:
            by_path[path] = ModelPolicy.from_pretrained(path, dtype=dtype)
            by_path[path].model.eval()
        out[role] = by_path[path]
    return out


def model_format(model_dir: str) -> str:
    """A model's own prompt format (its sahlab.json): chat for post-trained, native for base models."""
    from sahlab.models.registry import read_model_meta

    return read_model_meta(model_dir)["prompt_format"]


def role_formats(dirs: dict[str, str], roles: Sequence[str]) -> dict[str, str]:
    """Role -> the prompt format of that role's model."""
    return {role: model_format(dirs[role]) for role in roles}


def emulated_policy(
    cell: str, members: dict[str, "ModelPolicy"], beta: float = 1.0, formats: dict[str, str] | None = None
) -> "EFTPolicy":
    """The EFT policy of an emulated grid cell ("up" or "down") at delta strength `beta`.

    formats: role -> prompt format (`role_formats`); each member is then prefilled with its own
    rendering of a prompt (`EFTPolicy.render_prompts`). None: one shared prompt."""
    from sahlab.eft.policy import EFTPolicy

    if cell not in EMULATION:
        raise ValueError(f"emulated cell must be one of {list(EMULATION)}, got {cell!r}")
    base, ft, ft_base = EMULATION[cell]
    pf = (
        None
        if formats is None
        else {"base_large": formats[base], "ft_small": formats[ft], "base_small": formats[ft_base]}
    )
    return EFTPolicy(members[base], members[ft], members[ft_base], beta=beta, prompt_formats=pf)


def evaluate_eft(
    policy: "EFTPolicy",
    tests: dict[str, list[dict]],
    max_new_tokens: dict[str, int],
    *,
    batch_size: int,
    n_boot: int,
    seed: int,
    temperature: float = 0.0,
) -> dict[str, tuple[list[dict], dict]]:
    """`sahlab.eval.run.evaluate_policy` for an EFT policy with per-member prompts: every member
    sees the prompt in its own format, the output is read back in the fine-tuned member's format and
    scored by the task's one scorer; each task has its own generation budget."""
    from sahlab.eval.generate import generate
    from sahlab.eval.scorers import score

    formats = policy.member_formats()
    out = {}
    for task, examples in tests.items():
        t0 = time.time()
        prompts = policy.render_prompts(examples, task)
        raw = generate(
            policy,
            prompts,
            max_new_tokens=max_new_tokens[task],
            batch_size=batch_size,
            stop_strings=policy.stop_strings(task),
            temperature=temperature,
            seed=seed,
        )
        records, metrics = score(task, policy.to_task_form(raw, task), examples, seed=seed, n_boot=n_boot)
        for rec, ex, text in zip(records, examples, raw):
            rec.update(
                id=ex["id"],
                prompt=ex["prompt"],
                output=text,
                reference=ex["reference"],
                prompt_format=policy.prompt_format,
                member_formats=formats,
            )
        out[task] = (records, metrics)
        log.info(
            "%s: %d examples in %.1f s; %s",
            task,
            len(examples),
            time.time() - t0,
            ", ".join(f"{k}={v['value']:.3f}" for k, v in metrics.items()),
        )
    return out


def run_grid_cell(
    cell: str,
    dirs: dict[str, str],
    tests: dict[str, list[dict]],
    max_new_tokens: dict[str, int],
    *,
    batch_size: int,
    n_boot: int,
    seed: int,
) -> tuple[list[dict], list[dict]]:
    """Evaluate one emulated cell of the grid (β = 1) on every task; returns (metric rows, records)."""
    if cell not in EMULATED:
        raise ValueError(f"only the emulated cells {list(EMULATED)} are decoded here, got {cell!r}")
    roles = EMULATION[cell]
    members = load_members(dirs, roles)
    policy = emulated_policy(cell, members, formats=role_formats(dirs, roles))
    log.info("grid cell %s: weights %s, prompt formats %s", cell, policy.weights(), policy.member_formats())
    results = evaluate_eft(policy, tests, max_new_tokens, batch_size=batch_size, n_boot=n_boot, seed=seed)
    pre, ft = CELLS[cell]
    rows, records = [], []
    for task, (recs, metrics) in results.items():
        rows += metric_rows(metrics, cell=cell, pretrain=pre, finetune=ft, emulated=True, task=task)
        records += [{"cell": cell, "task": task, **r} for r in recs]
    return rows, records


def rescore_outputs(
    task: str, outputs: list[dict], examples: list[dict], n: int, *, n_boot: int, seed: int
) -> tuple[list[dict], dict]:
    """(records, metrics) of the first `n` harness outputs of a model (the grid's diagonal cells):
    the same examples and scorer as the emulated cells, without decoding again."""
    from sahlab.eval.scorers import score

    if len(outputs) < n or len(examples) < n:
        raise ValueError(
            f"{task}: need {n} outputs and test examples, have {len(outputs)} and {len(examples)}"
        )
    for i, (rec, ex) in enumerate(zip(outputs[:n], examples[:n])):
        if rec.get("id") != ex["id"]:
            raise ValueError(
                f"{task}: harness output {i} is example {rec.get('id')!r}, test split has "
                f"{ex['id']!r}; re-run the evaluation"
            )
    records, metrics = score(task, [r["output"] for r in outputs[:n]], examples[:n], seed=seed, n_boot=n_boot)
    for rec, ex in zip(records, examples[:n]):
        rec.update(id=ex["id"], reference=ex["reference"])
    return records, metrics


def diagonal_rows(
    outputs: dict[str, dict[str, list[dict]]], tests: dict[str, list[dict]], n: int, *, n_boot: int, seed: int
) -> tuple[list[dict], dict[str, dict[str, list[dict]]]]:
    """(metric rows, cell -> task -> per-item records) of the real cells: outputs = {"small"|"large":
    {task: harness records}}; the first `n` items of each task (all of a smaller split)."""
    rows, records = [], {}
    for cell, per_task in outputs.items():
        if cell not in ("small", "large"):
            raise ValueError(f"diagonal cells are 'small' and 'large', got {cell!r}")
        pre, ft = CELLS[cell]
        for task, recs in per_task.items():
            records.setdefault(cell, {})[task], metrics = rescore_outputs(
                task, recs, tests[task], min(n, len(tests[task])), n_boot=n_boot, seed=seed
            )
            rows += metric_rows(metrics, cell=cell, pretrain=pre, finetune=ft, emulated=False, task=task)
    return rows, records


def run_beta_sweep(
    dirs: dict[str, str],
    betas: Sequence[float],
    tests: dict[str, list[dict]],
    max_new_tokens: dict[str, int],
    *,
    batch_size: int,
    n_boot: int,
    seed: int,
) -> list[dict]:
    """Up-scaling at each β (0 = the large base alone, 1 = plain EFT, > 1 extrapolates the delta)."""
    from tqdm.auto import tqdm

    members = load_members(dirs, EMULATION["up"])
    formats = role_formats(dirs, EMULATION["up"])
    rows = []
    for beta in tqdm(list(betas), desc="beta", unit="β"):
        policy = emulated_policy("up", members, beta=float(beta), formats=formats)
        res = evaluate_eft(policy, tests, max_new_tokens, batch_size=batch_size, n_boot=n_boot, seed=seed)
        for task, (_, metrics) in res.items():
            rows += metric_rows(metrics, beta=float(beta), task=task)
    return rows


def variant_dataset(train: dict[str, list[dict]], tasks: Sequence[str], n_per_task: int) -> list[dict]:
    """SFT rows of one mixture variant: the first `n_per_task` training examples of each of its tasks."""
    missing = [t for t in tasks if t not in train]
    if missing:
        raise ValueError(f"no training split given for task(s) {missing}")
    return [row | {"task": t} for t in tasks for row in train[t][:n_per_task]]


def run_lambda_sweep(
    dirs: dict[str, str],
    variant_dirs: Sequence[str],
    lambdas: Sequence[float],
    beta: float,
    tests: dict[str, list[dict]],
    max_new_tokens: dict[str, int],
    *,
    batch_size: int,
    n_boot: int,
    seed: int,
) -> list[dict]:
    """Large base + β·(λ·r_a + (1 − λ)·r_b): r_a, r_b the deltas of the two variants over the small base."""
    from tqdm.auto import tqdm

    from sahlab.eft.policy import EFTPolicy

    if len(variant_dirs) != 2:
        raise ValueError(f"the λ sweep mixes exactly two variants, got {len(variant_dirs)}")
    all_dirs = {**dirs, "ft_a": variant_dirs[0], "ft_b": variant_dirs[1]}
    roles = ("large_base", "small_base", "ft_a", "ft_b")
    members = load_members(all_dirs, roles)
    fmt = role_formats(all_dirs, roles)
    formats = {
        "base_large": fmt["large_base"],
        "base_small": fmt["small_base"],
        "ft_a": fmt["ft_a"],
        "ft_b": fmt["ft_b"],
    }
    rows = []
    for lam in tqdm(list(lambdas), desc="lambda", unit="λ"):
        policy = EFTPolicy.mixture(
            members["large_base"],
            members["ft_a"],
            members["ft_b"],
            members["small_base"],
            lam=float(lam),
            beta=beta,
            prompt_formats=formats,
        )
        res = evaluate_eft(policy, tests, max_new_tokens, batch_size=batch_size, n_boot=n_boot, seed=seed)
        for task, (_, metrics) in res.items():
            rows += metric_rows(metrics, lam=float(lam), task=task)
    return rows


def run_speculative(
    dirs: dict[str, str],
    prompts: dict[str, list[dict]],
    *,
    k: int,
    batch_sizes: Sequence[int],
    temperatures: Sequence[float],
    max_new_tokens: int,
    seed: int,
) -> list[dict]:
    """Speculative up-scaling (draft = small_post) vs plain EFT decoding of the same prompts.

    `prompts`: task -> test rows (each member gets them in its own format, as in the grid). One row
    per (batch size, temperature): acceptance rate, tokens per verification, the FLOP-weighted
    speed-up (`speculative.flop_weighted_speedup`: passes weighted by model size, the regime of
    large models), wall times of both paths (plain first, then speculative, same prompts) and the
    wall-clock speed-up, and for T = 0 whether the outputs are identical — a mismatch raises, since
    greedy speculative decoding must reproduce EFT exactly.
    """
    from sahlab.eft.speculative import flop_weighted_speedup, speculative_generate
    from sahlab.eval.generate import generate

    members = load_members(dirs, EMULATION["up"])
    policy = emulated_policy("up", members, formats=role_formats(dirs, EMULATION["up"]))
    rendered = [p for task, rows in prompts.items() for p in policy.render_prompts(rows, task)]
    # Warm-up (first-call allocations, lazy inits) so the first timed path is not penalised.
    speculative_generate(policy, rendered[:1], 2, k=k, batch_size=1, progress=False)
    rows = []
    for bs in batch_sizes:
        for temp in temperatures:
            t0 = time.perf_counter()
            plain = generate(
                policy,
                rendered,
                max_new_tokens=max_new_tokens,
                batch_size=bs,
                temperature=temp,
                seed=seed,
                progress=False,
            )
            t_plain = time.perf_counter() - t0
            t0 = time.perf_counter()
            spec = speculative_generate(
                policy,
                rendered,
                max_new_tokens,
                k=k,
                batch_size=bs,
                temperature=temp,
                seed=seed,
                progress=False,
            )
            t_spec = time.perf_counter() - t0
            same = sum(a == b for a, b in zip(plain, spec.outputs))
            st = spec.stats
            row = {
                "k": k,
                "batch_size": bs,
                "temperature": float(temp),
                "n_prompts": len(rendered),
                "new_tokens": st["new_tokens"],
                "acceptance_rate": st["acceptance_rate"],
                "tokens_per_verification": st["tokens_per_verification"],
                "flop_weighted_speedup": round(flop_weighted_speedup(policy, st), 3),
                "plain_s": round(t_plain, 4),
                "speculative_s": round(t_spec, 4),
                "speedup": round(t_plain / t_spec, 3) if t_spec > 0 else float("nan"),
                "identical_outputs": same,
                "identical": same == len(rendered),
            }
            log.info("speculative %s", row)
            if temp == 0 and same != len(rendered):
                bad = next(i for i, (a, b) in enumerate(zip(plain, spec.outputs)) if a != b)
                raise AssertionError(
                    f"greedy speculative decoding differs from plain EFT on {len(rendered) - same} "
                    f"of {len(rendered)} prompts (batch {bs}); first: prompt {bad}: "
                    f"{plain[bad]!r} vs {spec.outputs[bad]!r}"
                )
            rows.append(row)
    return rows


def grid_tables(
    rows: list[dict], records: dict[str, dict[str, list[dict]]], *, n_boot: int, seed: int
) -> tuple["Any", "Any"]:
    """(cells, gains) DataFrames from grid rows and the cells' per-item records.

    cells: one row per task × metric × cell. gains: per task × metric, the effect of scaling
    fine-tuning (Δft: large − small fine-tuning, averaged over both pre-training scales), of scaling
    pre-training (Δpt, averaged over both fine-tuning scales) and Δpt − Δft, each with a paired
    bootstrap CI over the items and a verdict ("> 0", "< 0", "inconclusive"; `sahlab.eft.paired`).
    """
    import pandas as pd

    from sahlab.eft.paired import gains_table

    df = pd.DataFrame(rows)
    need = {"task", "metric", "pretrain", "finetune", "value"}
    if not need <= set(df.columns):
        raise ValueError(f"grid rows need fields {sorted(need)}, got {sorted(df.columns)}")
    order = {c: i for i, c in enumerate(CELLS)}
    df = df.sort_values(["task", "metric", "cell"], key=lambda s: s.map(order) if s.name == "cell" else s)
    gains = gains_table(df.to_dict("records"), records, n_boot=n_boot, seed=seed)
    return df.reset_index(drop=True), pd.DataFrame(gains)


def records_by_cell(records: list[dict]) -> dict[str, dict[str, list[dict]]]:
    """Per-item records of the emulated cells' records.jsonl files (each tagged cell, task), grouped."""
    out: dict[str, dict[str, list[dict]]] = {}
    for r in records:
        out.setdefault(r["cell"], {}).setdefault(r["task"], []).append(r)
    return out


def gains_markdown(gains) -> str:
    """The gains table for reading: each contrast as "value [low, high]" and its verdict."""
    import pandas as pd

    def cell(g, name):
        value = g[name if name == "pt_minus_ft" else f"{name}_gain"]
        low, high = g[f"{name}_ci_low"], g[f"{name}_ci_high"]
        ci = "" if pd.isna(low) or pd.isna(high) else f" [{low:+.3f}, {high:+.3f}]"
        return f"{value:+.3f}{ci} {g[f'{name}_verdict']}"

    out = pd.DataFrame(
        [
            {
                "task": g["task"],
                "metric": g["metric"],
                "Δft (scale fine-tuning)": cell(g, "ft"),
                "Δpt (scale pre-training)": cell(g, "pt"),
                "Δpt − Δft": cell(g, "pt_minus_ft"),
                "n": g["n"],
            }
            for _, g in gains.iterrows()
        ]
    )
    return markdown(out)


def markdown(df, floatfmt: str = ".3f") -> str:
    """A pipe table of a DataFrame, floats as `floatfmt`."""
    from sahlab.mdtable import pipe_table

    def fmt(x):
        if isinstance(x, float):
            return format(x, floatfmt)
        return str(x)

    return pipe_table(list(df.columns), [[fmt(x) for x in row] for row in df.itertuples(index=False)])
