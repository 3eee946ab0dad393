"""Study D figures: the spurious-only and target-only errors vs evidence rate per (target,
spurious) pair, and per-pair use vs relative extractability with the pair-level Spearman ρ,
exact p and bootstrap CI in each panel."""

from __future__ import annotations

import math

METHOD_LABELS = {"grpo": "RL (GRPO)", "rloo": "RL (RLOO)", "sft": "SFT"}
ERRORS = {
    "s_only_error": "s-only error (says 1 on spurious-only rows)",
    "t_only_error": "t-only error (says 0 on target-only rows)",
}


EVIDENCE_KINDS = {
    "spurious_only": "spurious-only",
    "target_only": "target-only",
    "mixed": "half spurious-only, half target-only",
}


def evidence_note(use) -> str:
    """The evidence grid behind a figure, from the per-rate use table: its rates and (when the
    table records it) the kind of the evidence rows."""
    rates = ", ".join(f"{r:g}" for r in sorted(set(use.rate)))
    kinds = sorted(set(use.evidence)) if "evidence" in use else []
    kind = f"; evidence rows: {', '.join(EVIDENCE_KINDS.get(k, k) for k in kinds)}" if kinds else ""
    return f"evidence rates {rates}{kind}"


def _add_note(fig, note: str | None) -> None:
    if note:
        fig.text(0.01, 0.002, note, fontsize="x-small", va="bottom", ha="left", color="0.3")
        fig.tight_layout(rect=(0, 0.03, 1, 1))


def _panel_order(methods) -> list[str]:
    return sorted(set(methods), key=lambda m: (m == "sft", m))  # RL first, SFT last


def _colors(pairs):
    import matplotlib.pyplot as plt

    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    cycle = cycle + ["#444444", "#bbbb00", "#00bbbb", "#bb00bb"]
    return dict(zip(pairs, cycle * 3))


def plot_use_vs_rate(df, linthresh: float = 1e-3, note: str | None = None):
    """df: the per-rate use table (model, pair, method, seed, rate, s_only_error, t_only_error,
    converged). One row of panels per (model, error kind), one column per method; lines: mean
    over seeds per pair; an open marker where fewer than all seeds' runs converged. `note`: a
    line printed under the panels (e.g. `evidence_note`)."""
    import matplotlib.pyplot as plt
    import numpy as np

    models = list(dict.fromkeys(df.model))
    methods = _panel_order(df.method)
    pairs = list(dict.fromkeys(df.pair))
    colors = _colors(pairs)
    rows = [(m, e) for m in models for e in ERRORS]
    fig, axes = plt.subplots(
        len(rows),
        len(methods),
        figsize=(3.6 * len(methods) + 2.6, 2.7 * len(rows)),
        squeeze=False,
        sharey=True,
    )
    for i, (model, err) in enumerate(rows):
        for j, method in enumerate(methods):
            ax = axes[i, j]
            for pair in pairs:
                sub = df[(df.model == model) & (df.method == method) & (df.pair == pair)]
                if sub.empty:
                    continue
                g = sub.groupby("rate")
                rates = np.array(sorted(sub.rate.unique()))
                mean = g[err].mean().reindex(rates)
                conv = (
                    g["converged"].mean().reindex(rates).to_numpy()
                    if "converged" in sub
                    else np.ones(len(rates))
                )
                ax.plot(rates, mean, color=colors[pair], lw=1.2, label=pair)
                full = conv >= 1
                ax.scatter(rates[full], mean[full], s=14, color=colors[pair])
                ax.scatter(rates[~full], mean[~full], s=14, facecolors="none", edgecolors=colors[pair])
            ax.set_xscale("symlog", linthresh=linthresh)
            ax.set_xlim(left=0)
            ax.set_ylim(-0.03, 1.03)
            ax.set_title(f"{model}: {METHOD_LABELS.get(method, method)}", fontsize="medium")
            ax.set_xlabel("evidence rate" if i == len(rows) - 1 else "")
            ax.set_ylabel(ERRORS[err].split(" (")[0] if j == 0 else "")
    axes[0, -1].legend(
        title="target-vs-spurious pair",
        frameon=False,
        loc="upper left",
        bbox_to_anchor=(1, 1),
        fontsize="x-small",
        title_fontsize="small",
    )
    fig.tight_layout()
    _add_note(fig, note)
    return fig


def plot_extractability_scatter(pairs, corr, subset: str = "all", note: str | None = None):
    """pairs: the per-pair table (model, method, probe, subset, pair, x, s_only_error,
    t_only_error, n_converged, n_runs); corr: the pair-level correlation table. One row of
    panels per (model, probe, method), one column per error kind; one point per pair (filled:
    every run of the pair converged; open: not), and ρ, exact p, bootstrap CI and n pairs of
    `subset` in each panel; `note` printed under the panels (e.g. `evidence_note`)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    pts = pairs[pairs.subset == subset]
    keys = [
        (m, pr, me) for m, pr in dict.fromkeys(zip(pts.model, pts.probe)) for me in _panel_order(pts.method)
    ]
    names = list(dict.fromkeys(pts.pair))
    colors = _colors(names)
    fig, axes = plt.subplots(
        len(keys), len(ERRORS), figsize=(3.6 * len(ERRORS) + 2.6, 2.9 * len(keys)), squeeze=False, sharey=True
    )
    for i, (model, probe, method) in enumerate(keys):
        for j, err in enumerate(ERRORS):
            ax = axes[i, j]
            sub = pts[(pts.model == model) & (pts.probe == probe) & (pts.method == method)]
            for pair in names:
                s = sub[sub.pair == pair]
                if s.empty:
                    continue
                full = bool((s.n_converged == s.n_runs).all())
                ax.scatter(
                    s.x,
                    s[err],
                    s=26,
                    label=pair,
                    color=colors[pair] if full else "none",
                    edgecolors=colors[pair],
                )
            c = corr[
                (corr.model == model)
                & (corr.probe == probe)
                & (corr.method == method)
                & (corr.subset == subset)
                & (corr.measure == err)
            ]
            if len(c):
                c = c.iloc[0]
                text = (
                    f"ρ = {c.rho:.2f}, exact p = {c.p_exact:.2g}\n"
                    f"95% CI [{c.ci_low:.2f}, {c.ci_high:.2f}], n = {int(c.n_pairs)} pairs\n"
                    f"converged runs {c.converged_runs}"
                    if math.isfinite(c.rho)
                    else f"ρ undefined\n{c.note}"[:60]
                )
                ax.text(0.03, 0.97, text, transform=ax.transAxes, va="top", fontsize="x-small")
            ax.set_xscale("log")
            if len(sub):
                lo, hi = sub.x.min() / 1.15, sub.x.max() * 1.15
                ax.set_xlim(lo, hi)
                ticks = [t for t in (0.25, 0.5, 0.7, 1, 1.5, 2, 3, 5, 10) if lo <= t <= hi]
                ax.set_xticks(ticks)
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.set_ylim(-0.03, 1.18)
            ax.set_title(
                f"{model} ({probe} probe), {METHOD_LABELS.get(method, method)}:\n"
                f"{ERRORS[err].split(' (')[0]}",
                fontsize="medium",
            )
            ax.set_xlabel("relative extractability MDL(s)/MDL(t)" if i == len(keys) - 1 else "")
            ax.set_ylabel("error (mean over rates and seeds)" if j == 0 else "")
    axes[0, -1].legend(
        title="target-vs-spurious pair",
        frameon=False,
        loc="upper left",
        bbox_to_anchor=(1, 1),
        fontsize="x-small",
        title_fontsize="small",
    )
    fig.tight_layout()
    _add_note(fig, note)
    return fig
