"""Load the workflow's rules through snakemake's Python API (for tests that inspect rule
declarations: conda envs, resources, local rules) without running anything."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True)
class RuleInfo:
    name: str
    conda_env: str | None  # the `conda:` path as written in the rule (relative to its .smk)
    resources: dict  # plain values of the rule's own resources (callables left out)
    local: bool  # listed in `localrules`
    norun: bool  # a target-only rule such as `all`
    script: str | None = None  # the `script:` path as written in the rule (relative to its .smk)


@lru_cache(maxsize=4)
def load_rules(workdir: Path) -> dict[str, RuleInfo]:
    """Every rule of the Snakefile in `workdir` (with its default config) by name (parsed once
    per test session; treat the result as read-only)."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings, StorageSettings

    cwd = os.getcwd()
    try:
        with SnakemakeApi(OutputSettings()) as api:
            wf = api.workflow(
                resource_settings=ResourceSettings(),
                config_settings=ConfigSettings(),
                storage_settings=StorageSettings(),
                snakefile=Path(workdir) / "Snakefile",
                workdir=Path(workdir),
            )
            w = wf._workflow  # the parsed workflow; the public API has no rule listing
            out = {}
            for r in w.rules:
                res = {
                    k: v.value
                    for k, v in r.resources.items()
                    if not k.startswith("_") and not v.is_evaluable()
                }
                out[r.name] = RuleInfo(
                    r.name,
                    r.conda_env and str(r.conda_env),
                    res,
                    r.name in w._localrules,
                    bool(r.norun),
                    r.script and str(r.script),
                )
            return out
    finally:
        os.chdir(cwd)
