"""Load a task split from the hub (or a local copy of it) into the common example schema.

A load spec is one config entry, e.g.::

    {"hub": "openai/gsm8k", "config": "main", "split": "test", "revision": None,
     "limit": None, "adapter": "gsm8k"}

or, for local data in the hub set's own column layout (tests, offline mirrors)::

    {"path": "/data/gsm8k_test.parquet", "adapter": "gsm8k"}

Both go through the same row mappers (sahlab.data.adapters). Common keys:

* ``hub`` (hub dataset id) or ``path`` (a .jsonl/.json/.parquet/.csv file, a list of them,
  or a folder: a hub-layout mirror or a ``save_to_disk`` folder) — exactly one of the two;
* ``adapter``: one of ADAPTERS (inferred from ``hub`` when omitted);
* ``config``, ``split`` (required for ``hub``; a local file's rows are one split),
  ``revision`` (a branch, tag or commit of the hub repo; pin a commit for reproducibility);
* ``limit``: keep the first N mapped examples (after any filtering);
* ``cache_dir``: the datasets cache (default: HF_DATASETS_CACHE);

plus the adapter's own options (defaults in ``ADAPTERS[name].options``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Iterator

from sahlab.data.adapters import ADAPTERS, LANGUAGES, Adapter, Context

__all__ = ["ADAPTERS", "load_hub_task", "validate_load_spec", "validate_task_spec"]

log = logging.getLogger("sahlab")

COMMON_KEYS = {
    "hub": None,
    "path": None,
    "adapter": None,
    "config": None,
    "split": None,
    "revision": None,
    "limit": None,
    "cache_dir": None,
}
_FILE_BUILDERS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}
_BOOL_OPTIONS = ("strip_calculator", "numeric_only", "with_context")


def infer_adapter(hub: str) -> str:
    """The adapter for a hub dataset id; ValueError listing the adapters when unknown."""
    key = hub.strip().lower()
    for adapter in ADAPTERS.values():
        if key in adapter.hub_names:
            return adapter.name
    raise ValueError(
        f"no adapter is known for hub dataset {hub!r}; set 'adapter' to one of "
        f"{sorted(ADAPTERS)} ({_known_hub_names()})"
    )


def _known_hub_names() -> str:
    return "; ".join(f"{a.name}: {', '.join(a.hub_names)}" for a in ADAPTERS.values())


def validate_load_spec(spec: dict) -> dict:
    """Check one load spec and return it with the adapter resolved and every default filled.

    Raises ValueError naming the key and what is allowed.
    """
    if not isinstance(spec, dict):
        raise ValueError(f"a hub data spec must be a mapping, got {type(spec).__name__}")
    if (spec.get("hub") is None) == (spec.get("path") is None):
        raise ValueError(
            "a hub data spec needs exactly one of 'hub' (a hub dataset id) or "
            f"'path' (local files); got keys {sorted(spec)}"
        )
    name = spec.get("adapter")
    if name is None:
        if spec.get("hub") is None:
            raise ValueError(f"a local 'path' needs an explicit 'adapter'; one of {sorted(ADAPTERS)}")
        name = infer_adapter(str(spec["hub"]))
    if name not in ADAPTERS:
        raise ValueError(f"unknown adapter {name!r}; known adapters: {sorted(ADAPTERS)}")
    adapter = ADAPTERS[name]
    allowed = {**COMMON_KEYS, **adapter.options}
    unknown = sorted(set(spec) - set(allowed))
    if unknown:
        raise ValueError(
            f"unknown key(s) {unknown} in the spec of adapter {name!r}; allowed: {sorted(allowed)}"
        )
    out = {**allowed, **spec, "adapter": name}
    for key in ("hub", "config", "split", "revision", "cache_dir"):
        if out[key] is not None and (not isinstance(out[key], str) or not out[key].strip()):
            raise ValueError(f"'{key}' must be a non-empty string, got {out[key]!r}")
    if out["hub"] is not None and out["split"] is None:
        raise ValueError(f"hub dataset {out['hub']!r}: 'split' is required (e.g. train, test)")
    if out["path"] is not None:
        paths = out["path"] if isinstance(out["path"], list) else [out["path"]]
        if not paths or not all(isinstance(p, (str, os.PathLike)) for p in paths):
            raise ValueError(f"'path' must be a path or a list of paths, got {out['path']!r}")
    limit = out["limit"]
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"'limit' must be a positive integer or null, got {limit!r}")
    _check_options(out, adapter)
    return out


def _check_options(spec: dict, adapter: Adapter) -> None:
    for key in _BOOL_OPTIONS:
        if key in adapter.options and not isinstance(spec[key], bool):
            raise ValueError(f"adapter {adapter.name!r}: '{key}' must be true or false, got {spec[key]!r}")
    if "exclude_ids" in adapter.options:
        ids = spec["exclude_ids"]
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ValueError(
                f"adapter {adapter.name!r}: 'exclude_ids' must be a list of IFEval "
                f"instruction ids, got {ids!r}"
            )
    if "tests" in adapter.options and spec["tests"] not in ("plus", "base"):
        raise ValueError(
            f"adapter {adapter.name!r}: 'tests' must be 'plus' (MBPP+'s test "
            f"script) or 'base' (the original test_list), got {spec['tests']!r}"
        )
    if "src_lang" in adapter.options:
        for key in ("src_lang", "tgt_lang"):
            if spec[key] not in LANGUAGES:
                raise ValueError(
                    f"adapter {adapter.name!r}: '{key}' {spec[key]!r} is not one of {sorted(LANGUAGES)}"
                )
        if spec["src_lang"] == spec["tgt_lang"]:
            raise ValueError(f"adapter {adapter.name!r}: src_lang and tgt_lang are both {spec['src_lang']!r}")
        template = spec["prompt_template"]
        try:
            if not isinstance(template, str) or "{text}" not in template:
                raise KeyError("text")
            template.format(src_name="", tgt_name="", text="")
        except (KeyError, IndexError, ValueError) as e:
            raise ValueError(
                f"adapter {adapter.name!r}: 'prompt_template' must be a string "
                "using {text} and optionally {src_name}, {tgt_name} "
                f"({e!r})"
            ) from None


def validate_task_spec(task: dict) -> dict:
    """Check a config task entry with ``source: hub``: its ``train`` and ``test`` load specs
    must both be valid and map to the same task kind (math, translation, ...)."""
    if not isinstance(task, dict):
        raise ValueError(f"a task entry must be a mapping, got {type(task).__name__}")
    out = dict(task)
    kinds = {}
    for split in ("train", "test"):
        if split not in task:
            raise ValueError(
                f"a hub task needs a '{split}' load spec (keys: hub or path, "
                "adapter, config, split, revision, limit)"
            )
        try:
            out[split] = validate_load_spec(task[split])
        except ValueError as e:
            raise ValueError(f"'{split}': {e}") from None
        kinds[split] = ADAPTERS[out[split]["adapter"]].task
    if kinds["train"] != kinds["test"]:
        raise ValueError(
            f"train adapter {out['train']['adapter']!r} is a {kinds['train']} set "
            f"but test adapter {out['test']['adapter']!r} is a {kinds['test']} set"
        )
    return out


def load_hub_task(spec: dict) -> list[dict]:
    """Load one split described by `spec` and map it to the common example schema.

    Malformed rows raise ValueError naming the dataset, row index and column; ids are unique.
    """
    spec = validate_load_spec(spec)
    adapter = ADAPTERS[spec["adapter"]]
    where = spec["hub"] or str(spec["path"])
    ctx = Context(
        dataset=where, split=spec["split"] or "train", options={k: spec[k] for k in adapter.options}
    )
    out: list[dict] = []
    seen: set[str] = set()
    for ex in adapter.convert(_rows(spec, adapter), ctx):
        if ex["id"] in seen:
            raise ValueError(f"{where}: example id {ex['id']!r} occurs twice")
        seen.add(ex["id"])
        out.append(ex)
        if spec["limit"] is not None and len(out) >= spec["limit"]:
            break
    if not out:
        raise ValueError(f"{where} ({ctx.split}): no examples after mapping with adapter {adapter.name!r}")
    log.info("%s (%s): %d examples via adapter %s", where, ctx.split, len(out), adapter.name)
    return out


def _rows(spec: dict, adapter: Adapter) -> Iterator[tuple[int, dict]]:
    """(row index, row) over every table of the split, with a progress bar for long sets."""
    from tqdm.auto import tqdm

    i = 0
    for desc, table in _tables(spec, adapter):
        for row in tqdm(table, desc=desc, total=len(table), mininterval=10, disable=len(table) < 10_000):
            yield i, row
            i += 1


def _tables(spec: dict, adapter: Adapter) -> list[tuple[str, Any]]:
    if spec["path"] is not None:
        return [(str(spec["path"]), _load_local(spec))]
    configs = [spec["config"]]
    if adapter.name == "flores_plus" and spec["config"] is None:
        # flores_plus has one config per language: load the two and pair them by sentence id.
        configs = [LANGUAGES[spec[k]][0] for k in ("src_lang", "tgt_lang")]
    return [(f"{spec['hub']}:{c}", _load_hub(spec, c)) for c in configs]


def _load_hub(spec: dict, config: str | None):
    import datasets

    what = (
        f"hub dataset {spec['hub']!r} (config={config!r}, split={spec['split']!r}, "
        f"revision={spec['revision']!r})"
    )
    try:
        return datasets.load_dataset(
            spec["hub"], config, split=spec["split"], revision=spec["revision"], cache_dir=spec["cache_dir"]
        )
    except Exception as e:  # network, auth, missing config/split: one message naming the set
        hints = []
        if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1":
            hints.append(
                "offline mode is on (HF_HUB_OFFLINE/HF_DATASETS_OFFLINE) and the set is not in the cache"
            )
        if spec["adapter"] == "flores":
            hints.append(
                "facebook/flores is script-based and does not load with datasets>=4; "
                "use openlanguagedata/flores_plus (adapter flores_plus, gated: accept its "
                "terms and log in) or wmt/wmt14 'fr-en' (adapter wmt)"
            )
        hint = f" [{'; '.join(hints)}]" if hints else ""
        raise ValueError(f"could not load {what}: {type(e).__name__}: {e}{hint}") from e


def _load_local(spec: dict):
    import datasets

    paths = [Path(p) for p in (spec["path"] if isinstance(spec["path"], list) else [spec["path"]])]
    for p in paths:
        if not p.exists():
            raise ValueError(f"local data path {str(p)!r} does not exist")
    split = spec["split"] or "train"
    folder = len(paths) == 1 and paths[0].is_dir()
    builders = {_FILE_BUILDERS.get(p.suffix.lower()) for p in paths}
    if not folder and (None in builders or len(builders) != 1):
        raise ValueError(
            f"local data files {[str(p) for p in paths]} must all be one of "
            f"{sorted(_FILE_BUILDERS)} (or give a single folder)"
        )
    if builders == {"json"} and all(p.suffix.lower() == ".jsonl" for p in paths):
        # sahlab's own reader: errors give the file and the 1-based line (datasets gives a
        # 0-based one deep in a trace, and StopIteration for an empty file).
        from sahlab.io import read_jsonl

        return [row for p in paths for row in read_jsonl(p, nonempty=True)]
    try:
        if folder:
            return _load_folder(paths[0], spec, split)
        return datasets.load_dataset(
            builders.pop(), data_files=[str(p) for p in paths], split="train", cache_dir=spec["cache_dir"]
        )
    except Exception as e:  # unreadable parquet/JSON, a missing split and the like
        raise ValueError(
            f"could not read local data {[str(p) for p in paths]}: {type(e).__name__}: {e}"
        ) from e


def _load_folder(folder: Path, spec: dict, split: str):
    import datasets

    if (folder / "dataset_dict.json").is_file() or (folder / "state.json").is_file():
        data = datasets.load_from_disk(str(folder))  # a save_to_disk folder
        if isinstance(data, datasets.DatasetDict):
            if split not in data:
                raise ValueError(f"{folder}: no split {split!r}; splits: {sorted(data)}")
            data = data[split]
        return data
    # A hub-layout mirror (e.g. a snapshot_download of the dataset repo).
    return datasets.load_dataset(str(folder), spec["config"], split=split, cache_dir=spec["cache_dir"])
