"""The world's entities (countries, cities, companies, universities, people) and the ``World``.

Entity ids are ``"<kind>:<index>"``; attributes that point at another entity hold its id
(e.g. ``person["employer"] == "company:3"``), so a fact chain can be followed id by id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .names import NameRegistry
from .rng import rng_for

PROFESSIONS = (
    "doctor",
    "engineer",
    "lawyer",
    "architect",
    "nurse",
    "pilot",
    "chef",
    "journalist",
    "librarian",
    "pharmacist",
    "accountant",
    "musician",
    "photographer",
    "carpenter",
    "dentist",
)
HOBBIES = (
    "painting",
    "gardening",
    "fishing",
    "hiking",
    "chess",
    "cycling",
    "swimming",
    "knitting",
    "pottery",
    "birdwatching",
    "baking",
    "rowing",
    "climbing",
    "sailing",
    "dancing",
)
INDUSTRIES = (
    "software",
    "shipping",
    "banking",
    "mining",
    "publishing",
    "energy",
    "textile",
    "furniture",
    "food",
    "glass",
    "toy",
    "insurance",
)
LANDMARK_KINDS = ("Tower", "Bridge", "Gate", "Palace", "Fountain", "Cathedral", "Market", "Lighthouse")
COMPANY_SUFFIXES = ("Group", "Works", "Labs", "Industries", "Trading", "Systems", "Holdings")
UNIVERSITY_KINDS = ("University", "College", "Institute")

# Year ranges of the attributes (inclusive).
CITY_FOUNDED = (800, 1850)
COMPANY_FOUNDED = (1850, 2010)
UNIVERSITY_FOUNDED = (1300, 1950)
BIRTH_YEAR = (1940, 2000)

KINDS = ("country", "city", "company", "university", "person")


@dataclass
class World:
    """All generated facts of one world; JSON-serialisable with ``to_json`` / ``from_json``."""

    seed: int
    config: dict
    countries: list[dict]
    cities: list[dict]
    companies: list[dict]
    universities: list[dict]
    people: list[dict]
    math_names: list[str]
    language: dict
    _index: dict = field(default_factory=dict, repr=False, compare=False)

    def entity(self, eid: str) -> dict:
        """The entity with id `eid` (e.g. ``"city:3"``); ValueError if there is none."""
        if not self._index:
            for kind in ("countries", "cities", "companies", "universities", "people"):
                for e in getattr(self, kind):
                    self._index[e["id"]] = e
        try:
            return self._index[eid]
        except KeyError:
            raise ValueError(f"no entity with id {eid!r} in this world") from None

    def name(self, eid: str) -> str:
        return self.entity(eid)["name"]

    @property
    def corpus_people(self) -> list[dict]:
        return [p for p in self.people if p["split"] == "corpus"]

    @property
    def new_people(self) -> list[dict]:
        return [p for p in self.people if p["split"] == "new"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "config": self.config,
            "countries": self.countries,
            "cities": self.cities,
            "companies": self.companies,
            "universities": self.universities,
            "people": self.people,
            "math_names": self.math_names,
            "language": self.language,
        }

    def to_json(self) -> str:
        """Canonical JSON text (sorted keys), identical for identical worlds."""
        return json.dumps(self.to_dict(), indent=1, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, d: dict) -> "World":
        fields = (
            "seed",
            "config",
            "countries",
            "cities",
            "companies",
            "universities",
            "people",
            "math_names",
            "language",
        )
        missing = [f for f in fields if f not in d]
        if missing:
            raise ValueError(f"world JSON lacks field(s) {missing}")
        return cls(**{f: d[f] for f in fields})

    @classmethod
    def from_json(cls, text: str) -> "World":
        """Inverse of ``to_json``."""
        return cls.from_dict(json.loads(text))


def make_entities(ecfg: dict, seed: int, registry: NameRegistry) -> dict[str, list]:
    """Countries, cities, companies, universities and people for the `entities` config section.

    Corpus people come first (ids person:0…), then the new people; both draw their employer,
    birth city and university from the same (corpus-visible) companies, cities and universities.
    """
    rng = rng_for(seed, "entities")
    countries = [{"id": f"country:{i}", "name": registry.word("country")} for i in range(ecfg["n_countries"])]
    n_rivers = max(1, (ecfg["n_cities"] + 1) // 2)  # rivers are shared by about two cities
    rivers = [registry.word("river", 2, 2) for _ in range(n_rivers)]
    cities = []
    for i in range(ecfg["n_cities"]):
        cities.append(
            {
                "id": f"city:{i}",
                "name": registry.word("city"),
                "country": countries[i % len(countries)]["id"]
                if i < len(countries)
                else rng.choice(countries)["id"],  # every country has at least one city
                "founded": rng.randint(*CITY_FOUNDED),
                "river": rivers[i % n_rivers] if i < n_rivers else rng.choice(rivers),
                "landmark": f"{registry.word('landmark', 2, 2)} {rng.choice(LANDMARK_KINDS)}",
            }
        )
    first = {g: [registry.first_name(g) for _ in range(ecfg["n_first_names"])] for g in ("female", "male")}

    def full_name(gender: str) -> tuple[str, str]:
        return rng.choice(first[gender]), registry.word("surname")

    companies = []
    for i in range(ecfg["n_companies"]):
        f, last = full_name(rng.choice(("female", "male")))
        companies.append(
            {
                "id": f"company:{i}",
                "name": f"{registry.word('company')} {rng.choice(COMPANY_SUFFIXES)}",
                "hq": rng.choice(cities)["id"],
                "founded": rng.randint(*COMPANY_FOUNDED),
                "industry": rng.choice(INDUSTRIES),
                "founder": f"{f} {last}",
            }
        )
    universities = [
        {
            "id": f"university:{i}",
            "name": f"{registry.word('university')} {rng.choice(UNIVERSITY_KINDS)}",
            "city": rng.choice(cities)["id"],
            "founded": rng.randint(*UNIVERSITY_FOUNDED),
        }
        for i in range(ecfg["n_universities"])
    ]
    people = []
    n_total = ecfg["n_corpus_people"] + ecfg["n_new_people"]
    for i in range(n_total):
        gender = rng.choice(("female", "male"))
        f, last = full_name(gender)
        people.append(
            {
                "id": f"person:{i}",
                "first": f,
                "last": last,
                "name": f"{f} {last}",
                "gender": gender,
                "birth_year": rng.randint(*BIRTH_YEAR),
                "birth_city": rng.choice(cities)["id"],
                "employer": rng.choice(companies)["id"],
                "profession": rng.choice(PROFESSIONS),
                "university": rng.choice(universities)["id"],
                "hobby": rng.choice(HOBBIES),
                "split": "corpus" if i < ecfg["n_corpus_people"] else "new",
            }
        )
    return {
        "countries": countries,
        "cities": cities,
        "companies": companies,
        "universities": universities,
        "people": people,
    }
