"""Pareto frontier of programs in (bits, performance) and task complexity at a target δ.

A point is one program: {"strategy", "setting", "bits", "performance"} (extra keys are kept).
Task complexity at δ = the fewest bits of any program reaching performance >= δ (inf if none);
the frontier is the step curve "best performance attainable within a bit budget".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

POINT_KEYS = ("strategy", "setting", "bits", "performance")


def _points(points: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for i, p in enumerate(points):
        missing = [k for k in POINT_KEYS if k not in p]
        if missing:
            raise ValueError(f"frontier: point {i} lacks {missing}; each needs {list(POINT_KEYS)}")
        bits, perf = float(p["bits"]), float(p["performance"])
        if math.isnan(bits) or bits < 0:
            raise ValueError(
                f"frontier: point {i} ({p['strategy']}/{p['setting']}) has bits={bits}; "
                f"bits must be >= 0 (inf allowed)"
            )
        if not math.isfinite(perf):
            raise ValueError(
                f"frontier: point {i} ({p['strategy']}/{p['setting']}) has performance={perf}; must be finite"
            )
        out.append({**p, "bits": bits, "performance": perf})
    return out


def pareto_frontier(points: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Programs not dominated by another (fewer or equal bits and higher performance).

    Sorted by bits ascending; performance strictly increases along the list. Among exact ties
    the first point in (strategy, setting) order is kept, so the result is deterministic.
    """
    pts = sorted(
        _points(points), key=lambda p: (p["bits"], -p["performance"], str(p["strategy"]), str(p["setting"]))
    )
    front, best = [], -math.inf
    for p in pts:
        if p["performance"] > best:
            front.append(p)
            best = p["performance"]
    return front


def step_curve(points: Iterable[Mapping[str, Any]]) -> tuple[list[float], list[float]]:
    """(bits, performance) of the frontier's corners, for a `drawstyle="steps-post"` plot:
    performance[i] is the best attainable with a budget in [bits[i], bits[i+1])."""
    front = pareto_frontier(points)
    return [p["bits"] for p in front], [p["performance"] for p in front]


def best_program_at(points: Iterable[Mapping[str, Any]], delta: float) -> dict[str, Any] | None:
    """The shortest program with performance >= delta (None if no program reaches it)."""
    for p in pareto_frontier(points):
        if p["performance"] >= delta:
            return p
    return None


def complexity_at(points: Iterable[Mapping[str, Any]], delta: float) -> float:
    """Task complexity at target delta: min bits over programs with performance >= delta, or inf."""
    best = best_program_at(points, delta)
    return math.inf if best is None else best["bits"]


def complexity_table(points: Iterable[Mapping[str, Any]], deltas: Sequence[float]) -> list[dict[str, Any]]:
    """One row per delta: {delta, bits, strategy, setting, performance} of the shortest program
    reaching it (strategy/setting/performance None and bits inf when unreachable)."""
    pts = _points(points)
    rows = []
    for d in deltas:
        p = best_program_at(pts, d)
        rows.append(
            {
                "delta": d,
                "bits": math.inf if p is None else p["bits"],
                "strategy": None if p is None else p["strategy"],
                "setting": None if p is None else p["setting"],
                "performance": None if p is None else p["performance"],
            }
        )
    return rows


def reduction_factor(
    points_from: Iterable[Mapping[str, Any]], points_to: Iterable[Mapping[str, Any]], delta: float
) -> float:
    """complexity_at(points_from, δ) / complexity_at(points_to, δ), e.g. pre-trained over
    post-trained (the paper's ≈1000× collapse).

    inf when only `points_from` cannot reach δ (or `points_to` needs 0 bits), 0 when only
    `points_to` cannot, nan when neither can (the ratio is undefined), 1 when both need 0 bits.
    """
    return bits_ratio(complexity_at(points_from, delta), complexity_at(points_to, delta))


def bits_ratio(a: float, b: float) -> float:
    """a / b for complexities that may be inf (unreachable): inf when only a is, 0 when only b
    is, nan when both are, 1 when both are 0 bits."""
    if math.isinf(a) and math.isinf(b):
        return math.nan
    if math.isinf(b):
        return 0.0
    if b == 0:
        return 1.0 if a == 0 else math.inf
    return a / b


def programs_to_check(points: Iterable[Mapping[str, Any]]) -> set[tuple[str, str]]:
    """(strategy, setting) of the programs chosen on the selection split for the evaluation
    split: every program of the Pareto frontier (the shortest one reaching any δ is among
    them) and each strategy's best (highest performance, fewest bits among ties). A strategy
    whose every program scores 0 has no best beyond the frontier's."""
    pts = _points(points)
    chosen = {(p["strategy"], p["setting"]) for p in pareto_frontier(pts)}
    for s in {p["strategy"] for p in pts}:
        best = min(
            (p for p in pts if p["strategy"] == s),
            key=lambda p: (-p["performance"], p["bits"], str(p["setting"])),
        )
        if best["performance"] > 0:
            chosen.add((best["strategy"], best["setting"]))
    return chosen
