"""Biographies of people and profiles of cities, companies and universities.

Every attribute has at least four paraphrase templates and the facts of a text come in a
shuffled order, so each fact is seen in many surface forms: the "diverse paraphrases" recipe
that makes knowledge extractable (Allen-Zhu & Li, "Physics of Language Models 3.1").
Placeholders: {S} subject, {O} object, {P} possessive (the name or a pronoun), {pp} possessive
pronoun, {N} the name itself, {v} the value, {a} the article for {v}.
"""

from __future__ import annotations

import random

TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "person": {
        "birth_year": (
            "{S} was born in {v}.",
            "{S} came into the world in {v}.",
            "{P} year of birth is {v}.",
            "{S} was born in the year {v}.",
            "In {v}, {S} was born.",
        ),
        "birth_city": (
            "{S} was born in the city of {v}.",
            "{P} birthplace is {v}.",
            "{S} is a native of {v}.",
            "{S} comes from the city of {v}.",
            "{S} spent {pp} early years in {v}, the city of {pp} birth.",
        ),
        "employer": (
            "{S} works for {v}.",
            "{S} is employed by {v}.",
            "{S} has a job at {v}.",
            "{v} is the employer of {O}.",
            "{S} earns a living at {v}.",
        ),
        "profession": (
            "{S} works as {a} {v}.",
            "{S} is {a} {v} by profession.",
            "{P} occupation is {v}.",
            "{S} trained to become {a} {v}.",
            "By profession, {S} is {a} {v}.",
        ),
        "university": (
            "{S} studied at {v}.",
            "{S} graduated from {v}.",
            "{S} is a graduate of {v}.",
            "{S} received a degree from {v}.",
            "{S} attended {v}.",
        ),
        "hobby": (
            "In {pp} free time, {S} enjoys {v}.",
            "{S} likes {v}.",
            "{P} favourite hobby is {v}.",
            "{S} has a passion for {v}.",
            "{S} spends weekends on {v}.",
        ),
    },
    "city": {
        "country": (
            "{S} is a city in {v}.",
            "{S} lies in {v}.",
            "{S} is located in {v}.",
            "The city of {N} belongs to {v}.",
            "{S} is part of {v}.",
        ),
        "founded": (
            "{S} was founded in {v}.",
            "{S} was established in {v}.",
            "{P} founding year is {v}.",
            "Settlers founded {O} in {v}.",
            "{S} has existed since {v}.",
        ),
        "river": (
            "The river {v} flows through {O}.",
            "{S} lies on the river {v}.",
            "{S} was built on the banks of the {v}.",
            "The {v} runs through {O}.",
            "{S} stands on the {v} river.",
        ),
        "landmark": (
            "{S} is famous for the {v}.",
            "The best-known sight in {O} is the {v}.",
            "Visitors to {O} come to see the {v}.",
            "The {v} stands in {O}.",
            "{P} most famous landmark is the {v}.",
        ),
    },
    "company": {
        "hq": (
            "{S} has its headquarters in {v}.",
            "{S} is headquartered in {v}.",
            "The head office of {O} is in {v}.",
            "{S} is based in {v}.",
            "{P} main office is located in {v}.",
        ),
        "founded": (
            "{S} was founded in {v}.",
            "{S} was started in {v}.",
            "{S} has been in business since {v}.",
            "{P} founding year is {v}.",
        ),
        "industry": (
            "{S} is {a} {v} company.",
            "{S} works in the {v} industry.",
            "{S} does business in {v}.",
            "The business of {O} is {v}.",
        ),
        "founder": (
            "{S} was founded by {v}.",
            "{v} started {O}.",
            "The founder of {O} is {v}.",
            "{S} was created by {v}.",
        ),
    },
    "university": {
        "city": (
            "{S} is located in {v}.",
            "{S} stands in the city of {v}.",
            "The campus of {O} is in {v}.",
            "{S} is a place of learning in {v}.",
            "Students of {O} live in {v}.",
        ),
        "founded": (
            "{S} was founded in {v}.",
            "{S} opened its doors in {v}.",
            "{P} founding year is {v}.",
            "{S} has taught students since {v}.",
        ),
    },
}

# Attributes whose value is another entity (shown by its name).
REFERENCES = {"birth_city", "employer", "university", "country", "hq", "city"}
PRONOUNS = {"female": ("she", "her", "her"), "male": ("he", "him", "his"), None: ("it", "it", "its")}


def kind_of(entity: dict) -> str:
    return entity["id"].split(":", 1)[0]


def fact_value(world, entity: dict, attr: str) -> str:
    """The display value of one attribute (entity references resolved to names)."""
    v = entity[attr]
    return world.name(v) if attr in REFERENCES else str(v)


def article(word: str) -> str:
    return "an" if word[0].lower() in "aeiou" else "a"


def possessive(name: str) -> str:
    """ "Lena's", but "Tessa Works'" for names ending in s."""
    return name + ("'" if name.endswith("s") else "'s")


def fact_sentence(world, entity: dict, attr: str, rng: random.Random, pronoun: bool = False) -> str:
    """One sentence stating `attr` of `entity` with a random template; the subject is a pronoun
    if `pronoun` (used after the first sentence of a text)."""
    template = rng.choice(TEMPLATES[kind_of(entity)][attr])
    name = entity["name"]
    subj, obj, poss = PRONOUNS[entity.get("gender")]
    v = fact_value(world, entity, attr)
    text = template.format(
        S=subj if pronoun else name,
        O=obj if pronoun else name,
        P=poss if pronoun else possessive(name),
        pp=poss,
        N=name,
        v=v,
        a=article(v),
    )
    return text[0].upper() + text[1:]


def attributes(entity: dict) -> tuple[str, ...]:
    return tuple(TEMPLATES[kind_of(entity)])


def describe(
    world, entity: dict, rng: random.Random, pronoun_rate: float = 0.0, attrs: tuple[str, ...] | None = None
) -> list[tuple[str, str]]:
    """(attribute, sentence) pairs in a shuffled order; the first sentence names the entity."""
    attrs = list(attrs or attributes(entity))
    rng.shuffle(attrs)
    return [
        (a, fact_sentence(world, entity, a, rng, pronoun=i > 0 and rng.random() < pronoun_rate))
        for i, a in enumerate(attrs)
    ]


def biography(world, entity: dict, rng: random.Random, pronoun_rate: float = 0.0) -> str:
    """A biography (person) or profile (city, company, university): all facts, shuffled."""
    return " ".join(s for _, s in describe(world, entity, rng, pronoun_rate))


def distinct_biographies(
    world, entity: dict, n: int, rng: random.Random, pronoun_rate: float, avoid: set[str] = frozenset()
) -> list[str]:
    """`n` pairwise distinct biographies of `entity`, none of them in `avoid`."""
    out: list[str] = []
    seen = set(avoid)
    for _ in range(50 * n + 50):
        if len(out) == n:
            return out
        text = biography(world, entity, rng, pronoun_rate)
        if text not in seen:
            seen.add(text)
            out.append(text)
    raise ValueError(
        f"could not write {n} distinct texts about {entity['id']}; "
        "lower bios_per_person / profiles_per_entity"
    )
