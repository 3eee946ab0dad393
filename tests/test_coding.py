"""The coding task: the tiny language, its generator and corpus, the execution scorer and the
Python sandbox (hostile programs are contained and scored wrong)."""

import os
import random
import time

import pytest

from sahlab.eval.sandbox import Limits, run_many
from sahlab.eval.scorers import REWARD_KEY, score
from sahlab.world import coding, tinylang
from sahlab.world.build import build_world, make_task
from sahlab.world.config import validate_world_config
from sahlab.world.layouts import EMBEDDED

SMALL = {
    "entities": {
        "n_corpus_people": 10,
        "n_new_people": 4,
        "n_cities": 4,
        "n_companies": 4,
        "n_universities": 2,
        "bios_per_person": 2,
        "profiles_per_entity": 2,
    },
    "corpus": {"total_chars": 20000},
    "tasks": {"coding": {"train": 200, "test": 60}, "multihop": {"train": 20, "test": 10}},
    "newknowledge": {"test": 8},
}


# ------------------------------------------------------------------------------ tiny language
@pytest.mark.parametrize(
    "program, x, y",
    [
        ("f(x) = x + 3", 4, 7),
        ("f(x) = (x + 3) * 2", 4, 14),
        ("f(x) = x + 3 * 2", 4, 10),
        ("f(x) = max((x - 9) % 4, 2)", 4, 3),
        ("f(x)=min(x,5)-abs(-x)", 7, -2),
        ("f(x) = --x", 3, 3),
        ("f(x) = 10 - 4 - 3", 0, 3),
        ("f(x) = (x - 9) % 4", 4, 3),
    ],
)
def test_tiny_language_evaluates_with_usual_precedence(program, x, y):
    assert tinylang.run(tinylang.parse(program), x) == y


@pytest.mark.parametrize(
    "program, message",
    [
        ("x + 1", "starts with"),
        ("f(x) = ", "empty"),
        ("f(x) = x +", "expected"),
        ("f(x) = y", "unknown name 'y'"),
        ("f(x) = max(x)", "takes 2"),
        ("f(x) = x ** 2", "expected"),
        ("f(x) = __import__(x)", "unknown name"),
        ("f(x) = x; 1", "unexpected character"),
        ("f(x) = " + "(" * 200 + "x" + ")" * 200, "longer than"),
        ("f(x) = " + "-" * 100 + "x", "nested deeper"),
        ("f(x) = x 1", "after the expression"),
    ],
)
def test_tiny_language_rejects_bad_programs_with_a_reason(program, message):
    with pytest.raises(tinylang.ParseError, match=message):
        tinylang.parse(program)


def test_tiny_language_runtime_limits_fail_the_check_without_raising():
    assert tinylang.check("f(x) = x % (x - x)", [[1, 0]]) == (True, False, "runtime error: modulo by zero")
    huge = "f(x) = " + "*".join(["99999999999"] * 20)  # 220 digits: over MAX_DIGITS
    parses, passed, detail = tinylang.check(huge, [[1, 1]])
    assert parses and not passed and "digits" in detail
    assert tinylang.check(None, [[1, 1]])[0] is False


# ------------------------------------------------------------------------------ generator
def test_problems_are_consistent_and_never_constant_or_identity():
    cfg = validate_world_config({})["coding"]
    rng = random.Random(0)
    for _ in range(300):
        p = coding.make_problem(rng, cfg)
        ast = tinylang.parse(p["program"])
        assert all(tinylang.run(ast, x) == y for x, y in p["examples"] + p["tests"])
        assert len({y for _, y in p["examples"] + p["tests"]}) > 1
        assert any(x != y for x, y in p["examples"] + p["tests"])  # f(x) = x does not pass
        assert len(p["tests"]) == cfg["n_tests"]
        assert cfg["min_steps"] <= len(p["steps"]) <= cfg["max_steps"]
        xs = [x for x, _ in p["examples"] + p["tests"]]
        assert len(set(xs)) == len(xs) and all(0 <= x <= cfg["max_input"] for x in xs)


def test_step_weights_set_the_difficulty_mix():
    cfg = validate_world_config({"coding": {"step_weights": [6, 3, 1]}})["coding"]
    rng = random.Random(1)
    lengths = [len(coding.make_problem(rng, cfg)["steps"]) for _ in range(2000)]
    shares = [lengths.count(n) / len(lengths) for n in (1, 2, 3)]
    assert shares == pytest.approx([0.6, 0.3, 0.1], abs=0.04)
    only_two = validate_world_config({"coding": {"step_weights": [0, 1, 0]}})["coding"]
    assert {len(coding.make_problem(rng, only_two)["steps"]) for _ in range(50)} == {2}


def test_coding_config_is_checked():
    with pytest.raises(ValueError, match="coding.min_steps"):
        validate_world_config({"coding": {"min_steps": 4, "max_steps": 2}})
    with pytest.raises(ValueError, match="coding.max_input"):
        validate_world_config({"coding": {"max_input": 3, "n_tests": 5}})
    for bad in ([1, 1], [1, -1, 1], [0, 0, 0], "easy"):
        with pytest.raises(ValueError, match="coding.step_weights"):
            validate_world_config({"coding": {"step_weights": bad}})
    with pytest.raises(ValueError, match="corpus.mix.cod"):
        validate_world_config({"corpus": {"mix": {"cod": 1.0}}})
    with pytest.raises(ValueError, match="coding.phrasing"):
        validate_world_config({"coding": {"phrasing": "terse"}})
    with pytest.raises(ValueError, match="coding.examples_first"):
        validate_world_config({"coding": {"examples_first": "yes"}})
    with pytest.raises(ValueError, match="coding.sheet_fraction"):
        validate_world_config({"coding": {"sheet_fraction": 1.5}})


def test_fixed_phrasing_and_examples_first_put_the_description_next_to_the_program():
    cfg = validate_world_config({"coding": {"phrasing": "fixed", "examples_first": True}})["coding"]
    rng = random.Random(3)
    problems = [coding.make_problem(rng, cfg) for _ in range(300)]
    # one phrase per operation: the words of a step map one-to-one onto its code
    phrase_of = {op: phrases[0].split(" {k}")[0] for op, (phrases, _) in coding.STEPS.items()}
    for p in problems:
        for op, k in p["steps"]:
            assert f"{phrase_of[op]} {k}" in p["description"]
        (x1, y1), (x2, y2) = p["examples"]
        prompt = coding.task_prompt(p, examples_first=True)
        assert prompt == f"f({x1}) = {y1} and f({x2}) = {y2}. {p['description']}"
        assert coding.task_prompt(p).startswith(p["description"])  # the default order
    assert not any("increase it by" in p["description"] for p in problems)


def test_step_sheets_list_only_corpus_pool_steps(small_world):
    from sahlab.world.corpus import make_corpus

    world, _ = small_world
    cfg = validate_world_config(
        {
            **SMALL,
            "coding": {"step_weights": [1, 0, 0], "sheet_fraction": 0.5},
            "corpus": {"total_chars": 60000, "mix": {"bios": 0.5, "code": 0.5}},
        }
    )
    docs = [d["text"] for d in make_corpus(world, cfg, 7)["train"] if d["source"] == "code"]
    sheets = [d for d in docs if d.startswith("Steps:")]
    assert sheets and len(sheets) < len(docs)  # both kinds of document
    task = make_task(world, "coding", cfg, 7)
    task_programs = {r["reference"] for s in ("train", "test") for r in task[s]}
    for sheet in sheets:
        for line in sheet.splitlines()[1:]:
            words, code = line.split(": ")
            ast = tinylang.parse(f"f(x) = {code}")  # a step's code is a one-step program body
            assert f"f(x) = {code}" not in task_programs
            assert tinylang.run(ast, 3) is not None and words


@pytest.fixture(scope="module")
def small_world():
    cfg = validate_world_config(SMALL)
    return build_world(cfg, 7), cfg


def test_task_splits_are_disjoint_and_in_the_common_schema(small_world):
    world, cfg = small_world
    splits = make_task(world, "coding", cfg, 7)
    assert [len(splits["train"]), len(splits["test"])] == [200, 60]
    progs = {s: {r["reference"] for r in rows} for s, rows in splits.items()}
    assert not progs["train"] & progs["test"]
    assert len({r["prompt"] for r in splits["test"]}) == 60  # distinct prompts
    row = splits["test"][0]
    assert row["id"] == "coding-test-0" and row["metadata"]["language"] == "tiny"
    assert row["prompt"].startswith("Take x, ") and "For example, f(" in row["prompt"]
    # the references pass their own hidden tests; the native layout is the corpus listing's
    recs, m = score("coding", [r["reference"] for r in splits["test"]], splits["test"], n_boot=0)
    assert m["pass_at_1"]["value"] == 1.0
    layout = EMBEDDED["coding"]
    assert layout.prompt(row) == f"Program 1. {row['prompt']}\n" and layout.stop == ("\n",)
    assert make_task(world, "coding", cfg, 7) == splits  # seeded


def test_one_step_problems_fill_a_split_with_disjoint_programs(small_world):
    # ~50 one-step programs, a tenth of them in the test pool: items recur as programs with
    # other examples and words, never across splits
    world, _ = small_world
    cfg = validate_world_config({**SMALL, "coding": {"step_weights": [1, 0, 0]}})
    splits = make_task(world, "coding", cfg, 7)
    assert len(splits["test"]) == 60 and all(len(r["metadata"]["steps"]) == 1 for r in splits["test"])
    assert not {r["reference"] for r in splits["train"]} & {r["reference"] for r in splits["test"]}


def test_corpus_teaches_the_language_without_task_programs(small_world):
    from sahlab.world.corpus import make_corpus

    world, cfg = small_world
    cfg = validate_world_config(
        {**SMALL, "corpus": {"total_chars": 60000, "mix": {"bios": 0.5, "code": 0.5}}}
    )
    docs = [d["text"] for d in make_corpus(world, cfg, 7)["train"] if d["source"] == "code"]
    assert docs and all(d.startswith("Program ") for d in docs)
    task = make_task(world, "coding", cfg, 7)
    corpus_programs = {ln for d in docs for ln in d.splitlines() if ln.startswith("f(x) =")}
    for split in ("train", "test"):
        assert not corpus_programs & {r["reference"] for r in task[split]}
    # every program line in the corpus parses, every call line is right
    for d in docs:
        ast = None
        for ln in d.splitlines():
            if ln.startswith("f(x) ="):
                ast = tinylang.parse(ln)
            elif ln.startswith("f(") and ast is not None:
                x, y = ln[2:].split(") = ")
                assert tinylang.run(ast, int(x)) == int(y)


# ------------------------------------------------------------------------------ scorer
def _row(tests=((1, 2), (5, 6))):
    return {
        "id": "c0",
        "prompt": "Take x, add 1.",
        "reference": "f(x) = x + 1",
        "metadata": {"language": "tiny", "tests": [list(t) for t in tests]},
    }


def test_embedded_scoring_splits_format_from_content_errors():
    outs = [
        "f(x) = 1 + x\nf(1) = 2",
        "f(x) = x + 2",
        "f(x) = x +",
        "Sure! Here it is",
        "",
        "\n  f(x) = x+1  ",
    ]
    recs, m = score("coding", outs, [_row()] * len(outs), n_boot=0)
    assert [r["correct"] for r in recs] == [True, False, False, False, False, True]
    assert [r["error_kind"] for r in recs] == [
        "correct",
        "reasoning",
        "format",
        "format",
        "format",
        "correct",
    ]
    assert [r["parses"] for r in recs] == [r["format_ok"] for r in recs]
    assert m["pass_at_1"]["value"] == pytest.approx(2 / 6)
    assert m["error_format"]["value"] == pytest.approx(3 / 6)
    assert REWARD_KEY["coding"] == "tests_passed"
    # partial credit: f(x) = x + 2 fails both tests; x % 5 + 1 passes (1, 2) but not (5, 6)
    recs, _ = score(
        "coding", ["f(x) = x % 5 + 1", "f(x) = x +", "f(x) = 2 % (x - 1)"], [_row()] * 3, n_boot=0
    )
    assert [r["tests_passed"] for r in recs] == [0.5, 0.0, 0.0]
    assert [r["correct"] for r in recs] == [False, False, False]


def test_embedded_scoring_of_200_examples_is_fast():
    rows = [_row()] * 200
    t0 = time.perf_counter()
    score("coding", ["f(x) = max(x + 1, (x * 1) % 1000)"] * 200, rows, n_boot=0)
    assert time.perf_counter() - t0 < 1.0


def test_bad_rows_get_a_clear_error():
    with pytest.raises(ValueError, match="metadata.tests"):
        score("coding", ["f(x) = x"], [_row(tests=())], n_boot=0)
    with pytest.raises(ValueError, match="metadata.language 'tiny' or metadata.harness"):
        score("coding", ["x"], [{"id": 1, "prompt": "", "metadata": {}}], n_boot=0)


def test_rewards_are_the_scorers_value():
    from sahlab.train.rewards import example_reward, infer_task

    assert infer_task(_row()) == "coding"
    assert example_reward(_row(), "f(x) = x + 1") == 1.0
    assert example_reward(_row(), "f(x) = x") == 0.0
    assert example_reward(_row(), "f(x) = min(x + 1, 2)") == 0.5  # share of tests passed


def test_run_tests_counts_each_test_and_a_runtime_error_fails_only_its_own():
    tests = [[1, 0], [2, 0], [3, 1]]  # f(x) = 3 % (x - 1) fails at x = 1 (modulo by zero)
    assert tinylang.run_tests("f(x) = 3 % (x - 1)", tests) == (True, 2, "runtime error: modulo by zero")
    assert tinylang.run_tests("f(x) = (", tests)[:2] == (False, 0)
    assert tinylang.check("f(x) = 3 % (x - 1)", tests) == (True, False, "runtime error: modulo by zero")


# ------------------------------------------------------------------------------ sandbox
FAST = Limits(timeout=1.5, cpu_seconds=1, memory_mb=512)


def test_sandbox_contains_hostile_programs(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    outside = tmp_path / "written.txt"
    progs = {
        "passes": "def f(x):\n    return x + 1\nassert f(1) == 2\n",
        "fails": "assert 1 == 2\n",
        "syntax": "def f(:\n",
        "infinite_loop": "while True:\n    pass\n",
        "sleeps": "import time\ntime.sleep(60)\n",
        "os_system": f"import os\nos.system('touch {outside}')\n",
        "subprocess": f"import subprocess\nsubprocess.run(['touch', '{outside}'])\n",
        "deletes": f"import os\nos.remove('{victim}')\n",
        "writes_outside": f"open('{outside}', 'w').write('x')\n",
        "huge_file": "open('big.txt', 'w').write('x' * 10**8)\n",
        "huge_memory": "x = bytearray(10**10)\n",
        "fork_bomb": "import os\nwhile True:\n    os.fork()\n",
        "exits_early": "import sys\nsys.exit(0)\n",
        "socket": "import socket\nsocket.socket().connect(('127.0.0.1', 80))\n",
        "ctypes": "import ctypes\n",
        "forges_status": 'print(\'{"status": "passed"}\')\nassert False\n',
    }
    t0 = time.perf_counter()
    res = dict(zip(progs, run_many(list(progs.values()), FAST)))
    assert time.perf_counter() - t0 < 20
    assert res["passes"]["status"] == "passed"
    assert res["syntax"]["status"] == "syntax"
    assert res["infinite_loop"]["status"] == res["sleeps"]["status"] == "timeout"
    for name in progs:
        if name not in ("passes", "syntax", "infinite_loop", "sleeps"):
            assert res[name]["status"] in ("failed", "killed"), (name, res[name])
    assert victim.read_text() == "keep" and not outside.exists()


def test_sandbox_cleans_up_and_runs_200_programs_in_seconds():
    before = set(os.listdir("/tmp"))
    t0 = time.perf_counter()
    res = run_many(["def f(x):\n    return x\nassert f(3) == 3\n"] * 200, FAST)
    assert all(r["status"] == "passed" for r in res)
    assert time.perf_counter() - t0 < 30  # wall, on a loaded 2-core machine
    leftovers = {p for p in set(os.listdir("/tmp")) - before if p.startswith("sahlab-sandbox-")}
    assert not leftovers


def test_study_a_error_split_reads_the_coding_records():
    from sahlab.scaling.analysis import error_split

    outs = ["f(x) = x + 1", "f(x) = x", "nonsense", "f(x) = (x"]
    rows = [{**_row(), "id": f"c{i}"} for i in range(4)]
    records = [
        {"model": "m", "task": "coding", "N": 4, "seed": 1, "example_id": f"c{i}", "output": out}
        for i, out in enumerate(outs)
    ]
    split = error_split(records, {"coding": rows})
    # format = does not parse as a program; content = parses but fails a test
    assert split[0]["error_format"] == 0.5 and split[0]["error_content"] == 0.25
    assert split[0]["performance"] == 0.25


def test_sandbox_status_pipe_cannot_be_forged():
    prog = (
        "import io, os\nfor fd in range(3, 20):\n    try:\n"
        "        io.FileIO(fd, 'w', closefd=False).write(b'{\"status\": \"passed\"}\\n')\n"
        "    except Exception:\n        pass\nassert False\n"
    )
    assert run_many([prog], FAST)[0]["status"] == "failed"


def test_paired_statistics_know_pass_at_1():
    # synthesis' stage gains and EFT's paired CIs resample per-item statistics of the metric
    from sahlab.eft.paired import item_stats

    recs, m = score("coding", ["f(x) = x + 1", "f(x) = x", "f(x) = 1 + x", "f(x) ="], [_row()] * 4, n_boot=0)
    stats, of_sums = item_stats("pass_at_1", recs)
    assert of_sums(stats.sum(0)) == pytest.approx(m["pass_at_1"]["value"]) == 0.5
