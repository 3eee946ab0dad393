"""IFEval checkers: every supported id with a passing and a failing response, the loose
variants, the hub kwargs layout and the error messages."""

import pytest

from sahlab.ifeval import SUPPORTED_IDS, check, check_loose, count_words, loose_variants, split_sentences

# (instruction id, kwargs, a compliant response, a non-compliant response)
CASES = [
    ("change_case:english_capital", {}, "HELLO WORLD, 42 TIMES!", "HELLO World"),
    ("change_case:english_lowercase", {}, "hello world, 42 times!", "hello World"),
    (
        "change_case:capital_word_frequency",
        {"capital_frequency": 2, "capital_relation": "at least"},
        "The NASA and ESA teams met.",
        "The Nasa team met in PARIS.",
    ),
    (
        "change_case:capital_word_frequency",
        {"capital_frequency": 2, "capital_relation": "less than"},
        "Only one ACRONYM here.",
        "Two: NASA and ESA.",
    ),
    (
        "length_constraints:number_words",
        {"num_words": 5, "relation": "less than"},
        "one two three four",
        "one two three four five",
    ),
    (
        "length_constraints:number_words",
        {"num_words": 5, "relation": "at least"},
        "one, two; three-four five",
        "one two three four",
    ),
    (
        "length_constraints:number_sentences",
        {"num_sentences": 3, "relation": "less than"},
        "Mr. Smith paid 3.50 dollars. Then he left!",
        "One. Two? Three!",
    ),
    (
        "length_constraints:number_sentences",
        {"num_sentences": 3, "relation": "at least"},
        "One. Two? Three!",
        "Wait... what? Fine.",
    ),
    (
        "length_constraints:number_paragraphs",
        {"num_paragraphs": 3},
        "First part.\n***\nSecond part.\n***\nThird part.",
        "First.\n***\nSecond.",
    ),
    (
        "length_constraints:nth_paragraph_first_word",
        {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "Because"},
        'Intro text.\n\n"Because, it works."',
        "Intro text.\n\nSince it works.",
    ),
    (
        "keywords:existence",
        {"keywords": ["banana", "Kiwi"]},
        "I like BANANA bread and kiwi jam.",
        "I like banana bread.",
    ),
    (
        "keywords:forbidden_words",
        {"forbidden_words": ["cat", "dog"]},
        "A category of hotdogs.",
        "My Dog barks.",
    ),
    (
        "keywords:frequency",
        {"keyword": "go", "frequency": 3, "relation": "at least"},
        "Go, go, GO!",
        "Go, go!",
    ),
    ("keywords:frequency", {"keyword": "go", "frequency": 3, "relation": "less than"}, "Go, go!", "go go go"),
    (
        "keywords:letter_frequency",
        {"letter": "A", "let_frequency": 3, "let_relation": "at least"},
        "Banana",
        "Bnn a",
    ),
    (
        "keywords:letter_frequency",
        {"letter": "z", "let_frequency": 2, "let_relation": "less than"},
        "A zebra.",
        "Zz top",
    ),
    (
        "startend:end_checker",
        {"end_phrase": "Any other questions?"},
        "Done here. any other questions?  \n",
        "Any other questions? Bye.",
    ),
    ("startend:quotation", {}, '  "Wrapped in quotes."\n', '"Only at the start.'),
    ("detectable_format:json_format", {}, '```json\n{"a": [1, 2]}\n```', '{"a": [1, 2],}'),
    (
        "detectable_format:number_bullet_lists",
        {"num_bullets": 3},
        "Items:\n* one\n- two\n  * three\n**bold** is not a bullet",
        "* one\n* two",
    ),
    ("detectable_format:title", {}, "<<A Poem>>\nRoses are red.", "<< >>\nNo title here."),
    (
        "detectable_format:number_highlighted_sections",
        {"num_highlights": 2},
        "Some *first* and **second** parts.",
        "Only *one* highlight and ** ** empty.",
    ),
    (
        "detectable_format:multiple_sections",
        {"section_spliter": "Section", "num_sections": 2},
        "Section 1\nIntro.\nSection 2\nBody.",
        "Section 1\nIntro only. See section 2.",
    ),
    ("detectable_format:constrained_response", {}, "Hmm. My answer is maybe.", "My answer is yes"),
    (
        "detectable_content:postscript",
        {"postscript_marker": "P.S."},
        "Hello.\n\nP.S. See you soon.",
        "Hello. Postscript: none.",
    ),
    (
        "detectable_content:postscript",
        {"postscript_marker": "P.P.S"},
        "Hi.\nP.P.S bring snacks",
        "Hi.\nP.S. bring snacks",
    ),
    (
        "detectable_content:number_placeholders",
        {"num_placeholders": 2},
        "Dear [name], at [address].",
        "Dear [name], at home.",
    ),
    ("punctuation:no_comma", {}, "No commas at all.", "Well, one comma."),
    (
        "language:response_language",
        {"language": "de"},
        "Ich habe heute keine Zeit, weil ich arbeiten muss.",
        "I have no time today because I must work.",
    ),
    (
        "combination:repeat_prompt",
        {"prompt_to_repeat": "Write a poem."},
        "write a poem.\nRoses are red.",
        "Sure! Write a poem.",
    ),
    ("combination:two_responses", {}, "First answer.\n******\nSecond answer.", "Same.\n******\nSame."),
]


@pytest.mark.parametrize("iid,kwargs,good,bad", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_checker_passes_and_fails(iid, kwargs, good, bad):
    assert check(iid, kwargs, good) is True
    assert check(iid, kwargs, bad) is False


def test_every_supported_id_is_exercised():
    assert set(SUPPORTED_IDS) == {c[0] for c in CASES}
    assert "language:response_language" in SUPPORTED_IDS


def test_response_language_uses_a_language_identifier():
    iid = "language:response_language"
    assert check(iid, {"language": "fr"}, "Bonjour, je voudrais une tasse de café, s'il vous plaît.")
    assert not check(iid, {"language": "fr"}, "Hello, I would like a cup of coffee, please.")
    assert check(iid, {"language": "en"}, "Hello, I would like a cup of coffee, please.")


def test_words_and_sentences_counting():
    # It / s / 3 / 5 / km / well_known / isn / t / it
    assert count_words("It's 3.5 km — well_known, isn't it?") == 9
    assert split_sentences("Dr. Who met Mr. X. e.g. at 3.14 p.m. Really?! Yes... ok.") == [
        "Dr. Who met Mr. X. e.g. at 3.14 p.m.",
        "Really?!",
        "Yes... ok.",
    ]
    assert split_sentences('He said "stop." Then left.\nA list\nwithout dots') == [
        'He said "stop."',
        "Then left.",
        "A list\nwithout dots",
    ]
    assert split_sentences("   ") == []


def test_hub_kwargs_layout_with_none_values():
    # google/IFEval rows carry every kwarg key, None where unused.
    kwargs = {
        "num_words": 3,
        "relation": "at least",
        "keyword": None,
        "keywords": None,
        "end_phrase": None,
        "num_bullets": None,
    }
    assert check("length_constraints:number_words", kwargs, "one two three")
    assert check("punctuation:no_comma", {"num_words": None, "relation": None}, "fine")
    assert check("punctuation:no_comma", None, "fine")
    # parquet may give integers as floats
    assert check(
        "length_constraints:number_words", {"num_words": 3.0, "relation": "at least"}, "one two three"
    )


def test_blank_response_follows_nothing():
    assert check("punctuation:no_comma", {}, "   \n") is False
    assert check_loose("punctuation:no_comma", {}, "") is False


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"unknown instruction id 'foo:bar'.*punctuation:no_comma"):
        check("foo:bar", {}, "x")
    with pytest.raises(ValueError, match="'language'"):
        check("language:response_language", {}, "Bonjour")
    with pytest.raises(ValueError, match="'num_words'"):
        check("length_constraints:number_words", {"relation": "at least"}, "a b")
    with pytest.raises(ValueError, match="'relation'.*less than"):
        check("length_constraints:number_words", {"num_words": 2, "relation": "at most"}, "a b")
    with pytest.raises(ValueError, match="'keywords'.*list"):
        check("keywords:existence", {"keywords": "banana"}, "banana")
    # a blank response does not hide malformed kwargs
    with pytest.raises(ValueError, match="'num_bullets'"):
        check("detectable_format:number_bullet_lists", {}, "")


def test_loose_variants_and_loose_check():
    r = "Sure, here it is:\n**HELLO**\nHope this helps"
    variants = loose_variants(r)
    assert len(variants) == 8 and variants[0] == r
    assert "**HELLO**" in variants and "HELLO" in variants
    # strict fails (first/last line lowercase, '*'), loose passes after dropping both lines
    assert not check("change_case:english_capital", {}, r, detect_language=False)
    assert check_loose("change_case:english_capital", {}, r, detect_language=False)
    # a preamble line hides the JSON from strict but not from loose
    js = 'Here is the JSON:\n{"a": 1}'
    assert not check("detectable_format:json_format", {}, js)
    assert check_loose("detectable_format:json_format", {}, js)
    # loose cannot rescue a response with no compliant variant
    assert not check_loose("punctuation:no_comma", {}, "a, b\nc, d\ne, f")


def test_case_checks_also_require_english_as_the_official_checkers_do():
    english = "THE RIVER FLOWS NORTH THROUGH THE OLD TOWN AND THE FIELDS."
    other = "LE FLEUVE TRAVERSE LA VIEILLE VILLE ET LES CHAMPS DU NORD."
    assert check("change_case:english_capital", {}, english)
    assert not check("change_case:english_capital", {}, other)  # capitals, but not English
    assert check("change_case:english_capital", {}, other, detect_language=False)
    assert check("change_case:english_lowercase", {}, english.lower())
    assert not check("change_case:english_lowercase", {}, other.lower())
