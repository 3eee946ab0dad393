"""An English-like template language and a generated "foreign" language.

English: ``Det (Adj) Noun Verb Det (Adj) Noun [Prep Det (Adj) Noun] .`` with number agreement
and present/past tense. The foreign language has its own generated lexicon and different rules:

* word order S–PP–O–V (verb last), postpositions (``NP prep``);
* adjectives follow the noun and agree in number;
* nouns: stem + plural suffix (if plural) + accusative suffix (if object);
* verbs: stem + tense suffix (present/past) + subject-plural suffix (if the subject is plural);
* indefinite noun phrases start with the article ``ne``; definite ones have no article.
"""

from __future__ import annotations

import random

from .layouts import parallel_prompt

# (singular, plural, animate)
NOUNS = (
    ("farmer", "farmers", True),
    ("teacher", "teachers", True),
    ("child", "children", True),
    ("dog", "dogs", True),
    ("cat", "cats", True),
    ("bird", "birds", True),
    ("horse", "horses", True),
    ("baker", "bakers", True),
    ("sailor", "sailors", True),
    ("king", "kings", True),
    ("queen", "queens", True),
    ("girl", "girls", True),
    ("boy", "boys", True),
    ("woman", "women", True),
    ("man", "men", True),
    ("mouse", "mice", True),
    ("fox", "foxes", True),
    ("wolf", "wolves", True),
    ("student", "students", True),
    ("painter", "painters", True),
    ("apple", "apples", False),
    ("letter", "letters", False),
    ("book", "books", False),
    ("house", "houses", False),
    ("boat", "boats", False),
    ("tree", "trees", False),
    ("river", "rivers", False),
    ("hill", "hills", False),
    ("garden", "gardens", False),
    ("market", "markets", False),
    ("bridge", "bridges", False),
    ("stone", "stones", False),
    ("song", "songs", False),
    ("cake", "cakes", False),
    ("box", "boxes", False),
    ("ship", "ships", False),
    ("village", "villages", False),
    ("lamp", "lamps", False),
    ("key", "keys", False),
    ("window", "windows", False),
)
ADJECTIVES = (
    "old",
    "young",
    "small",
    "big",
    "happy",
    "quiet",
    "red",
    "green",
    "clever",
    "brave",
    "tired",
    "busy",
    "new",
    "dark",
    "bright",
    "kind",
    "strange",
    "tall",
    "heavy",
    "warm",
)
# (base, third person singular, past)
VERBS = (
    ("see", "sees", "saw"),
    ("find", "finds", "found"),
    ("help", "helps", "helped"),
    ("carry", "carries", "carried"),
    ("follow", "follows", "followed"),
    ("watch", "watches", "watched"),
    ("like", "likes", "liked"),
    ("visit", "visits", "visited"),
    ("paint", "paints", "painted"),
    ("call", "calls", "called"),
    ("meet", "meets", "met"),
    ("build", "builds", "built"),
    ("bring", "brings", "brought"),
    ("hold", "holds", "held"),
    ("push", "pushes", "pushed"),
    ("clean", "cleans", "cleaned"),
    ("open", "opens", "opened"),
    ("want", "wants", "wanted"),
    ("take", "takes", "took"),
    ("buy", "buys", "bought"),
    ("sell", "sells", "sold"),
    ("draw", "draws", "drew"),
    ("feed", "feeds", "fed"),
    ("chase", "chases", "chased"),
    ("remember", "remembers", "remembered"),
)
PREPOSITIONS = ("near", "behind", "under", "beside", "with", "above")

MORPHOLOGY = {
    "plural": "ek",
    "accusative": "um",
    "adj_plural": "ek",
    "present": "a",
    "past": "ot",
    "subject_plural": "n",
    "indefinite": "ne",
}
FX_CONSONANTS = ("k", "t", "z", "v", "m", "r", "s", "n", "h", "j", "g", "d")
FX_VOWELS = ("a", "e", "o", "u", "y", "i")


def make_language(rng: random.Random, name: str) -> dict:
    """The lexicon (English forms ↔ foreign stems) and the morphology of the foreign language."""
    english = (
        {w for n in NOUNS for w in n[:2]}
        | set(ADJECTIVES)
        | set(PREPOSITIONS)
        | {w for v in VERBS for w in v}
        | {"the", "a", "an", "some"}
    )
    used = set(english) | set(MORPHOLOGY.values())

    def stem(final_vowel: bool = False) -> str:
        while True:
            n_syll = rng.choice((1, 2, 2))
            w = "".join(rng.choice(FX_CONSONANTS) + rng.choice(FX_VOWELS) for _ in range(n_syll))
            if not final_vowel:
                w += rng.choice(FX_CONSONANTS)
            if len(w) >= 3 and w not in used:
                used.add(w)
                return w

    return {
        "name": name,
        "code": "xx",
        "nouns": [{"en": sg, "en_pl": pl, "animate": an, "fx": stem()} for sg, pl, an in NOUNS],
        "adjectives": [{"en": a, "fx": stem()} for a in ADJECTIVES],
        "verbs": [{"en": b, "en_3sg": s, "en_past": p, "fx": stem()} for b, s, p in VERBS],
        "prepositions": [{"en": p, "fx": stem(final_vowel=True)} for p in PREPOSITIONS],
        "morphology": dict(MORPHOLOGY),
    }


def random_np(rng: random.Random, lang: dict, lcfg: dict, animate: bool = False) -> dict:
    nouns = [i for i, n in enumerate(lang["nouns"]) if n["animate"] or not animate]
    return {
        "noun": rng.choice(nouns),
        "plural": rng.random() < lcfg["plural_rate"],
        "definite": rng.random() < lcfg["definite_rate"],
        "adj": rng.randrange(len(lang["adjectives"])) if rng.random() < lcfg["adj_rate"] else None,
    }


def random_sentence(rng: random.Random, lang: dict, lcfg: dict) -> dict:
    """A sentence structure: animate subject, verb with tense, object, optional PP."""
    pp = None
    if rng.random() < lcfg["pp_rate"]:
        pp = {"prep": rng.randrange(len(lang["prepositions"])), "np": random_np(rng, lang, lcfg)}
    return {
        "subj": random_np(rng, lang, lcfg, animate=True),
        "verb": rng.randrange(len(lang["verbs"])),
        "past": rng.random() < lcfg["past_rate"],
        "obj": random_np(rng, lang, lcfg),
        "pp": pp,
    }


def _np_en(np: dict, lang: dict) -> list[str]:
    noun = lang["nouns"][np["noun"]]
    words = ([lang["adjectives"][np["adj"]]["en"]] if np["adj"] is not None else []) + [
        noun["en_pl"] if np["plural"] else noun["en"]
    ]
    if np["definite"]:
        det = "the"
    elif np["plural"]:
        det = "some"
    else:
        det = "an" if words[0][0] in "aeiou" else "a"
    return [det] + words


def english(s: dict, lang: dict) -> str:
    """The English surface of a sentence structure."""
    verb = lang["verbs"][s["verb"]]
    v = verb["en_past"] if s["past"] else (verb["en"] if s["subj"]["plural"] else verb["en_3sg"])
    words = _np_en(s["subj"], lang) + [v] + _np_en(s["obj"], lang)
    if s["pp"]:
        words += [lang["prepositions"][s["pp"]["prep"]]["en"]] + _np_en(s["pp"]["np"], lang)
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def _np_fx(np: dict, lang: dict, accusative: bool) -> list[str]:
    m = lang["morphology"]
    noun = (
        lang["nouns"][np["noun"]]["fx"]
        + (m["plural"] if np["plural"] else "")
        + (m["accusative"] if accusative else "")
    )
    words = [] if np["definite"] else [m["indefinite"]]
    words.append(noun)
    if np["adj"] is not None:
        adj = lang["adjectives"][np["adj"]]["fx"]
        words.append(adj + (m["adj_plural"] if np["plural"] else ""))
    return words


def foreign(s: dict, lang: dict) -> str:
    """The foreign surface of a sentence structure (S PP O V, see module docstring)."""
    m = lang["morphology"]
    words = _np_fx(s["subj"], lang, False)
    if s["pp"]:
        words += _np_fx(s["pp"]["np"], lang, False) + [lang["prepositions"][s["pp"]["prep"]]["fx"]]
    words += _np_fx(s["obj"], lang, True)
    words.append(
        lang["verbs"][s["verb"]]["fx"]
        + (m["past"] if s["past"] else m["present"])
        + (m["subject_plural"] if s["subj"]["plural"] else "")
    )
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


PARALLEL_FRAMES = (
    'In {L}, "{en}" is "{fx}".',
    'The {L} for "{en}" is "{fx}".',
    '"{en}" translates into {L} as "{fx}".',
    "English: {en} {L}: {fx}",
)
NATIVE_FRAME = 3  # the frame the native translation layout asks in (layouts.parallel_prompt)


def parallel_line(rng: random.Random, en: str, fx: str, lang_name: str) -> str:
    frame = rng.choice(range(len(PARALLEL_FRAMES)))  # same draw as rng.choice(PARALLEL_FRAMES)
    if frame == NATIVE_FRAME:
        return f"{parallel_prompt(en, lang_name)} {fx}"
    return PARALLEL_FRAMES[frame].format(L=lang_name, en=en, fx=fx)


def glossary_line(rng: random.Random, lang: dict) -> str:
    """A dictionary entry of one word form (teaches the lexicon and the suffixes)."""
    m, name = lang["morphology"], lang["name"]
    kind = rng.choice(("noun", "noun_pl", "adj", "verb", "verb_past", "prep"))
    if kind.startswith("noun"):
        n = rng.choice(lang["nouns"])
        en, fx = (n["en_pl"], n["fx"] + m["plural"]) if kind == "noun_pl" else (n["en"], n["fx"])
    elif kind == "adj":
        a = rng.choice(lang["adjectives"])
        en, fx = a["en"], a["fx"]
    elif kind.startswith("verb"):
        v = rng.choice(lang["verbs"])
        en, fx = (
            (v["en_past"], v["fx"] + m["past"])
            if kind == "verb_past"
            else (v["en_3sg"], v["fx"] + m["present"])
        )
    else:
        p = rng.choice(lang["prepositions"])
        en, fx = p["en"], p["fx"]
    return f'The {name} word for "{en}" is "{fx}".'
