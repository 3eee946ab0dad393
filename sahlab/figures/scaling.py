"""Study A figures: performance vs N with both fits, format vs content errors vs N, and
new-knowledge bars. N = 0 (prompt only) sits at a separate position left of a log axis."""

from __future__ import annotations

import numpy as np

PERFORMANCE_LABEL = {
    "math": "accuracy",
    "translation": "sentence chrF / 100",
    "instructions": "prompt-level strict acc.",
    "multihop": "exact match",
    "coding": "pass@1",
}
ZERO_GAP = 4.0  # N = 0 is drawn at (smallest N > 0) / ZERO_GAP, behind an axis break


def _zero_x(ns) -> float:
    pos = [n for n in ns if n > 0]
    return (min(pos) if pos else 1.0) / ZERO_GAP


def _x(ns, zero_x: float) -> np.ndarray:
    ns = np.asarray(ns, dtype=float)
    return np.where(ns == 0, zero_x, ns)


def _footnote(fig, text: str) -> None:
    """A note under the panels, wrapped to the figure's width (a long line would widen it)."""
    import textwrap

    width = max(40, int(fig.get_figwidth() * 16))
    fig.text(0.01, -0.02, textwrap.fill(text, width), fontsize="x-small", va="top")


def _log_axis(ax, ns, zero_x: float) -> None:
    """Log x axis with N = 0 labelled '0' at zero_x and a break mark between it and the grid."""
    ticks = [zero_x] + sorted(n for n in set(ns) if n > 0)
    ax.set_xscale("log")
    ax.set_xticks(ticks, ["0"] + [f"{int(n)}" for n in ticks[1:]])
    ax.minorticks_off()
    brk = np.sqrt(zero_x * ticks[1]) if len(ticks) > 1 else zero_x * 2
    ax.axvline(brk, color="0.6", lw=0.8, ls=(0, (2, 2)))
    ax.set_xlim(zero_x / 1.6, max(ticks) * 1.6)


def plot_curves(fits: dict, refs: dict | None = None, bounds: dict | None = None):
    """fits: analysis.fit_all output. refs: {"<model>/<task>": performance of the model's own
    harness evaluation (its native prompt format)}, drawn as a hollow diamond at N = 0.
    bounds: {task: {N: "floor" | "cap"}} where the task's training schedule's step floor or cap
    changes its configured number of epochs; those N get a shaded column and a note.
    One panel per task, one colour per model: points = mean performance per N with bootstrap
    95 % CIs (band); solid line = the paper's log-log line P = C N^alpha over the N it was
    fitted on (legend: alpha with CI, R²); dashed = 1 - (a N^-b + c) over every N >= 1."""
    import matplotlib.pyplot as plt

    refs, bounds = refs or {}, bounds or {}
    tasks = list(dict.fromkeys(f["task"] for f in fits.values()))
    models = list(dict.fromkeys(f["model"] for f in fits.values()))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.3 * len(tasks), 3.4), squeeze=False)
    for j, task in enumerate(tasks):
        ax = axes[0, j]
        ns_all = [p["N"] for f in fits.values() if f["task"] == task for p in f["bootstrap"]["per_N"]]
        zx = _zero_x(ns_all)
        for n, kind in bounds.get(task, {}).items():
            if n in ns_all and n > 0:
                ax.axvspan(n / 1.3, n * 1.3, color="0.85", lw=0, zorder=0)
                ax.text(n, 0.98, kind, ha="center", va="top", fontsize="xx-small", color="0.4")
        for k, model in enumerate(models):
            f = fits.get(f"{model}/{task}")
            if f is None:
                continue
            col, boot = colors[k % len(colors)], f["bootstrap"]
            per = boot["per_N"]
            ns = np.array([p["N"] for p in per], dtype=float)
            perf = 1 - np.array([p["error"] for p in per])
            lo = 1 - np.array([p["ci_high"] if p["ci_high"] is not None else p["error"] for p in per])
            hi = 1 - np.array([p["ci_low"] if p["ci_low"] is not None else p["error"] for p in per])
            pos = ns > 0
            ax.fill_between(ns[pos], lo[pos], hi[pos], color=col, alpha=0.18, lw=0)
            ax.errorbar(
                _x(ns, zx), perf, yerr=[perf - lo, hi - perf], fmt="o", ms=3.5, color=col, capsize=2, lw=1
            )
            a, b, c = (boot[p]["value"] for p in "abc")
            grid = np.geomspace(ns[pos].min(), ns[pos].max(), 100)
            # clipped to the axis: a fitted a > 1 would draw below 0 at the smallest N
            ax.plot(grid, np.clip(1 - (a * grid ** (-b) + c), 0, 1), color=col, lw=1.0, ls="--")
            ll = boot["loglog"]
            if "alpha" in ll:
                al = ll["alpha"]
                g2 = np.geomspace(min(ll["N"]), max(ll["N"]), 50)
                ax.plot(
                    g2,
                    ll["C"]["value"] * g2 ** al["value"],
                    color=col,
                    lw=1.8,
                    label=f"{model}: α={al['value']:.2f} [{al['ci_low']:.2f}, "
                    f"{al['ci_high']:.2f}], R²={ll['r2']:.2f}",
                )
            else:
                ax.plot([], [], color=col, lw=1.8, label=f"{model}: no log-log fit")
            ref = refs.get(f"{model}/{task}")
            if ref is not None:
                ax.plot([zx * 1.25], [ref], marker="D", mfc="none", color=col, ms=5, ls="none")
        _log_axis(ax, ns_all, zx)
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(task, fontsize="medium")
        ax.set_xlabel("fine-tuning examples N")
        ax.set_ylabel(
            f"performance ({PERFORMANCE_LABEL.get(task, 'score')})"
            if j == 0
            else PERFORMANCE_LABEL.get(task, "score")
        )
        ax.legend(fontsize="xx-small", frameon=False, loc="upper left")
    note = (
        "solid: performance = C·N^α (log-log line on the non-saturated N); dashed: "
        "1 − (a·N^−b + c); bands: 95 % CIs over seeds and test examples"
    )
    if refs:
        note += (
            "; ◇ = the model's own harness evaluation (native prompt format); ● at 0 = "
            "same chat prompt as the fine-tuned models"
        )
    if any(bounds.values()):
        note += "; grey columns: N whose step count the schedule's floor/cap changes"
    _footnote(fig, note)
    fig.tight_layout()
    return fig


def plot_errors(rows: list[dict], vanish: dict | None = None):
    """rows: analysis.error_split output. One panel per task: the format-error share (dashed)
    and the content-error share (solid; the two add up to 1 - performance) vs N, one colour per
    model, mean over seeds with the seed range as a band. vanish: {"<model>/<task>": N where
    format errors vanish (analysis.format_vanish_n)}, marked with a triangle on the axis."""
    import matplotlib.pyplot as plt
    import pandas as pd

    vanish = vanish or {}
    df = pd.DataFrame(rows)
    tasks = list(dict.fromkeys(df.task))
    models = list(dict.fromkeys(df.model))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.4 * len(tasks), 3.2), squeeze=False)
    for j, task in enumerate(tasks):
        ax, sub = axes[0, j], df[df.task == task]
        zx = _zero_x(sub.N)
        for k, model in enumerate(models):
            g = sub[sub.model == model].groupby("N")
            if not len(g):
                continue
            col = colors[k % len(colors)]
            for kind, ls in (("error_format", "--"), ("error_content", "-")):
                stat = g[kind].agg(["mean", "min", "max"]).reset_index()
                x = _x(stat.N, zx)
                ax.fill_between(x, stat["min"], stat["max"], color=col, alpha=0.15, lw=0)
                ax.plot(
                    x, stat["mean"], ls=ls, marker="o", ms=3, color=col, label=f"{model} {kind.split('_')[1]}"
                )
            vn = vanish.get(f"{model}/{task}")
            if vn is not None:
                ax.plot([_x([vn], zx)[0]], [-0.01], marker="^", color=col, ms=6, ls="none", clip_on=False)
        _log_axis(ax, sub.N, zx)
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(task, fontsize="medium")
        ax.set_xlabel("fine-tuning examples N")
        ax.set_ylabel("share of test examples (error mass)" if j == 0 else "")
    axes[0, -1].legend(fontsize="x-small", frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
    _footnote(
        fig,
        "dashed: format errors, solid: content errors (sahlab/eval/errors.py; they "
        "add up to 1 − performance); ▲ = N from which format errors stay below "
        "scaling.format_threshold",
    )
    fig.tight_layout()
    return fig


def plot_newknowledge(rows: list[dict], diffs: list[dict] | None = None):
    """rows, diffs: `newknowledge_tables` output (accuracies, paired differences). Top row: direct
    and 2-hop exact match per model, hue = condition, 95 % CIs; bottom row (with `diffs`): the
    paired differences (new-people QA arm − old-people QA arm and biographies − none per model,
    and the arm effect post − base) with their CIs and a zero line."""
    import matplotlib.pyplot as plt
    import pandas as pd

    from sahlab.scaling.newknowledge import CONDITIONS

    df = pd.DataFrame(rows)
    kinds = [k for k in ("direct", "2hop") if (df.kind == k).any()]
    models = list(dict.fromkeys(df.model))
    conds = [c for c in CONDITIONS if (df.condition == c).any()]
    dd = pd.DataFrame(diffs or [])
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    n_rows = 2 if len(dd) else 1
    fig, axes = plt.subplots(n_rows, len(kinds), figsize=(4.0 * len(kinds), 3.2 * n_rows), squeeze=False)
    titles = {"direct": "direct questions", "2hop": "2-hop questions"}
    labels = {
        "qa_only": "QA (old people) only",
        "bios+qa": "bios + QA (old people)",
        "bios+newqa": "bios + QA (incl. new people)",
    }
    width = 0.8 / len(conds)
    top = max(0.2, float(np.nanmax(df[df.kind.isin(kinds)].ci_high.astype(float), initial=0)) * 1.15)
    for j, kind in enumerate(kinds):
        ax = axes[0, j]
        for k, cond in enumerate(conds):
            sub = df[(df.kind == kind) & (df.condition == cond)].set_index("model").reindex(models)
            x = np.arange(len(models)) + (k - (len(conds) - 1) / 2) * width
            err = np.vstack([sub.value - sub.ci_low, sub.ci_high - sub.value]).astype(float)
            ax.bar(
                x,
                sub.value,
                width,
                yerr=np.nan_to_num(err),
                capsize=2,
                color=colors[k % len(colors)],
                label=labels.get(cond, cond),
            )
            for xi, v in zip(x, sub.value):  # the value itself: zero bars are otherwise invisible
                ax.annotate(
                    f"{v:.2f}",
                    (xi, v),
                    xytext=(0, 2),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize="x-small",
                )
        n = int(df[df.kind == kind].n.max())
        ax.set_xticks(range(len(models)), models)
        ax.set_title(f"{titles[kind]} (n = {n})", fontsize="medium")
        ax.set_ylabel("exact match" if j == 0 else "")
        ax.set_ylim(0, top)
        if n_rows == 2:
            ax2 = axes[1, j]
            sub = dd[dd.kind == kind].reset_index(drop=True)
            names = [
                f"{r.contrast}\n{r.model}" if r.contrast != "post - base" else f"post − base\n{r.condition}"
                for r in sub.itertuples()
            ]
            y = np.arange(len(sub))[::-1]
            err = np.vstack([sub["diff"] - sub.ci_low, sub.ci_high - sub["diff"]]).astype(float)
            ax2.errorbar(sub["diff"], y, xerr=np.nan_to_num(err), fmt="o", color="k", capsize=2, markersize=4)
            ax2.axvline(0, color="0.6", lw=0.8, ls="--")
            ax2.set_yticks(y, names if j == 0 else [""] * len(names), fontsize="x-small")
            ax2.set_xlabel("paired difference (95 % CI)")
            ax2.set_title(f"{titles[kind]}: differences", fontsize="medium")
    axes[0, -1].legend(
        title="fine-tuned on", fontsize="x-small", frameon=False, loc="upper left", bbox_to_anchor=(1, 1)
    )
    fig.tight_layout()
    return fig
