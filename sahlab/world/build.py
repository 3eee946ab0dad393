"""Entry points the workflow scripts call: config defaults/validation, ``build_world`` and
``write_all`` (plus the per-piece ``make_corpus``, ``make_task``, ``make_newknowledge``).

Files written by ``write_all(world, cfg, seed, out_dir)`` (see docs/interfaces.md)::

    out_dir/world/world.json
    out_dir/corpus/{train,val}.jsonl                 {"text", "source"}
    out_dir/tasks/<task>/{train,test}.jsonl          common schema
    out_dir/tasks/newknowledge/{train,test}.jsonl    train {"id","text"}; test common schema
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

from tqdm import tqdm

from ..io import atomic_path, write_jsonl
from .config import DEFAULTS, SOURCES, TASKS, check_world_matches, validate_world_config
from .corpus import make_corpus
from .entities import World, make_entities
from .language import ADJECTIVES, NOUNS, PREPOSITIONS, VERBS, make_language
from .names import NameRegistry
from .rng import rng_for
from .tasks import make_newknowledge, make_task

__all__ = [
    "DEFAULTS",
    "SOURCES",
    "TASKS",
    "validate_world_config",
    "build_world",
    "write_all",
    "make_corpus",
    "make_task",
    "make_newknowledge",
    "World",
    "CHARS_PER_TOKEN",
]

CHARS_PER_TOKEN = 3.5  # rough, for reporting sizes in tokens


def build_world(cfg: dict | None, seed: int) -> World:
    """Generate all entities, their facts and the foreign language from `cfg` and `seed`."""
    cfg = validate_world_config(cfg)
    # English vocabulary words are reserved so no name looks like a common word.
    reserved = (
        {w for n in NOUNS for w in n[:2]}
        | set(ADJECTIVES)
        | set(PREPOSITIONS)
        | {w for v in VERBS for w in v}
    )
    registry = NameRegistry(rng_for(seed, "names"), reserved)
    ents = make_entities(cfg["entities"], seed, registry)
    n_math = cfg["entities"]["n_math_names"]
    math_names = [
        registry.first_name(g)
        for g, k in (("female", (n_math + 1) // 2), ("male", n_math // 2))
        for _ in range(k)
    ]
    lang_name = cfg["language"]["name"] or registry.word("language", 2, 3)
    lang = make_language(rng_for(seed, "language"), lang_name)
    return World(seed=int(seed), config=cfg, math_names=math_names, language=lang, **ents)


def write_all(world: World, cfg: dict | None, seed: int, out_dir: str | Path) -> dict:
    """Write world, corpus, task and new-knowledge files under `out_dir` (each atomically) and
    return a summary: documents and characters per source and split, task sizes, seconds."""
    t0 = time.perf_counter()
    cfg = validate_world_config(cfg)
    check_world_matches(world, cfg)
    out_dir = Path(out_dir)
    with atomic_path(out_dir / "world" / "world.json") as tmp:
        tmp.write_text(world.to_json())
    corpus = make_corpus(world, cfg, seed)
    sources: dict = defaultdict(lambda: {"train_docs": 0, "val_docs": 0, "train_chars": 0, "val_chars": 0})
    for split, docs in corpus.items():
        write_jsonl(out_dir / "corpus" / f"{split}.jsonl", docs)
        for d in docs:
            sources[d["source"]][f"{split}_docs"] += 1
            sources[d["source"]][f"{split}_chars"] += len(d["text"])
    tasks = {}
    for task in tqdm(TASKS, desc="tasks", mininterval=5):
        splits = make_task(world, task, cfg, seed)
        for split, rows in splits.items():
            write_jsonl(out_dir / "tasks" / task / f"{split}.jsonl", rows)
        tasks[task] = {split: len(rows) for split, rows in splits.items()}
    nk = make_newknowledge(world, cfg, seed)
    for split, rows in nk.items():
        write_jsonl(out_dir / "tasks" / "newknowledge" / f"{split}.jsonl", rows)
    tasks["newknowledge"] = {split: len(rows) for split, rows in nk.items()}

    total = {
        k: sum(s[k] for s in sources.values()) for k in ("train_docs", "val_docs", "train_chars", "val_chars")
    }
    all_chars = total["train_chars"] + total["val_chars"]
    for s in sources.values():
        s["share"] = (s["train_chars"] + s["val_chars"]) / all_chars if all_chars else 0.0
    return {
        "seed": int(seed),
        "corpus": total
        | {
            "chars": all_chars,
            "approx_tokens": round(all_chars / CHARS_PER_TOKEN),
            "chars_per_token_assumed": CHARS_PER_TOKEN,
        },
        "sources": {s: sources[s] for s in SOURCES if s in sources},
        "tasks": tasks,
        "world": {
            "countries": len(world.countries),
            "cities": len(world.cities),
            "companies": len(world.companies),
            "universities": len(world.universities),
            "corpus_people": len(world.corpus_people),
            "new_people": len(world.new_people),
            "language": world.language["name"],
        },
        "seconds": round(time.perf_counter() - t0, 2),
    }
