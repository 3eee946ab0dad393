"""Online (prequential) code length of training data: the "data as program" strategy.

The receiver holds the conditioning model. Block 0 = train[:N_0] is sent with that model as is;
each later block train[N_{k-1}:N_k] is sent with a model trained (from the conditioning model)
on everything sent so far, train[:N_{k-1}]. The bits spent on train[:N_k] are the cumulative
sum up to block k, so one pass prices every prefix on the grid at once.

Model-agnostic: the caller supplies `train_on(examples) -> state` (which starts from the
conditioning model each time) and `code_length(state, examples) -> bits`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

S = TypeVar("S")


def power_of_two_grid(n_max: int, start: int = 1) -> list[int]:
    """Prefix sizes start, 2·start, 4·start, … up to n_max (n_max itself only if on the grid)."""
    if start < 1 or n_max < start:
        raise ValueError(f"power_of_two_grid: need 1 <= start <= n_max, got start={start}, n_max={n_max}")
    grid, n = [], start
    while n <= n_max:
        grid.append(n)
        n *= 2
    return grid


def prequential_code_length(
    examples: Sequence[Any],
    ends: Sequence[int],
    train_on: Callable[[Sequence[Any]], S],
    code_length: Callable[[S, Sequence[Any]], float],
    initial_state: S,
) -> dict[str, Any]:
    """Total bits to transmit examples[:ends[-1]] block by block.

    ends: strictly increasing prefix sizes (e.g. power_of_two_grid); block k is
    examples[ends[k-1]:ends[k]] (block 0 starts at 0) and costs
    code_length(train_on(examples[:ends[k-1]]), block) — or code_length(initial_state, block)
    for block 0 (no training).
    Returns dict(total_bits, blocks=[{start, end, n, bits}], cumulative=[{N, bits}]).
    """
    from tqdm import tqdm

    ends = [int(e) for e in ends]
    if not ends:
        raise ValueError("prequential_code_length: ends is empty")
    if ends[0] < 1 or any(b <= a for a, b in zip(ends, ends[1:])):
        raise ValueError(f"prequential_code_length: ends must be strictly increasing and >= 1, got {ends}")
    if ends[-1] > len(examples):
        raise ValueError(
            f"prequential_code_length: last prefix {ends[-1]} exceeds the {len(examples)} examples available"
        )
    blocks, cumulative, total, start = [], [], 0.0, 0
    for k, end in enumerate(tqdm(ends, desc="prequential blocks")):
        state = initial_state if k == 0 else train_on(examples[:start])
        bits = float(code_length(state, examples[start:end]))
        if math.isnan(bits) or bits < 0:
            raise ValueError(
                f"prequential_code_length: code_length returned {bits} for block "
                f"{k} (examples {start}:{end}); must be >= 0 bits"
            )
        total += bits
        blocks.append({"start": start, "end": end, "n": end - start, "bits": bits})
        cumulative.append({"N": end, "bits": total})
        start = end
    return {"total_bits": total, "blocks": blocks, "cumulative": cumulative}
