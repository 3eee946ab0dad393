"""Questions about people: direct (one fact) and 2-hop (a fact of a related entity).

Each relation is a path: start at the person, follow the ``links`` attributes entity by entity,
then read ``answer_attr`` of the last entity. The example's metadata stores the entity ids of
that chain, so the answer can be re-derived from ``world.json`` alone.
"""

from __future__ import annotations

import random

from .layouts import qa_prompt
from .rng import rng_for

# relation -> (kind, hops, links, answer_attr, question templates)
RELATIONS: dict[str, tuple[str, int, tuple[str, ...], str, tuple[str, ...]]] = {
    "birth_year": (
        "direct",
        1,
        (),
        "birth_year",
        ("In which year was {X} born?", "When was {X} born?", "What is the birth year of {X}?"),
    ),
    "birth_city": (
        "direct",
        1,
        ("birth_city",),
        "name",
        ("In which city was {X} born?", "Where was {X} born?", "What is the birthplace of {X}?"),
    ),
    "employer": (
        "direct",
        1,
        ("employer",),
        "name",
        (
            "Which company does {X} work for?",
            "Who employs {X}?",
            "What is the name of the company {X} works for?",
        ),
    ),
    "profession": (
        "direct",
        1,
        (),
        "profession",
        (
            "What is the profession of {X}?",
            "What does {X} do for a living?",
            "What is the occupation of {X}?",
        ),
    ),
    "university": (
        "direct",
        1,
        ("university",),
        "name",
        (
            "Which university did {X} attend?",
            "Where did {X} study?",
            "From which university did {X} graduate?",
        ),
    ),
    "hobby": (
        "direct",
        1,
        (),
        "hobby",
        ("What is the hobby of {X}?", "What does {X} enjoy in free time?", "Which hobby does {X} have?"),
    ),
    "employer_hq": (
        "2hop",
        2,
        ("employer", "hq"),
        "name",
        (
            "In which city is the headquarters of the company {X} works for?",
            "Where is the employer of {X} based?",
            "In which city is the company that employs {X} headquartered?",
        ),
    ),
    "employer_founded": (
        "2hop",
        2,
        ("employer",),
        "founded",
        (
            "In which year was the company {X} works for founded?",
            "When was the employer of {X} founded?",
            "What is the founding year of the company that employs {X}?",
        ),
    ),
    "employer_industry": (
        "2hop",
        2,
        ("employer",),
        "industry",
        (
            "In which industry does the employer of {X} work?",
            "What industry is the company {X} works for in?",
            "What business is the company that employs {X} in?",
        ),
    ),
    "employer_founder": (
        "2hop",
        2,
        ("employer",),
        "founder",
        (
            "Who founded the company {X} works for?",
            "Who is the founder of the employer of {X}?",
            "Who started the company that employs {X}?",
        ),
    ),
    "birth_city_country": (
        "2hop",
        2,
        ("birth_city", "country"),
        "name",
        (
            "In which country was {X} born?",
            "In which country is the city where {X} was born?",
            "Which country is the birthplace of {X} in?",
        ),
    ),
    "birth_city_river": (
        "2hop",
        2,
        ("birth_city",),
        "river",
        (
            "Which river flows through the city where {X} was born?",
            "What river runs through the birthplace of {X}?",
            "On which river does the birth city of {X} lie?",
        ),
    ),
    "birth_city_founded": (
        "2hop",
        2,
        ("birth_city",),
        "founded",
        (
            "In which year was the city where {X} was born founded?",
            "When was the birthplace of {X} founded?",
            "What is the founding year of the city where {X} was born?",
        ),
    ),
    "university_city": (
        "2hop",
        2,
        ("university", "city"),
        "name",
        (
            "In which city is the university {X} attended?",
            "Where is the university of {X}?",
            "In which city did {X} study?",
        ),
    ),
}
KINDS = ("direct", "2hop")


def relations_of(kind: str) -> list[str]:
    return [r for r, spec in RELATIONS.items() if spec[0] == kind]


def follow(world, person_id: str, relation: str) -> tuple[list[str], str]:
    """(chain of entity ids, answer string) of `relation` for the person `person_id`."""
    _, _, links, answer_attr, _ = RELATIONS[relation]
    chain = [person_id]
    for attr in links:
        chain.append(world.entity(chain[-1])[attr])
    return chain, str(world.entity(chain[-1])[answer_attr])


def question(world, person: dict, relation: str, template: int) -> dict:
    """One question as ``{"prompt", "reference", "metadata"}``."""
    kind, hops, links, answer_attr, templates = RELATIONS[relation]
    chain, answer = follow(world, person["id"], relation)
    return {
        "prompt": templates[template].format(X=person["name"]),
        "reference": answer,
        "metadata": {
            "answer": answer,
            "hops": hops,
            "kind": kind,
            "relation": relation,
            "chain": chain,
            "links": list(links),
            "answer_attr": answer_attr,
        },
    }


def sample_questions(
    world,
    people: list[dict],
    n: int,
    two_hop_fraction: float,
    rng: random.Random,
    all_templates: bool,
    what: str,
) -> list[dict]:
    """`n` distinct questions about `people`, round(n·two_hop_fraction) of them 2-hop.

    With `all_templates` every paraphrase of a (person, relation) pair is a separate candidate
    (training data); otherwise each pair is asked once, with a random paraphrase (test data).
    """
    n_two = round(n * two_hop_fraction)
    out = []
    for kind, k in (("direct", n - n_two), ("2hop", n_two)):
        pool = []
        for p in people:
            for r in relations_of(kind):
                n_t = len(RELATIONS[r][4])
                pool += [(p, r, t) for t in range(n_t)] if all_templates else [(p, r, rng.randrange(n_t))]
        if k > len(pool):
            raise ValueError(
                f"{what}: asks for {k} {kind} questions but only {len(pool)} "
                "distinct ones exist; lower the size or add people"
            )
        out += [question(world, p, r, t) for p, r, t in rng.sample(pool, k)]
    rng.shuffle(out)
    return out


def split_people(world, cfg: dict, seed: int) -> dict[str, list[dict]]:
    """Corpus people in three disjoint groups: ``test`` (multihop test questions), ``corpus_qa``
    (question-answer documents in the pre-training corpus) and ``train`` (the rest: multihop
    training questions). Test people are asked about only at evaluation, so answering them needs
    facts learnt from biographies; the corpus QA people let pre-training teach how questions map
    to those facts, as QA text on the web does, without leaking any task example."""
    people = list(world.corpus_people)
    rng_for(seed, "multihop", "people").shuffle(people)
    sizes = group_sizes(len(people), cfg["multihop"])
    n_test, n_qa = sizes["test"], sizes["corpus_qa"]
    return {
        "test": people[:n_test],
        "corpus_qa": people[n_test : n_test + n_qa],
        "train": people[n_test + n_qa :],
    }


def group_sizes(n_people: int, mcfg: dict) -> dict[str, int]:
    """Sizes of the `split_people` groups for `n_people` corpus people (``multihop`` config)."""
    n_test = round(n_people * mcfg["test_people_fraction"])
    n_qa = round(n_people * mcfg["corpus_qa_fraction"])
    return {"test": n_test, "corpus_qa": n_qa, "train": n_people - n_test - n_qa}


def qa_document(world, people: list[dict], rng: random.Random, n_pairs: int) -> str:
    """`n_pairs` random questions (direct and 2-hop, any paraphrase) about `people` with their
    answers, as ``Question: ...`` / ``Answer: ...`` lines."""
    lines = []
    for _ in range(n_pairs):
        relation = rng.choice(list(RELATIONS))
        q = question(world, rng.choice(people), relation, rng.randrange(len(RELATIONS[relation][4])))
        lines.append(f"{qa_prompt(q['prompt'])} {q['reference']}")
    return "\n\n".join(lines)
