"""Cross-field checks of the `inductive` config section (study D), run before any job.

Light module: no torch import, so rules/inductive.smk can call it at parse time.
"""

from __future__ import annotations

from sahlab.config import ConfigError

PAIR_SEP = "-vs-"  # = experiment.PAIR_SEP (checked in tests)
METHOD_NAMES = ("grpo", "rloo", "sft")
PROBE_NAMES = ("linear", "mlp", "finetune")
POOLINGS = ("mean", "last")


def _fail(key: str, problem: str) -> None:
    raise ConfigError(f"config key 'inductive.{key}': {problem}")


def _names(section: dict, key: str, allowed: tuple[str, ...] | list[str]) -> list[str]:
    values = section.get(key)
    if not isinstance(values, list) or not values:
        _fail(key, f"must be a non-empty list, got {values!r}")
    bad = [v for v in values if v not in allowed]
    if bad:
        _fail(key, f"unknown value(s) {bad}; allowed: {list(allowed)}")
    if len(set(values)) != len(values):
        _fail(key, f"values must be unique, got {values}")
    return values


def _posint(section: dict, key: str, minimum: int = 1) -> int:
    v = section.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        _fail(key, f"must be an integer ≥ {minimum}, got {v!r}")
    return v


def check_inductive_config(config: dict) -> None:
    """Raise ConfigError naming the key if the study-D grid cannot run (or the section is absent).

    Checks: scales exist in `scales`; (target, spurious) pairs are valid and unique (the pair
    names are parsed by `sahlab.inductive.experiment.check_pair_name`, a light import); at least 3
    pairs (a rank correlation over pairs needs them); methods and probes are known and unique;
    evidence rates lie in [0, 1], strictly increasing; ≥ 3 distinct probe seeds (the MDL average
    needs them); fine-tuning seeds distinct; sizes positive; converged_at in (0, 1]; each method's
    hyper-parameters resolve (`sahlab.train.common.resolve_hparams`, so a missing lr fails here,
    not in a job).
    """
    sec = config.get("inductive")
    if not isinstance(sec, dict):
        raise ConfigError(f"config key 'inductive': must be a mapping, got {type(sec).__name__}")
    from sahlab.config import scale_stages

    for scale in _names(sec, "scales", list(config.get("scales", {}))):
        if "base" not in scale_stages(config)[scale]:
            _fail(
                "scales",
                f"study D probes and fine-tunes <scale>-base; scale {scale!r} gives "
                f"only {scale_stages(config)[scale]}",
            )
    toy = sec.get("toy", {})
    if not isinstance(toy, dict) or set(toy) - {"vocab_size", "length", "render"}:
        _fail("toy", f"must be a mapping with keys vocab_size, length, render; got {toy!r}")
    if toy.get("render", "decimal") not in ("decimal", "words"):  # = toy_render.RENDERINGS
        _fail("toy.render", f"must be 'decimal' or 'words', got {toy.get('render')!r}")
    if "vocab_size" in toy:
        v = toy["vocab_size"]
        if isinstance(v, bool) or not isinstance(v, int) or v < 10:
            _fail("toy.vocab_size", f"must be an integer ≥ 10, got {v!r}")
    if "length" in toy:
        v = toy["length"]
        if isinstance(v, bool) or not isinstance(v, int) or v < 4:
            _fail("toy.length", f"must be an integer ≥ 4, got {v!r}")
    pairs = sec.get("pairs")
    if not isinstance(pairs, list) or not pairs:
        _fail("pairs", f"must be a non-empty list of '<target>{PAIR_SEP}<spurious>' names, got {pairs!r}")
    from sahlab.inductive.experiment import check_pair_name

    for pair in pairs:
        try:
            check_pair_name(pair, toy)
        except ValueError as e:
            _fail("pairs", str(e))
    if len(set(pairs)) != len(pairs):
        _fail("pairs", f"values must be unique, got {pairs}")
    if len(pairs) < 3:
        _fail(
            "pairs",
            "needs at least 3 (target, spurious) pairs: the correlation between "
            "extractability and use is taken across pairs",
        )
    methods = _names(sec, "methods", METHOD_NAMES)
    rates = sec.get("rates")
    if not isinstance(rates, list) or not rates:
        _fail("rates", f"must be a non-empty list of evidence rates, got {rates!r}")
    for r in rates:
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not 0 <= r <= 1:
            _fail("rates", f"every rate must be a number in [0, 1], got {r!r}")
    if any(b <= a for a, b in zip(rates, rates[1:])):
        _fail("rates", f"must be strictly increasing, got {rates}")
    seeds = sec.get("seeds")
    if (
        not isinstance(seeds, list)
        or not seeds
        or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds)
        or len(set(seeds)) != len(seeds)
    ):
        _fail("seeds", f"must be a non-empty list of distinct non-negative integers, got {seeds!r}")
    n_train = _posint(sec, "n_train")
    if max(rates) > 0 and round(max(rates) * n_train) == 0:
        _fail("n_train", f"{n_train} examples give no evidence example even at the largest rate {max(rates)}")
    _posint(sec, "n_test")
    mdl = sec.get("mdl")
    if not isinstance(mdl, dict):
        _fail("mdl", f"must be a mapping, got {mdl!r}")
    n = mdl.get("n")
    if isinstance(n, bool) or not isinstance(n, int) or n < 20:
        _fail("mdl.n", f"must be an integer ≥ 20 (the online code needs several blocks), got {n!r}")
    ps = mdl.get("probe_seeds")
    if (
        not isinstance(ps, list)
        or len(set(ps)) < 3
        or len(set(ps)) != len(ps)
        or any(isinstance(s, bool) or not isinstance(s, int) for s in ps)
    ):
        _fail("mdl.probe_seeds", f"needs ≥ 3 distinct integer seeds, got {ps!r}")
    if "probes" in mdl:
        _names(mdl, "probes", PROBE_NAMES)
    if mdl.get("pooling", "mean") not in POOLINGS:
        _fail("mdl.pooling", f"must be one of {list(POOLINGS)}, got {mdl.get('pooling')!r}")
    layer = mdl.get("layer", -1)
    if isinstance(layer, bool) or not isinstance(layer, int):
        _fail("mdl.layer", f"must be an integer hidden-state index, got {layer!r}")
    for scale in sec["scales"]:  # built scales: the depth is in the config (hub ones: in the job)
        build = (config["scales"].get(scale) or {}).get("build")
        if build and not -(build["num_layers"] + 1) <= layer <= build["num_layers"]:
            _fail(
                "mdl.layer",
                f"{layer} is out of range for scale {scale!r} ({build['num_layers']} "
                f"layers: hidden states 0..{build['num_layers']}, or -1..-{build['num_layers'] + 1})",
            )
    hparams = sec.get("hparams")
    if not isinstance(hparams, dict):
        _fail("hparams", f"must map each method to its hyper-parameters, got {hparams!r}")
    from sahlab.train.common import resolve_hparams

    for m in methods:
        if m not in hparams:
            _fail(f"hparams.{m}", f"missing: method {m!r} is in inductive.methods")
        try:
            resolve_hparams(m, hparams[m])
        except ValueError as e:
            _fail(f"hparams.{m}", str(e))
    if sec.get("evidence", "spurious_only") not in ("spurious_only", "target_only", "mixed"):
        _fail("evidence", f"must be spurious_only, target_only or mixed, got {sec.get('evidence')!r}")
    conv = sec.get("converged_at", 0.95)
    if isinstance(conv, bool) or not isinstance(conv, (int, float)) or not 0 < conv <= 1:
        _fail("converged_at", f"must be a number in (0, 1], got {conv!r}")
    _posint(sec, "n_permutations")
    _posint(sec, "n_boot")
    thr = sec.get("threshold")
    if isinstance(thr, bool) or not isinstance(thr, (int, float)) or not 0 < thr < 1:
        _fail("threshold", f"must be a number in (0, 1), got {thr!r}")
