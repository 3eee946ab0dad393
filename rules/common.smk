# Names, wildcard patterns and input functions shared by the rules (no rules here).
import os
import re
import sys

import sahlab
import sahlab.parallel
from sahlab.config import (
    available_models,
    check_config,
    local_data_files,
    model_names,
    scale_stages,
    size_caps,
)
from sahlab.models.registry import STAGES, source_files

# Cross-field checks the JSON schema cannot express (unknown task in a grid, N larger than a
# split, ...): fail here, before any job runs, with one message naming the key.
check_config(config)
for note in size_caps(config):  # capped sizes are said, not silent
    print(f"sahlab: {note}", file=sys.stderr)

RESULTS = "results"
# Inference placement (config device_map): read where models are loaded, in every job's process.
if config.get("device_map"):
    os.environ[sahlab.parallel.DEVICE_MAP_ENV] = config["device_map"]


def parallel_resources(rule):
    """gpu / nodes / tasks (and SLURM launch) resources that follow the rule's `parallel:` block
    (the script reads the block from the config: not a param, so a block never re-runs a job)."""
    return sahlab.parallel.resources(sahlab.parallel.rule_block(config, rule))


SCALES = list(config["scales"])
TASKS = list(config["tasks"])
MODELS = available_models(config)  # <scale>-<stage> for the stages each scale has
NAMES = model_names(config)  # built scales, hub models, scales post-trained here
POST_STAGES = [s["name"] for s in config["posttrain"]["stages"]]
ENV = {g: f"../envs/{g}.yaml" for g in ("data", "train", "eval", "figures")}


def one_of(names):
    """Wildcard regex matching exactly these names (and nothing when the list is empty)."""
    return "|".join(re.escape(n) for n in names) if names else "(?!)"


def model_dir(model):
    return f"{RESULTS}/models/{model}"


def posttrain_input(wildcards):
    """Each post-training stage starts from the previous stage's model (the first from base)."""
    i = POST_STAGES.index(wildcards.stage)
    prev = (
        f"{RESULTS}/posttrain/{wildcards.scale}/{POST_STAGES[i - 1]}"
        if i
        else model_dir(f"{wildcards.scale}-base")
    )
    inputs = {"model": prev, "train": expand(f"{RESULTS}/data/tasks/{{task}}/train.jsonl", task=TASKS)}
    if config["posttrain"]["stages"][i].get("hparams", {}).get("reward") == "reward_model":
        inputs["reward_model"] = f"{RESULTS}/posttrain/{wildcards.scale}/reward_model"
    return inputs


def dose_posttrain_input(wildcards):
    """As posttrain_input, for a dose–response arm (rules/dose.smk) of n examples per task:
    the first stage starts from the base model."""
    i = POST_STAGES.index(wildcards.stage)
    prev = (
        f"{RESULTS}/dose/{wildcards.scale}/n{wildcards.n}/{POST_STAGES[i - 1]}"
        if i
        else model_dir(f"{wildcards.scale}-base")
    )
    inputs = {"model": prev, "train": expand(f"{RESULTS}/data/tasks/{{task}}/train.jsonl", task=TASKS)}
    if config["posttrain"]["stages"][i].get("hparams", {}).get("reward") == "reward_model":
        # the main run's reward model (trained on posttrain.n_per_task examples per task)
        inputs["reward_model"] = f"{RESULTS}/posttrain/{wildcards.scale}/reward_model"
    return inputs


def figure_paths(name):
    return expand(f"{RESULTS}/figures/{name}.{{ext}}", ext=config["figures"]["format"])


# Each study's .smk file appends its final outputs (figures, tables) here.
STUDY_TARGETS = []


def all_targets():
    loss = figure_paths("pretrain_loss") if NAMES["built"] else []  # only built models have curves
    return (
        figure_paths("world")
        + figure_paths("stages")
        + loss
        + [f"{RESULTS}/tables/stages.csv", f"{RESULTS}/provenance.json"]
        + STUDY_TARGETS
    )


def random_init_input(wildcards):
    """Built scales start from the corpus tokenizer; hub scales re-initialise the base model's
    architecture (same config and tokenizer, fresh weights)."""
    if wildcards.scale in NAMES["built"]:
        return {"tokenizer": f"{RESULTS}/models/tokenizer"}
    stage = "base" if "base" in scale_stages(config)[wildcards.scale] else "post"
    return {"base": model_dir(f"{wildcards.scale}-{stage}")}  # a post-only scale: its post model


def hub_entry(model):
    scale, stage = model.rsplit("-", 1)
    return config["scales"][scale][stage]
