"""The embedded world: determinism, and every task answer re-derived independently of the
generator (math from the question text, multihop from world.json, translation by a separate
implementation of the grammar, instructions by sahlab.ifeval)."""

from __future__ import annotations

import operator
import re
from pathlib import Path

import pytest

from sahlab import ifeval
from sahlab.io import read_examples, read_jsonl
from sahlab.world.arithmetic import SCENARIOS
from sahlab.world.build import DEFAULTS, build_world, make_corpus, make_task, validate_world_config, write_all
from sahlab.world.entities import World
from sahlab.world.rng import POOLS, bucket

SEEDS = (7, 11, 2024)  # every property must hold for any seed, not one lucky draw
SMALL = {
    "entities": {
        "n_countries": 3,
        "n_cities": 6,
        "n_companies": 8,
        "n_universities": 3,
        "n_first_names": 10,
        "n_corpus_people": 40,
        "n_new_people": 10,
        "n_math_names": 8,
        "bios_per_person": 3,
        "profiles_per_entity": 3,
    },
    "corpus": {"total_chars": 150_000},
    "tasks": {
        t: {"train": 120, "test": 60} for t in ("math", "translation", "instructions", "multihop", "coding")
    },
    "newknowledge": {"bios_per_person": 3, "test": 60},
}
TASKS = ("math", "translation", "instructions", "multihop", "coding", "newknowledge")


@pytest.fixture(scope="module", params=SEEDS, ids=lambda s: f"seed{s}")
def seed(request):
    return request.param


@pytest.fixture(scope="module")
def built(tmp_path_factory, seed):
    out = tmp_path_factory.mktemp(f"world{seed}")
    world = build_world(SMALL, seed)
    summary = write_all(world, SMALL, seed, out)
    return out, summary


@pytest.fixture(scope="module")
def world(built):
    return World.from_json((built[0] / "world" / "world.json").read_text())


@pytest.fixture(scope="module")
def corpus(built):
    return {s: read_jsonl(built[0] / "corpus" / f"{s}.jsonl") for s in ("train", "val")}


def _split(built, task, split):
    path = built[0] / "tasks" / task / f"{split}.jsonl"
    if task == "newknowledge" and split == "train":
        return read_jsonl(path)
    return read_examples(path)


def _mentions(text: str, name: str) -> bool:
    return re.search(rf"\b{re.escape(name)}\b", text) is not None


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ----------------------------------------------------------------------------- determinism
def test_same_seed_same_bytes_other_seed_differs(built, tmp_path, seed):
    write_all(build_world(SMALL, seed), SMALL, seed, tmp_path / "again")
    first, again = _files(built[0]), _files(tmp_path / "again")
    assert sorted(first) == sorted(again) and len(first) == 15
    assert first == again
    write_all(build_world(SMALL, seed + 1), SMALL, seed + 1, tmp_path / "other")
    other = _files(tmp_path / "other")
    assert all(other[k] != first[k] for k in first)


def test_world_json_round_trip(built, world, seed):
    text = (built[0] / "world" / "world.json").read_text()
    assert World.from_json(text).to_json() == text
    assert world.to_dict() == build_world(SMALL, seed).to_dict()


def test_summary_counts_match_files(built, corpus):
    out, summary = built
    assert summary["corpus"]["train_docs"] == len(corpus["train"])
    assert summary["corpus"]["val_docs"] == len(corpus["val"])
    chars = sum(len(d["text"]) for s in corpus.values() for d in s)
    assert summary["corpus"]["chars"] == chars
    for task in TASKS:
        for split in ("train", "test"):
            assert summary["tasks"][task][split] == len(_split(built, task, split))
    assert summary["tasks"]["math"] == {"train": 120, "test": 60}


def test_pieces_match_write_all_and_world_must_match_cfg(built, world, seed):
    assert make_task(world, "translation", SMALL, seed)["test"] == _split(built, "translation", "test")
    # a corpus made in another job with another sampling seed still avoids the task items
    other = make_corpus(world, SMALL, seed + 5)["train"]
    prompts = {
        d["text"].split("\nReply:\n")[0].removeprefix("Request: ")
        for d in other
        if d["source"] == "instructions"
    }
    assert prompts and not prompts & {e["prompt"] for e in _split(built, "instructions", "test")}
    text = "\n".join(d["text"] for d in other)
    assert not any(e["reference"] in text for e in _split(built, "translation", "test"))
    bigger = {**SMALL, "entities": {**SMALL["entities"], "n_cities": 7}}
    with pytest.raises(ValueError, match="'entities'"):
        make_task(world, "math", bigger, seed)
    with pytest.raises(ValueError, match="unknown embedded task"):
        make_task(world, "poetry", SMALL, seed)


# ----------------------------------------------------------------------------- entities
def test_names_are_unique_and_people_split(world):
    names = [
        e["name"]
        for kind in ("countries", "cities", "companies", "universities", "people")
        for e in getattr(world, kind)
    ]
    assert len(names) == len(set(names))
    surnames = [p["last"] for p in world.people]
    assert len(surnames) == len(set(surnames))
    assert len(world.corpus_people) == 40 and len(world.new_people) == 10


# ----------------------------------------------------------------------------- corpus
def test_corpus_sources_shares_and_val_disjoint(built, corpus):
    sources = {d["source"] for d in corpus["train"]}
    assert sources == {
        "bios",
        "entities",
        "math",
        "language",
        "parallel",
        "instructions",
        "sequences",
        "code",
    }  # no "qa": its default share is 0
    assert {d["source"] for d in corpus["val"]} == sources
    shares = {s: v["share"] for s, v in built[1]["sources"].items()}
    mix = DEFAULTS["corpus"]["mix"]
    for s in ("math", "language", "parallel", "instructions", "code"):  # generated: close to mix
        assert abs(shares[s] - mix[s]) < 0.03, (s, shares[s], mix[s])
    train_texts = {d["text"] for d in corpus["train"]}
    assert not any(d["text"] in train_texts for d in corpus["val"] if d["source"] in ("bios", "entities"))


def test_each_corpus_person_has_distinct_bios(world, corpus):
    bios = [d["text"] for d in corpus["train"] if d["source"] == "bios"]
    for p in world.corpus_people:
        own = {b for b in bios if _mentions(b, p["name"])}
        assert len(own) == 3, p["name"]  # bios_per_person distinct texts


def test_new_people_never_in_corpus(world, corpus):
    text = "\n".join(d["text"] for s in corpus.values() for d in s)
    for p in world.new_people:
        assert not _mentions(text, p["name"]) and not _mentions(text, p["last"])
    # and the search itself works: corpus people are found
    assert all(p["name"] in text for p in world.corpus_people)


def test_task_test_items_not_in_corpus(built, corpus, world):
    text = "\n".join(d["text"] for s in corpus.values() for d in s)
    # every corpus item comes from the corpus pool, which task splits never draw from
    questions = re.findall(r"Example \d+\. (.*?\?)", text)
    sentences = re.findall(r'In \w+, "([^"]+)" is', text)
    assert len(questions) > 50 and len(sentences) > 20
    lo, hi = POOLS["corpus"]
    assert all(lo <= bucket(world.seed, "math", q) < hi for q in questions)
    assert all(lo <= bucket(world.seed, "translation", e) < hi for e in sentences)
    for split in ("train", "test"):
        lo, hi = POOLS[split]
        assert hi <= POOLS["corpus"][0]  # task pools lie below the corpus pool
        for ex in _split(built, "math", split):
            assert lo <= bucket(world.seed, "math", ex["prompt"]) < hi
    for ex in _split(built, "math", "test"):
        assert ex["prompt"] not in text
    for ex in _split(built, "translation", "test"):
        assert ex["prompt"].split(": ", 1)[1] not in text and ex["reference"] not in text
    corpus_prompts = {
        d["text"].split("\nReply:\n")[0].removeprefix("Request: ")
        for d in corpus["train"] + corpus["val"]
        if d["source"] == "instructions"
    }
    assert len(corpus_prompts) > 20
    test_prompts = {ex["prompt"] for ex in _split(built, "instructions", "test")}
    train_prompts = {ex["prompt"] for ex in _split(built, "instructions", "train")}
    assert not corpus_prompts & test_prompts and not train_prompts & test_prompts


# ----------------------------------------------------------------------------- math
GAIN = {v for _, g, _, _ in SCENARIOS for v in g}
LOSS = {v for _, _, lose, _ in SCENARIOS for v in lose}


def _solve(question: str) -> int:
    """Answer a word problem from its text alone (independent of the generator's steps)."""
    sentences = re.split(r"(?<=[.?])\s+", question)
    value = int(re.search(r"(\d+) \w+\.$", sentences[0]).group(1))
    for s in sentences[1:-1]:
        if m := re.search(r"has (\d+) times as many", s):
            value *= int(m.group(1))
            continue
        sign = 1 if any(f" {v} " in s for v in GAIN) else -1
        assert (sign == 1) != any(f" {v} " in s for v in LOSS), s
        if m := re.search(r"(\d+) \w+ with (\d+) \w+ in each", s):
            value += sign * int(m.group(1)) * int(m.group(2))
        elif m := re.search(r"(\d+) more \w+\.$", s):
            value += int(m.group(1))
        else:
            value += sign * int(re.search(r"(\d+) \w+\.$", s).group(1))
    assert sentences[-1].startswith("How many")
    return value


def test_math_answers_recomputed(built):
    ops = {"+": operator.add, "-": operator.sub, "*": operator.mul}
    for split in ("train", "test"):
        for ex in _split(built, "math", split):
            steps, answer = ex["metadata"]["steps"], ex["metadata"]["answer"]
            assert 2 <= len(steps) <= 3
            for st in steps:
                assert ops[st["op"]](st["a"], st["b"]) == st["result"]
            lines = ex["reference"].split("\n")
            assert re.fullmatch(r"#### (-?\d+)", lines[-1]).group(1) == answer
            assert str(steps[-1]["result"]) == answer == str(_solve(ex["prompt"]))
            for line, st in zip(lines[:-1], steps, strict=True):
                assert f"{st['a']} {st['op']} {st['b']} = {st['result']}" in line
            assert int(answer) >= 0


def test_textbook_examples_are_correct(corpus):
    docs = [d["text"] for d in corpus["train"] if d["source"] == "math"]
    checked = 0
    for doc in docs:
        for m in re.finditer(r"Example \d+\. (.*?\?) .*?So the answer is (\d+)\.", doc):
            assert _solve(m.group(1)) == int(m.group(2))
            checked += 1
        for a, op, b, r in re.findall(r"(\d+) ([-+*]) (\d+) = (\d+)", doc):
            assert {"+": operator.add, "-": operator.sub, "*": operator.mul}[op](int(a), int(b)) == int(r)
    assert checked > 50


# ----------------------------------------------------------------------------- instructions
def test_instruction_references_comply(built, corpus):
    seen_ids = set()
    for split in ("train", "test"):
        for ex in _split(built, "instructions", split):
            ids, kwargs = ex["metadata"]["instruction_id_list"], ex["metadata"]["kwargs"]
            assert 1 <= len(ids) <= 2 and len(ids) == len(kwargs) == len(set(ids))
            for iid, kw in zip(ids, kwargs):
                assert ifeval.check(
                    iid, kw, ex["reference"], ex["prompt"], ex["metadata"]["detect_language"]
                ), (iid, kw, ex)
                seen_ids.add(iid)
    assert len(seen_ids) == 9
    # the corpus frame carries the same compliant responses
    docs = [d["text"] for d in corpus["train"] if d["source"] == "instructions"]
    assert docs and all(d.startswith("Request: ") and "\nReply:\n" in d for d in docs)


def test_instruction_checks_can_fail(built):
    """Negative control: the checker rejects references for constraints they were not built for."""
    ex = next(
        e
        for e in _split(built, "instructions", "test")
        if "change_case:english_capital" in e["metadata"]["instruction_id_list"]
    )
    assert not ifeval.check("change_case:english_lowercase", {}, ex["reference"])
    plain = next(
        e
        for e in _split(built, "instructions", "test")
        if e["metadata"]["instruction_id_list"] == ["length_constraints:number_words"]
    )
    kw = plain["metadata"]["kwargs"][0]
    flipped = {
        "relation": "less than" if kw["relation"] == "at least" else "at least",
        "num_words": kw["num_words"],
    }
    assert not ifeval.check("length_constraints:number_words", flipped, plain["reference"])


# ----------------------------------------------------------------------------- multihop
def _derive(world: World, md: dict) -> str:
    chain = md["chain"]
    assert len(chain) == len(md["links"]) + 1
    for src, attr, dst in zip(chain, md["links"], chain[1:]):
        assert world.entity(src)[attr] == dst
    return str(world.entity(chain[-1])[md["answer_attr"]])


def test_multihop_answers_rederived(built, world, corpus):
    people = {}
    for split in ("train", "test"):
        rows = _split(built, "multihop", split)
        people[split] = {ex["metadata"]["chain"][0] for ex in rows}
        kinds = [ex["metadata"]["kind"] for ex in rows]
        assert kinds.count("2hop") == round(0.5 * len(rows))
        for ex in rows:
            md = ex["metadata"]
            assert _derive(world, md) == md["answer"] == ex["reference"]
            assert md["hops"] == (1 if md["kind"] == "direct" else 2)
            person = world.entity(md["chain"][0])
            assert person["split"] == "corpus" and person["name"] in ex["prompt"]
    assert not people["train"] & people["test"]
    prompts = [ex["prompt"] for ex in _split(built, "multihop", "test")]
    assert len(prompts) == len(set(prompts))
    # the knowledge is in the pre-training corpus: each fact of the chain is stated in a
    # training document that names the entity it is about
    docs = [d["text"] for d in corpus["train"] if d["source"] in ("bios", "entities")]
    for ex in _split(built, "multihop", "test"):
        md = ex["metadata"]
        names = [world.entity(e)["name"] for e in md["chain"]]
        for about, fact in zip(names, names[1:] + [md["answer"]]):
            assert any(_mentions(d, about) and _mentions(d, fact) for d in docs), (about, fact)


def test_corpus_qa_only_about_corpus_qa_people(seed):
    """QA documents ask about the corpus-QA people only, with answers re-derived from the world,
    and the multihop train/test people are never in them (no task example leaks)."""
    from sahlab.world.multihop import RELATIONS, question, split_people
    from sahlab.world.tasks import make_task

    cfg = SMALL | {
        "multihop": {"corpus_qa_fraction": 0.25},
        "corpus": {"total_chars": 60_000, "mix": {"bios": 0.5, "entities": 0.2, "qa": 0.3}},
    }
    w = build_world(cfg, seed)
    groups = split_people(w, validate_world_config(cfg), seed)
    assert {k: len(v) for k, v in groups.items()} == {"test": 10, "corpus_qa": 10, "train": 20}
    docs = [d["text"] for d in make_corpus(w, cfg, seed)["train"] if d["source"] == "qa"]
    asked = {}  # prompt -> reference, for every paraphrase about a QA person
    for p in groups["corpus_qa"]:
        for r, spec in RELATIONS.items():
            for t in range(len(spec[4])):
                q = question(w, p, r, t)
                asked[q["prompt"]] = _derive(w, q["metadata"])
    pairs = re.findall(r"Question: (.*)\nAnswer: (.*)", "\n".join(docs))
    assert len(pairs) > 100
    assert all(asked[q] == a for q, a in pairs)  # a KeyError would be a non-QA person
    others = groups["train"] + groups["test"] + w.new_people
    assert not any(_mentions(d, p["name"]) for d in docs for p in others)
    rows = make_task(w, "multihop", cfg, seed)
    about = {ex["metadata"]["chain"][0] for split in rows.values() for ex in split}
    assert not about & {p["id"] for p in groups["corpus_qa"]}


# ----------------------------------------------------------------------------- new knowledge
def test_newknowledge(built, world, corpus):
    train, test = _split(built, "newknowledge", "train"), _split(built, "newknowledge", "test")
    new = {p["id"]: p for p in world.new_people}
    assert all(set(d) == {"id", "text"} for d in train) and len(train) == 3 * len(new)
    for p in new.values():
        assert sum(_mentions(d["text"], p["name"]) for d in train) == 3
    corpus_text = "\n".join(d["text"] for s in corpus.values() for d in s)
    kinds = set()
    for ex in test:
        md = ex["metadata"]
        kinds.add(md["kind"])
        assert md["chain"][0] in new and _derive(world, md) == md["answer"] == ex["reference"]
        if md["kind"] == "2hop":  # the bridge entity is one the pre-trained model has read about
            bridge = world.entity(md["chain"][1])
            assert bridge["name"] in corpus_text
        else:  # direct facts are stated in the new person's training biographies
            name = new[md["chain"][0]]["name"]
            assert any(name in d["text"] and md["answer"] in d["text"] for d in train)
    assert kinds == {"direct", "2hop"}


# ----------------------------------------------------------------------------- translation
def _translate(english: str, lang: dict) -> str:
    """Separate implementation of the foreign grammar (module docstring of world.language)."""
    m = lang["morphology"]
    nouns = {}
    for n in lang["nouns"]:
        nouns[n["en"]] = (n["fx"], False)
        nouns[n["en_pl"]] = (n["fx"], True)
    adjs = {a["en"]: a["fx"] for a in lang["adjectives"]}
    verbs = {}
    for v in lang["verbs"]:
        verbs[v["en"]] = (v["fx"], "present")
        verbs[v["en_3sg"]] = (v["fx"], "present")
        verbs[v["en_past"]] = (v["fx"], "past")
    preps = {p["en"]: p["fx"] for p in lang["prepositions"]}
    words = english.rstrip(".").lower().split()

    def np(i):  # -> (definite, adjective stem or None, noun stem, plural), next index
        det = words[i]
        assert det in ("the", "a", "an", "some")
        adj = adjs.get(words[i + 1])
        noun, plural = nouns[words[i + 1 + (adj is not None)]]
        return (det == "the", adj, noun, plural), i + 2 + (adj is not None)

    def render(phrase, case):
        definite, adj, noun, plural = phrase
        out = [] if definite else [m["indefinite"]]
        out.append(noun + (m["plural"] if plural else "") + (m["accusative"] if case else ""))
        if adj:
            out.append(adj + (m["adj_plural"] if plural else ""))
        return out

    subj, i = np(0)
    verb, tense = verbs[words[i]]
    obj, i = np(i + 1)
    pp = None
    if i < len(words):
        prep = preps[words[i]]
        pp_np, i = np(i + 1)
        pp = render(pp_np, False) + [prep]
    assert i == len(words)
    out = render(subj, False) + (pp or []) + render(obj, True)
    out.append(verb + m[tense] + (m["subject_plural"] if subj[3] else ""))
    text = " ".join(out)
    return text[0].upper() + text[1:] + "."


def test_translation_references_rederived(built, world, corpus):
    lang = world.language
    stems = [e["fx"] for k in ("nouns", "adjectives", "verbs", "prepositions") for e in lang[k]]
    assert len(stems) == len(set(stems))  # the lexicon maps back one to one
    verb_stems = {v["fx"] for v in lang["verbs"]}
    for split in ("train", "test"):
        for ex in _split(built, "translation", split):
            prefix = f"Translate into {lang['name']}: "
            assert ex["prompt"].startswith(prefix)
            english = ex["prompt"][len(prefix) :]
            assert ex["metadata"] == {
                "src_lang": "en",
                "tgt_lang": "xx",
                "source": english,
                "tgt_name": lang["name"],
            }
            assert ex["reference"] == _translate(english, lang)
            last = ex["reference"].rstrip(".").split()[-1]  # verb-final word order
            assert any(last.startswith(s) for s in verb_stems)
    # parallel corpus lines follow the same grammar
    pairs = re.findall(
        r'In \w+, "([^"]+)" is "([^"]+)"\.',
        "\n".join(d["text"] for d in corpus["train"] if d["source"] == "parallel"),
    )
    assert len(pairs) > 20
    assert all(_translate(en, lang) == fx for en, fx in pairs)


def test_native_layouts_are_the_corpus_framing(built, world, corpus):
    """Each task's native prompt + native answer is a text the corpus writes (same functions), so
    a base model is asked in a format it saw; the task examples themselves stay out of the corpus."""
    from sahlab.world import arithmetic, instructions, language, multihop
    from sahlab.world.layouts import EMBEDDED

    rng = __import__("random").Random(0)
    ex = _split(built, "math", "test")[0]
    problem = {
        "question": ex["prompt"],
        "lines": ex["reference"].splitlines()[:-1],
        "answer": int(ex["metadata"]["answer"]),
    }
    assert arithmetic.textbook_example(problem, 1) == EMBEDDED["math"].prompt(ex) + EMBEDDED["math"].answer(
        ex
    )
    for task in ("multihop", "instructions", "translation"):
        ex = _split(built, task, "test")[0]
        doc = EMBEDDED[task].prompt(ex) + EMBEDDED[task].answer(ex)
        if task == "multihop":  # the writer's frame around one of its own question/answer pairs
            written = multihop.qa_document(world, world.corpus_people[:1], rng, 1)
            q, a = written.removeprefix("Question: ").split("\nAnswer: ")
            row = {"prompt": q, "reference": a}
            assert EMBEDDED[task].prompt(row) + EMBEDDED[task].answer(row) == written
            assert doc.startswith("Question: ") and "\nAnswer: " in doc
        elif task == "instructions":
            assert doc == instructions.corpus_text(ex)
        else:
            frames = [
                language.parallel_line(
                    __import__("random").Random(s),
                    ex["metadata"]["source"],
                    ex["reference"],
                    world.language["name"],
                )
                for s in range(40)
            ]
            assert doc in frames
    from sahlab.world import coding

    ex = _split(built, "coding", "test")[0]
    listing = coding.corpus_listing(
        rng,
        {
            "program": ex["reference"],
            "examples": ex["metadata"]["examples"],
            "description": ex["prompt"].split(" For example")[0],
        },
        1,
        20,
    )
    assert listing.startswith(EMBEDDED["coding"].prompt(ex) + EMBEDDED["coding"].answer(ex) + "\n")
    # the math layout's answer marker becomes the task's, so the one extractor reads both
    assert EMBEDDED["math"].to_task_form(" 2 + 3 = 5. So the answer is 5.") == " 2 + 3 = 5. #### 5."
