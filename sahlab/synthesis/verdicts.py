"""The papers' headline claims (report/claims.yaml) turned into verdicts by rule, never by hand.

A claim names a column of the synthesis table, the side of a null value the paper puts the
effect on, and (where the paper gives one) the paper's own effect size. Per row of the table:

- supported:     the (1 − α) CI lies wholly on the claimed side of the null (and, where the
                 study gives an exact p-value, p < α);
- not supported: the CI lies wholly on the other side of the null (or ends at it), or it
                 includes the null but excludes the paper's effect size (the data rule the
                 paper's effect out);
- inconclusive:  the CI includes both the null and the paper's effect (both readings allowed),
                 reported with the power to detect the paper's effect and the smallest effect
                 detectable at 80 % power, 2.8 × SE at α = 0.05 (SE from the CI half-width);
- n/a:           no estimate or no CI in this run.

The tables' CIs are 95 % percentile bootstrap intervals; for another α the interval is
rescaled on each side by z(1 − α/2) / z(0.975) (a normal approximation, said in the table).
Ratios (study B's reduction factor) are judged on a log10 scale, where a CI is closer to
symmetric and the null is 0.
"""

from __future__ import annotations

import math
from pathlib import Path
from statistics import NormalDist

from sahlab.mdtable import pipe_table

TABLE_ALPHA = 0.05  # every study's tables carry 95 % intervals
_Z = NormalDist().inv_cdf


def _log10(v: float) -> float:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return float("nan")
    return -math.inf if v <= 0 else math.log10(v)


def judge(
    estimate,
    ci_low,
    ci_high,
    *,
    direction: str,
    null: float = 0.0,
    alpha: float = 0.05,
    paper: float | None = None,
    log: bool = False,
    p_value: float | None = None,
    table_alpha: float = TABLE_ALPHA,
) -> dict:
    """The verdict of one estimate with its (1 − table_alpha) CI; see the module docstring."""
    if direction not in (">", "<"):
        raise ValueError(f"claim direction must be '>' or '<', got {direction!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    vals = [estimate, ci_low, ci_high]
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in vals):
        return {
            "verdict": "n/a",
            "reason": "no estimate or no CI in this run",
            "ci_low": None,
            "ci_high": None,
            "mde_80": None,
            "power_paper": None,
        }
    f = _log10 if log else float
    est, lo, hi, nul = f(estimate), f(ci_low), f(ci_high), f(null)
    ref = f(paper) if paper is not None else None
    # rescale each side of the interval from table_alpha to alpha (normal approximation)
    k = _Z(1 - alpha / 2) / _Z(1 - table_alpha / 2)
    if k != 1 and all(map(math.isfinite, (est, lo, hi))):
        lo, hi = est - (est - lo) * k, est + (hi - est) * k
    sgn = 1.0 if direction == ">" else -1.0
    dlo, dhi = sorted((sgn * (lo - nul), sgn * (hi - nul)))
    se = (hi - lo) / (2 * _Z(1 - alpha / 2)) if all(map(math.isfinite, (lo, hi))) else math.inf
    mde = (_Z(1 - alpha / 2) + _Z(0.8)) * se
    power = None
    if ref is not None and math.isfinite(ref):
        eff = abs(ref - nul)
        power = (
            1.0
            if se == 0 and eff > 0
            else (0.0 if not math.isfinite(se) or se == 0 else NormalDist().cdf(eff / se - _Z(1 - alpha / 2)))
        )
    p_ok = p_value is None or (isinstance(p_value, float) and math.isnan(p_value)) or p_value < alpha
    if dlo > 0 and p_ok:
        v, why = "supported", f"CI excludes the null ({null:g}) on the claimed side"
    elif dlo > 0:
        v, why = "inconclusive", f"CI excludes the null but exact p = {p_value:.3g} ≥ α"
    elif dhi <= 0 and p_ok:
        v, why = (
            "not supported",
            ("CI lies on the other side of the null" if dhi < 0 else "CI reaches no further than the null"),
        )
    elif dhi <= 0:  # e.g. ρ over 3 pairs: a degenerate bootstrap CI, and no p can reach α
        v, why = "inconclusive", f"CI excludes the claimed side but exact p = {p_value:.3g} ≥ α"
    elif ref is not None and sgn * (ref - nul) > dhi:
        v, why = "not supported", f"CI includes the null and excludes the paper's effect ({paper:g})"
    else:
        v, why = (
            "inconclusive",
            "CI includes the null" + (" and the paper's effect" if ref is not None else ""),
        )
    back = (lambda x: 10**x) if log else (lambda x: x)
    return {
        "verdict": v,
        "reason": why,
        "ci_low": back(lo),
        "ci_high": back(hi),
        "mde_80": (back(mde) if log else mde) if math.isfinite(mde) else None,
        "power_paper": power,
    }


def load_claims(path) -> list[dict]:
    """report/claims.yaml -> list of claims, each checked for the keys a verdict needs."""
    import yaml

    claims = yaml.safe_load(Path(path).read_text())["claims"]
    need = ("id", "study", "claim", "source", "column", "direction")
    for i, c in enumerate(claims):
        missing = [k for k in need if k not in c]
        if missing:
            raise ValueError(f"{path}: claim #{i} ({c.get('id', '?')}) lacks {missing}")
    return claims


def verdict_rows(claims, synthesis, *, alpha: float) -> list[dict]:
    """One row per claim × (scale, task) of the synthesis table the claim covers."""
    rows = []
    for c in claims:
        col = c["column"]
        if col not in synthesis.columns:
            rows.append(
                {
                    "claim": c["id"],
                    "study": c["study"],
                    "statement": c["claim"],
                    "scope": "",
                    "estimate": None,
                    "verdict": "n/a",
                    "reason": f"this run's synthesis table has no column {col}",
                }
            )
            continue
        sub = synthesis[synthesis[col].notna()]
        if c.get("tasks"):
            sub = sub[sub.task.isin(c["tasks"])]
        if c.get("per") == "task":  # a quantity of the task, repeated on each scale's row
            sub = sub.drop_duplicates("task")
        if sub.empty:  # every claim gets a row: say that this run has no estimate for it
            scope = ", ".join(c.get("tasks") or []) or "any task"
            rows.append(
                {
                    "claim": c["id"],
                    "study": c["study"],
                    "statement": c["claim"],
                    "scope": scope,
                    "estimate": None,
                    "verdict": "n/a",
                    "reason": f"no estimate of {col} in this run ({scope})",
                }
            )
            continue
        for _, r in sub.iterrows():
            p = r.get(c["p_column"]) if c.get("p_column") else None
            res = judge(
                r[col],
                r.get(f"{col}_ci_low"),
                r.get(f"{col}_ci_high"),
                direction=c["direction"],
                null=c.get("null_value", 0.0),
                alpha=alpha,
                paper=c.get("paper_value"),
                log=c.get("log", False),
                p_value=None if p is None else float(p),
            )
            scope = r.task if c.get("per") == "task" else f"{r.scale} / {r.task}"
            rows.append(
                {
                    "claim": c["id"],
                    "study": c["study"],
                    "statement": c["claim"],
                    "scope": scope,
                    "estimate": r[col],
                    "paper_value": c.get("paper_value"),
                    "alpha": alpha,
                    **res,
                }
            )
    return rows


def _f(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    v = float(v)
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    return f"{v:.3g}"


def markdown(rows, claims, alpha: float) -> str:
    lines = [
        f"Verdicts at α = {alpha:g} (rule: sahlab/synthesis/verdicts.py; claims and their "
        "sources: report/claims.yaml). mde_80: the smallest effect this run detects with "
        "80 % power (2.8 × SE at α = 0.05); power: the power to detect the paper's effect.",
        "",
    ]
    for c in claims:
        lines.append(
            f"- **{c['id']}** ({c['study']}): {c['claim']} — source: {c['source']}"
            + (f"; paper's value: {c['paper_value']:g}" if c.get("paper_value") is not None else "")
        )
    cells = []
    for r in rows:
        est = _f(r.get("estimate"))
        ci = f" [{_f(r.get('ci_low'))}, {_f(r.get('ci_high'))}]" if r.get("ci_low") is not None else ""
        cells.append(
            [
                r["claim"],
                r["scope"],
                f"{est}{ci}",
                f"**{r['verdict']}**",
                r["reason"],
                _f(r.get("mde_80")),
                _f(r.get("power_paper")),
            ]
        )
    columns = ("claim", "scope", "estimate [CI]", "verdict", "why", "mde_80", "power (paper's effect)")
    return "\n".join(lines) + "\n\n" + pipe_table(columns, cells)
