"""Seed derivation: every generator gets its own ``random.Random`` from (seed, purpose), so adding
or resizing one part of the world never changes the random draws of another part."""

from __future__ import annotations

import hashlib
import random


def derive_seed(seed: int, *purpose: object) -> int:
    """A 64-bit seed from `seed` and a purpose path, stable across Python runs (no ``hash()``)."""
    text = "|".join([str(int(seed))] + [str(p) for p in purpose])
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def rng_for(seed: int, *purpose: object) -> random.Random:
    """A private random generator for one purpose, e.g. ``rng_for(seed, "corpus", "math")``."""
    return random.Random(derive_seed(seed, *purpose))


def bucket(seed: int, kind: str, key: str) -> float:
    """A stable pseudo-random number in [0, 1) for an item key.

    Items (problems, sentences, prompts) are partitioned by this number into disjoint pools —
    task test, task train, corpus — so the corpus generator can exclude task items without
    generating the tasks first (see ``pools``).
    """
    h = hashlib.blake2b(f"{int(seed)}|{kind}|{key}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") / 2.0**64


# Disjoint pools of the item space: a task's test items, its train items, and the corpus.
POOLS = {"test": (0.0, 0.1), "train": (0.1, 0.4), "corpus": (0.4, 1.0)}


def in_pool(seed: int, kind: str, key: str, pool: str) -> bool:
    """Whether the item `key` of `kind` belongs to `pool` ("test", "train" or "corpus")."""
    lo, hi = POOLS[pool]
    return lo <= bucket(seed, kind, key) < hi
