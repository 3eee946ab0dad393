"""Cross-field checks of the workflow config that config/schema.yaml cannot express.

Called by the Snakefile right after schema validation, so a bad config fails before any job
runs with one message naming the key and the allowed values (and nothing in results/ is touched).
"""
from __future__ import annotations

EMBEDDED_TASKS = ("math", "translation", "instructions", "multihop")
POST_METHODS = ("sft", "grpo", "rloo", "dpo", "reward")
STAGES = ("random", "base", "post")


class ConfigError(ValueError):
    """A config value that cannot work; the message names the key."""


def _fail(key: str, problem: str) -> None:
    raise ConfigError(f"config key '{key}': {problem}")


def model_names(config: dict) -> dict[str, list[str]]:
    """Which rule makes each model: scales built by the pipeline, models fetched from the hub,
    and scales whose post-trained model comes from the configured post-training stages."""
    built, hub, built_post = [], [], []
    for scale, entry in config["scales"].items():
        if "build" in entry:
            built.append(scale)
        hub += [f"{scale}-{st}" for st in ("base", "post") if "hub" in (entry.get(st) or {})]
        has_base = "build" in entry or "hub" in (entry.get("base") or {})
        if has_base and "hub" not in (entry.get("post") or {}):
            built_post.append(scale)
    return {"built": built, "hub": hub, "built_post": built_post}


def scale_stages(config: dict) -> dict[str, list[str]]:
    """The stages each scale has: random, base and post for a pipeline-built scale or one with a
    base model (post from the hub or from the post-training stages); random and post for a scale
    that gives only a post-trained model (random re-initialises its architecture)."""
    out = {}
    for scale, entry in config["scales"].items():
        has_base = "build" in entry or "hub" in (entry.get("base") or {})
        post_only = not has_base and "hub" in (entry.get("post") or {})
        out[scale] = ["random", "post"] if post_only else list(STAGES)
    return out


def available_models(config: dict) -> list[str]:
    """Every model the workflow can make: <scale>-<stage> for the stages each scale has."""
    return [f"{sc}-{st}" for sc, stages in scale_stages(config).items() for st in stages]


def missing_stage_hint(config: dict, model: str) -> str:
    """Why a <scale>-<stage> name is not available, for the error of the study that names it."""
    scale, _, stage = model.rpartition("-")
    if scale in config["scales"] and stage in STAGES:
        return (f"scale {scale!r} has no {stage} model (it gives only "
                f"{scale_stages(config)[scale]})")
    return f"allowed: {available_models(config)}"


def check_config(config: dict) -> None:
    _check_tasks(config)
    _check_world(config)
    _check_scales(config)
    _check_posttrain(config)


def _check_tasks(config):
    for task, spec in config["tasks"].items():
        if spec.get("source", "embedded") == "embedded" and task not in EMBEDDED_TASKS:
            _fail(f"tasks.{task}", f"unknown embedded task; allowed: {list(EMBEDDED_TASKS)} "
                  "(or give a hub source)")
        if spec.get("source") == "hub":
            from sahlab.data.hub import validate_task_spec
            try:
                validate_task_spec(spec)
            except ValueError as e:
                _fail(f"tasks.{task}", str(e))


def _check_world(config):
    from sahlab.world.build import validate_world_config
    try:
        validate_world_config(config.get("world") or {})
    except ValueError as e:
        _fail("world", str(e))


def _check_scales(config):
    from sahlab.models.registry import validate_model_entry
    if not config["scales"]:
        _fail("scales", "at least one scale is needed")
    for scale, entry in config["scales"].items():
        if "-" in scale:
            _fail(f"scales.{scale}", "scale names may not contain '-' (models are named <scale>-<stage>)")
        if "build" in entry:
            if "pretrain" not in entry:
                _fail(f"scales.{scale}", "a built scale needs 'pretrain' hyper-parameters")
            try:
                validate_model_entry(f"{scale}", {"build": entry["build"]})
            except ValueError as e:
                _fail(f"scales.{scale}.build", str(e))
        elif not any("hub" in (entry.get(st) or {}) for st in ("base", "post")):
            _fail(f"scales.{scale}", "give 'build' (pipeline-built), 'base: {hub: ...}' or, for a "
                  "scale with only a post-trained model, 'post: {hub: ...}'")
        for stage in ("base", "post"):
            if stage in entry:
                try:
                    validate_model_entry(f"{scale}-{stage}", entry[stage])
                except ValueError as e:
                    _fail(f"scales.{scale}.{stage}", str(e))


def _check_posttrain(config):
    stages = config["posttrain"]["stages"]
    names = [s["name"] for s in stages]
    if len(set(names)) != len(names):
        _fail("posttrain.stages", f"stage names must be unique, got {names}")
    if model_names(config)["built_post"] and not stages:
        _fail("posttrain.stages", "some scale has no hub 'post' model, so at least one "
              "post-training stage is needed")
    for i, st in enumerate(stages):
        if st["method"] not in POST_METHODS:
            _fail(f"posttrain.stages[{i}].method",
                  f"{st['method']!r} is unknown; allowed: {list(POST_METHODS)}")
