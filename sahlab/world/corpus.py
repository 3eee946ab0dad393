"""The pre-training corpus: documents ``{"text", "source"}`` mixed by character share.

Every source gets ``mix[source] · total_chars`` characters, split train/val by
``val_fraction``. Two kinds of sources:

* knowledge (``bios``, ``entities``): a fixed set of distinct texts — ``bios_per_person``
  biographies per corpus person, ``profiles_per_entity`` profiles per city/company/university —
  repeated in whole copies (at least one) to approach the budget, so every entity is seen
  equally often. Validation texts are *extra* paraphrases of the same facts, never in train.
* generated (``math``, ``language``, ``parallel``, ``instructions``, ``qa``, ``sequences``,
  ``code``): fresh
  documents until the budget is reached; items of the task test/train pools are never used
  (``rng.in_pool``), so no task example appears in the corpus.

``qa`` documents are question/answer pairs about the multihop ``corpus_qa`` people only
(``multihop.split_people``): never about a multihop train or test person.
``sequences`` are unlabelled uniform random digit sequences in the study-D format: the
features study probes a pre-trained model's representation of such sequences, which it should
have seen (Cruz et al. fine-tune GPT-2, which saw digit strings on the web); being uniform they
carry no correlation between the spurious and any target feature.
``code`` documents are numbered program listings of the coding task's language (description,
program, evaluated calls; `coding.corpus_listing`), over corpus-pool programs only, and (a share
``coding.sheet_fraction``) step sheets, single steps with their code (`coding.step_sheet`),
only steps whose one-step program is in the corpus pool.
New people never appear in the corpus: only corpus people have biographies or prompts, and
math problems use a separate pool of first names.
"""

from __future__ import annotations

import random
from typing import Callable, Iterator

from tqdm import tqdm

from . import arithmetic, coding, instructions, language, multihop
from .biographies import distinct_biographies
from .config import SOURCES, check_world_matches, validate_world_config
from .features import random_sequences
from .rng import in_pool, rng_for


# Pools are keyed by the world's seed, so the corpus and the tasks exclude each other's items
# even if they are generated in separate jobs with different sampling seeds.
def pool_problem(world, mcfg: dict, rng: random.Random, pool: str) -> dict:
    """A math problem whose question belongs to `pool`."""
    while True:
        p = arithmetic.make_problem(rng, world.math_names, mcfg)
        if in_pool(world.seed, "math", p["question"], pool):
            return p


def pool_sentence(world, lcfg: dict, rng: random.Random, pool: str) -> dict:
    """A sentence structure whose English text belongs to `pool`."""
    while True:
        s = language.random_sentence(rng, world.language, lcfg)
        if in_pool(world.seed, "translation", language.english(s, world.language), pool):
            return s


def pool_instruction(world, icfg: dict, rng: random.Random, pool: str) -> dict:
    """An instruction example (about a corpus-visible entity) whose prompt belongs to `pool`."""
    entities = instructions.instruction_entities(world)
    while True:
        entity = rng.choice(entities)
        ex = instructions.make_instruction(world, entity, rng, icfg)
        if in_pool(world.seed, "instructions", ex["prompt"], pool):
            return ex | {"entity": entity["id"]}


def pool_program(world, ccfg: dict, rng: random.Random, pool: str) -> dict:
    """A coding problem whose program belongs to `pool`."""
    while True:
        p = coding.make_problem(rng, ccfg)
        if in_pool(world.seed, "coding", p["program"], pool):
            return p


def _math_docs(world, cfg, seed, rng) -> Iterator[str]:
    mcfg = cfg["math"]
    number = 1
    while True:
        if rng.random() < mcfg["drill_fraction"]:
            yield arithmetic.drill(rng, mcfg, rng.randint(8, 16))
            continue
        parts = []
        for _ in range(rng.randint(2, 4)):
            parts.append(arithmetic.textbook_example(pool_problem(world, mcfg, rng, "corpus"), number))
            number += 1
        yield "\n\n".join(parts)


def _language_docs(world, cfg, seed, rng) -> Iterator[str]:
    lang, lcfg = world.language, cfg["language"]
    while True:
        render = language.foreign if rng.random() < cfg["corpus"]["foreign_share"] else language.english
        yield " ".join(
            render(pool_sentence(world, lcfg, rng, "corpus"), lang) for _ in range(rng.randint(3, 8))
        )


def _parallel_docs(world, cfg, seed, rng) -> Iterator[str]:
    lang, lcfg = world.language, cfg["language"]
    while True:
        lines = []
        for _ in range(rng.randint(3, 6)):
            if rng.random() < cfg["corpus"]["glossary_rate"]:
                lines.append(language.glossary_line(rng, lang))
            else:
                s = pool_sentence(world, lcfg, rng, "corpus")
                lines.append(
                    language.parallel_line(
                        rng, language.english(s, lang), language.foreign(s, lang), lang["name"]
                    )
                )
        yield "\n".join(lines)


def _instruction_docs(world, cfg, seed, rng) -> Iterator[str]:
    while True:
        yield instructions.corpus_text(pool_instruction(world, cfg["instructions"], rng, "corpus"))


def _qa_docs(world, cfg, seed, rng) -> Iterator[str]:
    people = multihop.split_people(world, cfg, seed)["corpus_qa"]
    while True:
        yield multihop.qa_document(world, people, rng, rng.randint(3, 6))


def _code_docs(world, cfg, seed, rng) -> Iterator[str]:
    ccfg, number = cfg["coding"], 1
    in_corpus = lambda program: in_pool(world.seed, "coding", program, "corpus")  # noqa: E731
    while True:
        if ccfg["sheet_fraction"] and rng.random() < ccfg["sheet_fraction"]:  # off: draws as before
            yield coding.step_sheet(rng, ccfg, in_corpus, rng.randint(8, 16))
            continue
        parts = []
        for _ in range(rng.randint(2, 4)):
            parts.append(
                coding.corpus_listing(
                    rng,
                    pool_program(world, ccfg, rng, "corpus"),
                    number,
                    ccfg["max_input"],
                    ccfg["examples_first"],
                )
            )
            number += 1
        yield "\n\n".join(parts)


def _sequence_docs(world, cfg, seed, rng) -> Iterator[str]:
    while True:
        yield "\n".join(random_sequences(rng, 16))


STREAMS: dict[str, Callable] = {
    "math": _math_docs,
    "language": _language_docs,
    "parallel": _parallel_docs,
    "instructions": _instruction_docs,
    "qa": _qa_docs,
    "sequences": _sequence_docs,
    "code": _code_docs,
}


def _fill(stream: Iterator[str], budget: float) -> list[str]:
    docs, chars = [], 0
    while chars < budget:
        docs.append(next(stream))
        chars += len(docs[-1])
    return docs


def _knowledge(
    world,
    entities: list[dict],
    per_entity: int,
    cfg: dict,
    rng: random.Random,
    budget_train: float,
    budget_val: float,
) -> tuple[list[str], list[str]]:
    if not entities:
        return [], []
    rate = cfg["entities"]["pronoun_rate"]
    distinct = {e["id"]: distinct_biographies(world, e, per_entity, rng, rate) for e in entities}
    one_copy = [t for e in entities for t in distinct[e["id"]]]
    copies = max(1, round(budget_train / max(1, sum(map(len, one_copy)))))
    train = one_copy * copies
    val, chars = [], 0
    order = list(entities)
    rng.shuffle(order)
    while chars < budget_val:
        e = order[len(val) % len(order)]
        text = distinct_biographies(world, e, 1, rng, rate, avoid=set(distinct[e["id"]]))[0]
        distinct[e["id"]].append(text)  # keeps val texts distinct from each other too
        val.append(text)
        chars += len(text)
    return train, val


def make_corpus(world, cfg: dict, seed: int) -> dict[str, list[dict]]:
    """Train and validation documents ``{"text", "source"}``, each list shuffled."""
    cfg = validate_world_config(cfg)
    check_world_matches(world, cfg)
    ccfg, ecfg = cfg["corpus"], cfg["entities"]
    total, vf = ccfg["total_chars"], ccfg["val_fraction"]
    out: dict[str, list[dict]] = {"train": [], "val": []}
    for source in tqdm(SOURCES, desc="corpus sources", mininterval=5):
        share = ccfg["mix"][source]
        if share <= 0:
            continue
        rng = rng_for(seed, "corpus", source)
        b_train, b_val = share * total * (1 - vf), share * total * vf
        if source == "bios":
            train, val = _knowledge(
                world, world.corpus_people, ecfg["bios_per_person"], cfg, rng, b_train, b_val
            )
        elif source == "entities":
            train, val = _knowledge(
                world,
                world.cities + world.companies + world.universities,
                ecfg["profiles_per_entity"],
                cfg,
                rng,
                b_train,
                b_val,
            )
        else:
            stream = STREAMS[source](world, cfg, seed, rng)
            train, val = _fill(stream, b_train), _fill(stream, b_val)
        out["train"] += [{"text": t, "source": source} for t in train]
        out["val"] += [{"text": t, "source": source} for t in val]
    for split, docs in out.items():
        rng_for(seed, "corpus", "shuffle", split).shuffle(docs)
    return out
