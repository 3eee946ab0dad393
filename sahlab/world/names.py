"""Pronounceable, unique proper names built from syllables.

Names are 2–3 syllables (a few BPE tokens each). One ``NameRegistry`` per world guarantees that
no two names — of any kind — coincide, so a name search in the corpus is unambiguous.
"""

from __future__ import annotations

import random

ONSETS = (
    "b",
    "d",
    "f",
    "g",
    "h",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "z",
    "br",
    "dr",
    "gr",
    "kr",
    "tr",
    "st",
    "th",
    "ch",
    "sh",
    "w",
)
VOWELS = ("a", "e", "i", "o", "u", "a", "e", "o", "ai", "ou")
CODAS = ("", "", "", "", "n", "r", "l", "s", "m", "nd", "rt")
# First names end in a gendered final syllable so pronouns read naturally.
FEMALE_ENDINGS = ("a", "ia", "ela", "ine", "is", "ey")
MALE_ENDINGS = ("o", "an", "or", "us", "el", "ard")


def _syllable(rng: random.Random, coda: bool = True) -> str:
    return rng.choice(ONSETS) + rng.choice(VOWELS) + (rng.choice(CODAS) if coda else "")


class NameRegistry:
    """Generates names and remembers every name (lower-cased) handed out or reserved."""

    def __init__(self, rng: random.Random, reserved: set[str] = frozenset()):
        self.rng = rng
        self.used: set[str] = {w.lower() for w in reserved}

    def _claim(self, make, what: str, tries: int = 10_000) -> str:
        for _ in range(tries):
            name = make()
            if name.lower() not in self.used and 4 <= len(name) <= 12:
                self.used.add(name.lower())
                return name
        raise ValueError(
            f"could not generate a new unique {what} name after {tries} tries; "
            "the world config asks for too many entities"
        )

    def word(self, what: str, min_syll: int = 2, max_syll: int = 3) -> str:
        """A capitalised name of `min_syll`..`max_syll` syllables (place, company, surname…)."""

        def make():
            n = self.rng.randint(min_syll, max_syll)
            parts = [_syllable(self.rng, coda=(i == n - 1 or self.rng.random() < 0.3)) for i in range(n)]
            return "".join(parts).capitalize()

        return self._claim(make, what)

    def first_name(self, gender: str) -> str:
        """A first name whose ending suggests `gender` ("female" or "male")."""
        endings = FEMALE_ENDINGS if gender == "female" else MALE_ENDINGS

        def make():
            stem = _syllable(self.rng, coda=False)
            if self.rng.random() < 0.5:
                stem += _syllable(self.rng, coda=False)
            return (stem.rstrip("aeiou") + self.rng.choice(endings)).capitalize()

        return self._claim(make, f"{gender} first")
