"""Issue 18: interruptions never block a rerun and bad inputs fail early, naming the culprit.

Config cases run `snakemake -n` on a copy of the workflow and assert a short error naming the
key/file, raised before any job (nothing is written to results/). Library cases call the
readers and loaders the jobs use. Run with `pytest -m reliability` (the kill-mid-checkpoint
tests of pre-training are in tests/test_pretrain.py under the same marker).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, copy_workflow, planned_jobs, run_snakemake
from sahlab.io import atomic_path, read_examples, read_jsonl, work_dir

pytestmark = pytest.mark.reliability


# --------------------------------------------------------------------- leftovers of killed jobs
def test_work_dir_removes_a_killed_runs_leftovers(tmp_path):
    out = tmp_path / "posttrain" / "sft"
    stale = tmp_path / "posttrain" / ".sft.train-work"
    (stale / "checkpoint-1").mkdir(parents=True)
    with work_dir(out, "train-work") as work:
        assert work == stale and not any(work.iterdir())  # emptied at the start
        (work / "model").mkdir()
    assert not stale.exists()  # and removed at the end


def test_atomic_path_removes_stale_temporaries(tmp_path):
    out = tmp_path / "metrics.json"
    stale = tmp_path / ".metrics.json.abc123.tmp"
    stale.mkdir()
    (stale / "metrics.json").write_text("{half")
    other = tmp_path / ".other.json.abc123.tmp"  # another output's temporary is left alone
    other.mkdir()
    with atomic_path(out) as tmp:
        tmp.write_text("{}")
    assert out.read_text() == "{}" and not stale.exists() and other.exists()


# ------------------------------------------------------------------ bad config: snakemake -n
POST = "posttrain: {stages: [{name: sft, method: %s, hparams: %s}]}"
# (case id, config overlay on config.yaml (or None), extra snakemake args, the message expected)
CONFIG_CASES = [
    ("cores_0", None, ["--cores", "0"], r"--cores 0: give a positive number of cores"),
    ("cores_negative", None, ["--cores", "-3"], r"--cores -3: give a positive number of cores"),
    ("seed_negative", "seed: -1", [], r"config key 'seed': -1 is less than the minimum of 0"),
    (
        "unknown_top_key",
        "evalution: {n_test: 5}",
        [],
        r"config key 'evalution': unknown key; allowed: \[",
    ),
    (
        "post_method",
        "posttrain: {stages: [{name: sft, method: sfx}]}",
        [],
        r"config key 'posttrain.stages\[0\].method': 'sfx' is not one of",
    ),
    (
        "post_lr_negative",
        POST % ("sft", "{lr: -1}"),
        [],
        r"config key 'posttrain.stages\[0\].hparams': hparams 'lr' must be a positive float, got -1",
    ),
    (
        "post_key_typo",
        POST % ("sft", "{lr: 1.0e-3, epochz: 2}"),
        [],
        r"posttrain.stages\[0\].hparams': hparams for 'sft': unknown key\(s\) \['epochz'\]",
    ),
    (
        "post_lora_rank_0",
        POST % ("sft", "{lr: 1.0e-3, lora: {r: 0}}"),
        [],
        r"posttrain.stages\[0\].hparams': hparams 'lora.r' must be a positive int, got 0",
    ),
    (
        "post_lora_dropout",
        POST % ("sft", "{lr: 1.0e-3, lora: {r: 4, dropout: 1.5}}"),
        [],
        r"posttrain.stages\[0\].hparams': hparams 'lora.dropout' must be in \[0, 1\)",
    ),
    (
        "post_grpo_batch",
        POST % ("grpo", "{lr: 1.0e-5, batch_size: 6, num_generations: 4}"),
        [],
        r"posttrain.stages\[0\].hparams'.*must be a multiple of num_generations \(4\)",
    ),
    (
        "post_no_lr",
        POST % ("sft", "{epochs: 1}"),
        [],
        r"posttrain.stages\[0\].hparams': hparams for 'sft': 'lr' \(learning rate\) is required",
    ),
    (
        "post_warmup",
        POST % ("sft", "{lr: 1.0e-3, warmup: 1.5}"),
        [],
        r"posttrain.stages\[0\].hparams': hparams 'warmup' must be a step count",
    ),
    (
        "reward_model_hparams",
        "posttrain: {reward_model: {lr: 1.0e-4, batchsize: 4}, stages: "
        "[{name: grpo, method: grpo, hparams: {lr: 1.0e-5, reward: reward_model}}]}",
        [],
        r"config key 'posttrain.reward_model': hparams for 'reward': unknown key\(s\) \['batchsize'\]",
    ),
    (
        "post_save_every",
        POST % ("sft", "{lr: 1.0e-3, save_every: -1}"),
        [],
        r"posttrain.stages\[0\].hparams': hparams 'save_every' must be an integer >= 0",
    ),
    (
        "post_duplicate_stage",
        "posttrain: {stages: [{name: a, method: sft, hparams: {lr: 1.0e-3}}, "
        "{name: a, method: sft, hparams: {lr: 1.0e-3}}]}",
        [],
        r"config key 'posttrain.stages': stage names must be unique",
    ),
    (
        "build_and_base_hub",
        "scales: {small: {base: {hub: org/model}}}",
        [],
        r"config key 'scales.small': has both 'build' and 'base.hub'; keep one",
    ),
    (
        "paper_without_replace",
        None,
        ["--configfile", "config/paper.yaml"],
        r"has both 'build' and 'base.hub'.*--configfile config/paper.yaml --replace-workflow-config",
    ),
    (
        "complexity_n_select",
        "complexity: {n_select: 160}",
        [],  # n_test is a cap, n_select is not
        r"config key 'complexity.n_select': task 'multihop' has a test split of 160: the selection "
        r"split \(160\) must leave examples for the evaluation split",
    ),
    (
        "newknowledge_n_test",
        "scaling: {newknowledge: {n_test: 999}}",
        [],
        r"config key 'scaling.newknowledge.n_test': 999 is larger than the new-knowledge test set "
        r"\(200 questions",
    ),
    (
        "empty_test_split",
        "world: {tasks: {math: {test: 0}}}",
        [],
        r"config key 'world.tasks.math.test': the test split of task 'math' would be empty",
    ),
    (
        "empty_train_split",
        "world: {tasks: {translation: {train: 0}}}",
        [],
        r"config key 'world.tasks.translation.train': the train split of task 'translation' would be empty",
    ),
    (
        "mdl_layer_99",
        "inductive: {mdl: {layer: 99}}",
        [],
        r"config key 'inductive.mdl.layer': 99 is out of range for scale 'small' \(\d+ layers",
    ),
    (
        "mdl_layer_negative",
        "inductive: {mdl: {layer: -9}}",
        [],
        r"config key 'inductive.mdl.layer': -9 is out of range for scale 'small'",
    ),
    (
        "scaling_N_above_split",
        "scaling: {N: [0, 1, 4, 16, 400, 1000]}",
        [],
        r"config key 'scaling.N': task 'multihop' has 300 training examples, which leaves "
        r"N = \[1, 4, 16\] of \[0, 1, 4, 16, 400, 1000\]",
    ),
    (
        "eft_mixture_n_per_task",
        "eft: {mixture: {n_per_task: 350}}",
        [],
        r"config key 'eft.mixture.n_per_task': \(350\) is larger than the training split of task "
        r"'multihop' \(300 examples\)",
    ),
    (
        "eft_n_test_above_eval",
        "eft: {n_test: 250}",
        [],
        r"config key 'eft.n_test': \(250\) exceeds evaluation.n_test \(200\)",
    ),
    (
        "complexity_n_train",
        "complexity: {n_train: 400}",
        [],
        r"config key 'complexity.n_train': needs 400 training examples but task 'multihop' has a "
        r"train split of 300",
    ),
    (
        "scale_name_dash",
        "scales: {sm-all: {build: {arch: llama, hidden_size: 64, num_layers: 2, "
        "num_heads: 4, intermediate_size: 128}, pretrain: {max_steps: 4, batch_size: 2, seq_len: 32, "
        "lr: 1.0e-3}}}",
        [],
        r"config key 'scales.sm-all': scale names may not contain '-'",
    ),
    (
        "build_heads",
        "scales: {small: {build: {num_heads: 5}}}",
        [],
        r"config key 'scales.small.build': model 'small': .*num_heads",
    ),
    (
        "unknown_embedded_task",
        "tasks: {poetry: {source: embedded}}",
        [],
        r"config key 'tasks.poetry': unknown embedded task; allowed:",
    ),
    (
        "hub_task_without_test",
        "tasks: {math: {source: hub, train: {hub: openai/gsm8k, config: main, split: train}}}",
        [],
        r"config key 'tasks.math': a hub task needs a 'test' load spec",
    ),
    (
        "world_fractions",
        "world: {multihop: {test_people_fraction: 0.6, corpus_qa_fraction: 0.5}}",
        [],
        r"config key 'world'.*must be below 1",
    ),
    (
        "scaling_unknown_model",
        "scaling: {models: [huge-base]}",
        [],
        r"config key 'scaling.models'.*huge-base",
    ),
    (
        "scaling_hparams_schedule",
        "scaling: {hparams: {lr: 1.0e-3, max_steps: 5}}",
        [],
        r"config key 'scaling.hparams': \['max_steps'\] are set per N",
    ),
    ("inductive_unknown_scale", "inductive: {scales: [huge]}", [], r"config key 'inductive.scales'.*huge"),
    (
        "inductive_hparams_no_lr",
        "inductive: {hparams: {sft: {lr: null}}}",
        [],
        r"config key 'inductive.hparams.sft': hparams 'lr' must be a positive float, got None",
    ),
    (
        "inductive_seed_negative",
        "inductive: {seeds: [-1, 0]}",
        [],
        r"config key 'inductive.seeds': item 0: -1 is less than the minimum of 0",
    ),
    (
        "probe_seed_negative",
        "inductive: {mdl: {probe_seeds: [-1, 0, 1]}}",
        [],
        r"config key 'inductive.mdl.probe_seeds': item 0: -1 is less than the minimum of 0",
    ),
    (
        "eft_hub_beside_built",
        "scales: {hubby: {base: {hub: org/model}}}\neft: {large: hubby}",
        [],
        r"config key 'eft.large': scale 'hubby' \(hub\) and eft.small 'small' \(pipeline-built\) "
        r"have different tokenizers",
    ),
    ("eft_same_scale", "eft: {large: small}", [], r"config key 'eft.large': must differ from eft.small"),
    (
        "eft_lambda_range",
        "eft: {mixture: {lambdas: [0, 2]}}",
        [],
        r"config key 'eft.mixture.lambdas': item 1: 2 is greater than the maximum of 1",
    ),
    (
        "complexity_bits",
        "complexity: {bits: [16, 3]}",
        [],
        r"config key 'complexity.bits': item 1: 3 is not one of \[16, 8, 4\]",
    ),
    (
        "eval_n_test_zero",
        "evaluation: {n_test: 0}",
        [],
        r"config key 'evaluation.n_test': 0 is less than the minimum of 1",
    ),
    (
        "vocab_too_small",
        "tokenizer: {vocab_size: 10}",
        [],
        r"config key 'tokenizer.vocab_size': 10 is less than the minimum of 300",
    ),
]


def _tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def wf(tmp_path_factory):
    """A workflow copy whose results/ holds finished-looking outputs that must stay untouched."""
    work = copy_workflow(tmp_path_factory.mktemp("reliability"))
    (work / "results" / "tables").mkdir(parents=True)
    (work / "results" / "tables" / "stages.csv").write_text("scale,stage\nsmall,base\n")
    (work / "results" / "provenance.json").write_text('{"done": true}\n')
    return work


def _dry_run(work: Path, name: str, overlay: str | None, args: list[str]):
    extra = []
    if overlay is not None:
        (work / f"{name}.yaml").write_text(overlay + "\n")
        extra = ["--configfile", f"{name}.yaml"]
    if "--cores" not in args:
        extra += ["--cores", "1"]
    return run_snakemake(work, "-n", *extra, *args, check=False, timeout=300)


@pytest.mark.workflow  # runs snakemake -n
def test_default_and_smoke_configs_plan(wf):
    """The control: without the bad value the same dry-run succeeds."""
    for args in ([], ["--configfile", "config/smoke.yaml"]):
        proc = _dry_run(wf, "ok", None, args)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert planned_jobs(proc)


@pytest.mark.workflow  # runs snakemake -n
def test_capped_sizes_are_said(wf):
    proc = _dry_run(wf, "caps", None, [])
    assert (
        "sahlab: evaluation.n_test = 200: task 'multihop' has 160 test rows and uses all 160" in proc.stderr
    )
    assert "sahlab: posttrain.n_per_task = 400: task 'multihop' has 300 train rows" in proc.stderr


@pytest.mark.workflow  # runs snakemake -n
@pytest.mark.parametrize("name,overlay,args,message", CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_bad_config_fails_before_any_job(wf, name, overlay, args, message):
    before = _tree_digest(wf / "results")
    proc = _dry_run(wf, name, overlay, args)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-2000:]
    assert re.search(message, out), out[-3000:]
    line = next(x for x in out.splitlines() if re.search(message, x))
    assert len(line) < 600  # one line, not a schema dump
    assert "Traceback (most recent call last)" not in out
    assert "Job stats:" not in out and "Select jobs to execute" not in out  # no job planned
    assert len(out.splitlines()) < 30, out
    assert _tree_digest(wf / "results") == before


# ----------------------------------------------------------- config files and CORES in run.sh
FILE_CASES = [
    (
        "tab_indent",
        "seed: 1\nevaluation:\n\tn_test: 5\n",
        r"tab.yaml, line 3: a tab in the indentation; YAML indents with spaces only",
    ),
    ("missing_file", None, r"--configfile config/smoek.yaml: no such file; the presets are \["),
    ("not_a_mapping", "- seed\n- 1\n", r"the top level must be a mapping of config keys, got list"),
    ("bad_yaml", "seed: [1, 2\n", r"bad_yaml.yaml, line \d+: not valid YAML"),
]


@pytest.mark.parametrize("name,text,message", FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_bad_configfile_is_named(tmp_path, name, text, message):
    path = "config/smoek.yaml"
    if text is not None:
        path = str(tmp_path / ("tab.yaml" if name == "tab_indent" else f"{name}.yaml"))
        Path(path).write_text(text)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, "-m", "sahlab.config", "-n", "--configfile", path],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and re.search(message, proc.stderr), proc.stderr
    assert len(proc.stderr.splitlines()) == 1


@pytest.mark.parametrize("cores", ["0", "-1", "two", "1.5"])
def test_run_sh_refuses_bad_cores(tmp_path, cores):
    # A copy of run.sh alone: it must stop before setup.sh (which is absent here).
    (tmp_path / "run.sh").write_text((REPO / "run.sh").read_text())
    proc = subprocess.run(
        ["bash", str(tmp_path / "run.sh"), "-n"],
        env=dict(os.environ, CORES=cores),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"run.sh: CORES must be a positive integer or 'all', got '{cores}'"


# ----------------------------------------------------------------------- bad data files
GOOD = {"id": "tr-1", "prompt": "Translate: the cat", "reference": "le chat", "metadata": {}}
DATA_CASES = [
    (
        "null_reference",
        [GOOD, {**GOOD, "id": "tr-2", "reference": None}],
        r"t.jsonl:2 \(id='tr-2'\): 'reference' must be a string, got null",
    ),
    (
        "missing_reference",
        [GOOD, {k: v for k, v in GOOD.items() if k != "reference"}],
        r"t.jsonl:2 \(id='tr-1'\) lacks field\(s\) \['reference'\]",
    ),
    (
        "number_reference",
        [{**GOOD, "reference": 7}],
        r"t.jsonl:1 \(id='tr-1'\): 'reference' must be a string, got int",
    ),
    (
        "null_prompt",
        [{**GOOD, "prompt": None}],
        r"t.jsonl:1 \(id='tr-1'\): 'prompt' must be a string, got null",
    ),
    (
        "metadata_not_object",
        [{**GOOD, "metadata": []}],
        r"t.jsonl:1 \(id='tr-1'\): 'metadata' must be an object",
    ),
    ("non_json_line", [GOOD, "", "{not json"], r"t.jsonl:3: not valid JSON"),
    ("non_object_line", [GOOD, [1, 2]], r"t.jsonl:2: expected a JSON object, got list"),
    ("empty_file", [], r"t.jsonl: the file holds no rows"),
]


def _write_lines(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


@pytest.mark.parametrize("name,rows,message", DATA_CASES, ids=[c[0] for c in DATA_CASES])
def test_bad_task_split_is_named(tmp_path, name, rows, message):
    with pytest.raises(ValueError, match=message):
        read_examples(_write_lines(tmp_path / "t.jsonl", rows))


@pytest.mark.parametrize(
    "rows,message",
    [
        ([{"translation": {"en": "cat", "fr": "chat"}}, "{oops"], r"wmt.jsonl:2: not valid JSON"),
        ([], r"wmt.jsonl: the file holds no rows"),
        ([{"translation": {"en": "cat", "fr": None}}], r"row 0: column 'translation' has no 'fr' text"),
    ],
    ids=["non_json_line", "empty_file", "null_target"],
)
def test_bad_local_dataset_is_named(tmp_path, rows, message):
    from sahlab.data.hub import load_hub_task

    path = _write_lines(tmp_path / "wmt.jsonl", rows)
    with pytest.raises(ValueError, match=message):
        load_hub_task({"path": str(path), "adapter": "wmt", "src_lang": "en", "tgt_lang": "fr"})


def test_read_jsonl_counts_lines_from_one(tmp_path):
    path = _write_lines(tmp_path / "t.jsonl", [GOOD, "", GOOD, "nope"])
    with pytest.raises(ValueError, match=r"t.jsonl:4: not valid JSON"):
        read_jsonl(path)


# ------------------------------------------------------------------------ bad model folders
def _model_folder(path: Path, damage: str) -> Path:
    """A folder that passes the registry's check, then `damage` done to it."""
    import torch
    from safetensors.torch import save_file

    path.mkdir()
    (path / "config.json").write_text('{"model_type": "llama"}')
    (path / "tokenizer.json").write_text("{}")
    save_file({"w": torch.zeros(64)}, str(path / "model.safetensors"))
    if damage == "no_config":
        (path / "config.json").unlink()
    elif damage == "truncated_weights":
        data = (path / "model.safetensors").read_bytes()
        (path / "model.safetensors").write_bytes(data[:-40])
    elif damage == "pickle_only":
        (path / "model.safetensors").unlink()
        (path / "pytorch_model.bin").write_bytes(b"\x80\x04")
    elif damage == "no_tokenizer":
        (path / "tokenizer.json").unlink()
    return path


MODEL_DAMAGE = [
    ("no_config", r"model folder '.*m' has no config.json"),
    ("truncated_weights", r"weights file '.*model.safetensors' is truncated or corrupt"),
    ("pickle_only", r"has only pickle weights \['pytorch_model.bin'\]: refused"),
    ("no_tokenizer", r"model folder '.*m' has no tokenizer"),
]


@pytest.mark.parametrize("damage,message", MODEL_DAMAGE, ids=[d for d, _ in MODEL_DAMAGE])
@pytest.mark.parametrize("loader", ["posttrain", "eft", "probing"])
def test_bad_model_folder_is_named_by_every_loader(tmp_path, damage, message, loader):
    folder = _model_folder(tmp_path / "m", damage)
    if loader == "posttrain":
        from sahlab.train import train

        def call():
            return train(folder, [GOOD], "sft", {"lr": 1e-3}, seed=0, out_dir=tmp_path / "out")
    elif loader == "eft":
        from sahlab.eval.policy import ModelPolicy

        call = lambda: ModelPolicy.from_pretrained(str(folder))  # noqa: E731
    else:
        from sahlab.inductive.probes import extract_features

        call = lambda: extract_features(str(folder), ["1 2 3"])  # noqa: E731
    with pytest.raises(ValueError, match=message):
        call()
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------ input tracking
@pytest.mark.workflow  # runs snakemake -n
def test_editing_a_local_data_file_reruns_its_split(tmp_path):
    """tasks.<task>.train|test.path is an input of task_data: a newer file re-plans the split."""
    work = copy_workflow(tmp_path)
    data = work / "data"
    data.mkdir()
    for split in ("train", "test"):
        _write_lines(data / f"wmt_{split}.jsonl", [{"translation": {"en": "cat", "fr": "chat"}}])
    (work / "local.yaml").write_text(
        "tasks: {translation: {source: hub, train: {path: data/wmt_train.jsonl, adapter: wmt}, "
        "test: {path: data/wmt_test.jsonl, adapter: wmt}}}\n"
    )
    target = "results/data/tasks/translation/test.jsonl"
    outs = [
        work / "results/data/world/world.json",
        work / target,
        work / "results/data/tasks/translation/train.jsonl",
    ]
    for p in outs:  # outputs newer than the data: nothing to do for task_data
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("{}\n")
    old = os.stat(data / "wmt_test.jsonl").st_mtime - 100
    for f in data.iterdir():
        os.utime(f, (old, old))
    args = [target, "-n", "--cores", "1", "--rerun-triggers", "mtime", "--configfile", "local.yaml"]
    assert "task_data" not in planned_jobs(run_snakemake(work, *args))
    os.utime(data / "wmt_test.jsonl")  # the user edits the local test file
    assert planned_jobs(run_snakemake(work, *args)).get("task_data") == 1


def test_split_shorter_than_a_size_is_named_in_the_job(tmp_path):
    """Hub splits without a `limit` are sized only in the job: the same message there."""
    from sahlab.io import first_examples

    path = _write_lines(tmp_path / "test.jsonl", [GOOD, {**GOOD, "id": "tr-2"}])
    assert len(first_examples(path, 2, "scaling.n_test")) == 2
    with pytest.raises(
        ValueError,
        match=r"config key 'scaling.n_test': 3 is larger than .*test.jsonl "
        r"\(2 rows\); use at most 2",
    ):
        first_examples(path, 3, "scaling.n_test")


# ------------------------------------------------------------- a real kill of the pretrain job
@pytest.mark.workflow
def test_pretrain_job_killed_mid_checkpoint_reruns_to_identical_weights(tmp_path):
    """SIGKILL snakemake and its pretrain job the moment checkpoint-10 appears (mid-save, or just
    after); `--unlock` and the same command again must finish with the uninterrupted weights."""
    import signal
    import time

    work = copy_workflow(tmp_path)
    target = "results/models/small-base"
    args = [target, "--cores", "1", "--configfile", "config/smoke.yaml"]
    run_snakemake(work, *args)
    weights = work / target / "model.safetensors"
    uninterrupted = hashlib.sha256(weights.read_bytes()).hexdigest()
    shutil.rmtree(work / target)

    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", PYTHONHASHSEED="0")
    proc = subprocess.Popen(
        [sys.executable, "-m", "snakemake", *args],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    ckpt = work / "results/checkpoints/pretrain/small/checkpoint-10"
    deadline = time.time() + 300
    while not ckpt.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    if (work / target).exists():
        pytest.skip("the job finished before the kill landed")
    run_snakemake(work, "--unlock", "--cores", "1", "--configfile", "config/smoke.yaml")
    run_snakemake(work, *args)
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == uninterrupted
    log = (work / "results/logs/models/small-base.log").read_text()
    assert "resuming from" in log or "removing incomplete checkpoint" in log
