"""Cross-field checks of the `inductive` config section (study D), run before any job.

Light module: no torch import, so rules/inductive.smk can call it at parse time.
"""

from __future__ import annotations

from sahlab.config import ConfigError
from sahlab.schema import validate_section

PAIR_SEP = "-vs-"  # = experiment.PAIR_SEP (checked in tests)


def _fail(key: str, problem: str) -> None:
    raise ConfigError(f"config key 'inductive.{key}': {problem}")


def check_inductive_config(config: dict) -> None:
    """Raise ConfigError naming the key if the study-D grid cannot run (or the section is absent).

    Types and ranges (≥ 3 unique pairs, known methods and probes, rates in [0, 1], ≥ 3 distinct
    probe seeds, sizes, converged_at in (0, 1], ...) are config/schema.yaml's, checked here too
    for a direct call. Cross-field: scales exist in `scales` with a base model; pair names are
    valid for the toy vocabulary (`sahlab.inductive.experiment.check_pair_name`, a light import);
    rates strictly increasing; n_train gives evidence rows at the largest rate; `mdl.layer`
    within a built scale's depth; each method's hyper-parameters resolve
    (`sahlab.train.common.resolve_hparams`, so a missing lr fails here, not in a job).
    """
    sec = validate_section("inductive", config.get("inductive"))
    from sahlab.config import scale_stages

    for scale in sec["scales"]:
        if scale not in config.get("scales", {}):
            _fail("scales", f"unknown value(s) [{scale!r}]; allowed: {list(config.get('scales', {}))}")
        if "base" not in scale_stages(config)[scale]:
            _fail(
                "scales",
                f"study D probes and fine-tunes <scale>-base; scale {scale!r} gives "
                f"only {scale_stages(config)[scale]}",
            )
    from sahlab.inductive.experiment import check_pair_name

    for pair in sec["pairs"]:
        try:
            check_pair_name(pair, sec["toy"])
        except ValueError as e:
            _fail("pairs", str(e))
    rates = sec["rates"]
    if any(b <= a for a, b in zip(rates, rates[1:])):
        _fail("rates", f"must be strictly increasing, got {rates}")
    n_train = sec["n_train"]
    if max(rates) > 0 and round(max(rates) * n_train) == 0:
        _fail("n_train", f"{n_train} examples give no evidence example even at the largest rate {max(rates)}")
    layer = sec["mdl"]["layer"]
    for scale in sec["scales"]:  # built scales: the depth is in the config (hub ones: in the job)
        build = (config["scales"].get(scale) or {}).get("build")
        if build and not -(build["num_layers"] + 1) <= layer <= build["num_layers"]:
            _fail(
                "mdl.layer",
                f"{layer} is out of range for scale {scale!r} ({build['num_layers']} "
                f"layers: hidden states 0..{build['num_layers']}, or -1..-{build['num_layers'] + 1})",
            )
    from sahlab.train.common import resolve_hparams

    for m in sec["methods"]:
        if m not in sec["hparams"]:
            _fail(f"hparams.{m}", f"missing: method {m!r} is in inductive.methods")
        if "prompt_format" in sec["hparams"][m]:
            _fail(f"hparams.{m}.prompt_format", "not allowed here: set inductive.prompt_format")
        try:
            resolve_hparams(m, sec["hparams"][m])
        except ValueError as e:
            _fail(f"hparams.{m}", str(e))
