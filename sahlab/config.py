"""Cross-field checks of the workflow config that config/schema.yaml cannot express.

Called by the Snakefile right after schema validation, so a bad config fails before any job
runs with one message naming the key and the allowed values (and nothing in results/ is touched).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from sahlab.models.registry import STAGES  # model names are <scale>-<stage>
from sahlab.schema import ConfigError  # noqa: F401 (the package's config error, imported from here)


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
        return f"scale {scale!r} has no {stage} model (it gives only {scale_stages(config)[scale]})"
    return f"allowed: {available_models(config)}"


def check_cores(cores) -> None:
    """Refuse a core count snakemake would accept and then wait on forever (0, negative).
    None (e.g. --executor slurm with --jobs) is fine."""
    if cores is not None and (isinstance(cores, bool) or not isinstance(cores, int) or cores < 1):
        raise ConfigError(
            f"--cores {cores}: give a positive number of cores (or --cores all); "
            "with fewer than 1 core no job can ever start"
        )


def schema_error(exc: BaseException) -> str:
    """One line for a JSON-schema failure: the key path and the problem (snakemake's own
    message ends with the whole schema, hundreds of lines)."""
    # snakemake raises its WorkflowError inside `except ValidationError`: the context holds it.
    err = next(
        (
            e
            for e in (exc, exc.__cause__, exc.__context__, *getattr(exc, "args", ()))
            if hasattr(e, "absolute_path")
        ),
        None,
    )
    if err is None:
        return str(exc)
    from sahlab.schema import describe

    return describe(err)


def split_sizes(config: dict, split: str) -> dict[str, int | None]:
    """Rows of each task's `split`: embedded tasks from the world config, hub tasks from their
    `limit` (None = unknown until the data is fetched; the job then checks)."""
    from sahlab.world.build import validate_world_config

    world = validate_world_config(config.get("world") or {})
    sizes: dict[str, int | None] = {}
    for task, spec in config["tasks"].items():
        if spec.get("source", "embedded") == "embedded":
            sizes[task] = int(world["tasks"][task][split])
        else:
            sizes[task] = (spec.get(split) or {}).get("limit")
    return sizes


# Sizes that are caps by design: "the first n rows of each task", a smaller split is used whole
# (the default world's multihop split is 300 train / 160 test). The numbers used are recorded:
# `n` of every metric, n_examples in the post-training log. Every other size is an error.
CAPPED_SIZES = {
    "posttrain.n_per_task": "train",
    "evaluation.n_test": "test",
    "complexity.n_test": "test",
    "scaling.n_test": "test",
}


def size_caps(config: dict) -> list[str]:
    """A note per task whose split is smaller than a capped size (printed at workflow start)."""
    notes = []
    for key, split in CAPPED_SIZES.items():
        section, name = key.split(".")
        n = (config.get(section) or {}).get(name)
        if n is None:
            continue
        for task, size in split_sizes(config, split).items():
            if size is not None and size < n:
                notes.append(f"{key} = {n}: task {task!r} has {size} {split} rows and uses all {size}")
    return notes


def local_data_files(task_spec: dict) -> list[str]:
    """The local files (or folders) a hub-source task reads (`train.path`, `test.path`): inputs
    of its task_data job, so editing one re-builds the split and what depends on it."""
    out = []
    for split in ("train", "test"):
        path = (task_spec.get(split) or {}).get("path") if task_spec.get("source") == "hub" else None
        out += [str(p) for p in (path if isinstance(path, list) else [path] if path else [])]
    return out


def check_config(config: dict) -> None:
    _check_tasks(config)
    _check_world(config)
    _check_scales(config)
    _check_posttrain(config)
    _check_sizes(config)
    _check_parallel(config)


def _check_parallel(config):
    """`parallel.<rule>` blocks (multi-process launch, sahlab.parallel): known rules, valid keys."""
    from sahlab.parallel import check_config as check_parallel

    try:
        check_parallel(config)
    except ValueError as e:
        _fail("parallel", str(e))


def _check_sizes(config):
    """Every size that draws from a split fits it (where the size is known before any job)."""
    sizes = {split: split_sizes(config, split) for split in ("train", "test")}
    for split, per_task in sizes.items():
        for task, size in per_task.items():
            if size == 0:
                _fail(
                    f"world.tasks.{task}.{split}"
                    if config["tasks"][task].get("source", "embedded") == "embedded"
                    else f"tasks.{task}.{split}.limit",
                    f"the {split} split of task {task!r} would be empty",
                )

    # scaling.n_test, complexity.n_test and eft.n_test are caps (CAPPED_SIZES): no check here
    nk = (config.get("scaling") or {}).get("newknowledge")
    if nk and nk.get("n_test"):
        from sahlab.world.build import validate_world_config

        avail = validate_world_config(config.get("world") or {})["newknowledge"]["test"]
        if nk["n_test"] > avail:
            _fail(
                "scaling.newknowledge.n_test",
                f"{nk['n_test']} is larger than the new-knowledge "
                f"test set ({avail} questions, world.newknowledge.test); use at most {avail}",
            )
    if nk and nk.get("n_qa_new"):  # the paper's arm: both parts of the new people non-empty
        from sahlab.world.build import validate_world_config
        from sahlab.world.multihop import RELATIONS, relations_of

        n_new = validate_world_config(config.get("world") or {})["entities"]["n_new_people"]
        k = round(n_new * nk.get("qa_people_fraction", 0.5))
        if not 0 < k < n_new:
            _fail(
                "scaling.newknowledge.qa_people_fraction",
                f"{nk.get('qa_people_fraction', 0.5)} of "
                f"{n_new} new people (world.entities.n_new_people) leaves {k} with QA and "
                f"{n_new - k} held out; both need at least one",
            )
        supply = k * sum(len(RELATIONS[r][4]) for r in relations_of("direct"))
        if nk["n_qa_new"] > supply:
            _fail(
                "scaling.newknowledge.n_qa_new",
                f"{nk['n_qa_new']} direct questions about {k} "
                f"QA-train new people, but only {supply} distinct ones exist; use at most {supply}",
            )


def _check_tasks(config):
    from sahlab.world.config import TASKS as EMBEDDED_TASKS  # the tasks the synthetic world builds

    for task, spec in config["tasks"].items():
        if spec.get("source", "embedded") == "embedded" and task not in EMBEDDED_TASKS:
            _fail(
                f"tasks.{task}",
                f"unknown embedded task; allowed: {list(EMBEDDED_TASKS)} (or give a hub source)",
            )
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
            _fail(
                f"scales.{scale}",
                "give 'build' (pipeline-built), 'base: {hub: ...}' or, for a "
                "scale with only a post-trained model, 'post: {hub: ...}'",
            )
        if "build" in entry and "hub" in (entry.get("base") or {}):
            # Two rules (pretrain, fetch_model) would both make <scale>-base.
            _fail(
                f"scales.{scale}",
                "has both 'build' and 'base.hub'; keep one (a preset such as "
                "config/paper.yaml replaces the default scales: run it with --configfile "
                "config/paper.yaml --replace-workflow-config)",
            )
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
        _fail(
            "posttrain.stages",
            "some scale has no hub 'post' model, so at least one post-training stage is needed",
        )
    from sahlab.train.common import resolve_hparams

    for i, st in enumerate(stages):  # method: the schema's enum
        try:  # the trainers' own resolver: a bad value fails now, not after pre-training
            resolve_hparams(st["method"], st.get("hparams"))
        except ValueError as e:
            _fail(f"posttrain.stages[{i}].hparams", str(e))
    if any((st.get("hparams") or {}).get("reward") == "reward_model" for st in stages):
        try:  # the reward model is trained only for such a stage, from posttrain.reward_model
            resolve_hparams("reward", config["posttrain"].get("reward_model"))
        except ValueError as e:
            _fail("posttrain.reward_model", str(e))


# ------------------------------------------------------------------------------ config files
def check_config_file(path: str) -> dict:
    """Read one --configfile: a missing file, a YAML error (a tab in the indentation above all)
    or a top level that is not a mapping gives one line naming the file and line."""
    import yaml

    p = Path(path)
    if not p.is_file():
        presets = sorted(str(x) for x in Path("config").glob("*.yaml") if x.name != "schema.yaml")
        hint = f"; the presets are {presets}" if presets else ""
        raise ConfigError(f"--configfile {path}: no such file{hint}")
    text = p.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        tabs = [i for i, line in enumerate(text.splitlines(), 1) if re.match(r"^ *\t", line)]
        if tabs:
            raise ConfigError(
                f"{path}, line {tabs[0]}: a tab in the indentation; YAML indents with spaces only"
            ) from None
        mark = getattr(e, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: not valid YAML ({getattr(e, 'problem', None) or e})") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping of config keys, got {type(data).__name__}"
        )
    return data or {}


def configfiles_in(argv: list[str]) -> list[str]:
    """The files given to snakemake's --configfile/--configfiles (both take one or more)."""
    files, taking = [], False
    for arg in argv:
        if arg.startswith("-"):
            key, eq, value = arg.partition("=")
            taking = key in ("--configfile", "--configfiles")
            if taking and eq:
                files.append(value)
        elif taking:
            files.append(arg)
    return files


def main(argv: list[str]) -> int:
    """`python -m sahlab.config <snakemake args>`: check the --configfile files (run.sh calls it;
    snakemake reads them before the Snakefile, with a traceback or no line number)."""
    try:
        for f in configfiles_in(argv):
            check_config_file(f)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
