"""Study D: MDL probing (online code) of features and the statistics of feature use.

online_code    — block split and online code length in bits (Voita & Titov 2020)
probes         — frozen-feature extraction, linear/MLP probes, whole-model fine-tuning probe,
                 MDL over seeds and relative extractability
features_stats — per-section metrics, feature use, evidence required, correlations with
                 exact permutation p-values and bootstrap CIs, Spearman power, logistic fit
analysis       — the study's tables: per-run and per-pair summaries, pair-level correlations
experiment     — (target, spurious) pair data, MDL measurement, fine-tuning over evidence rates
toy_render     — how toy symbols are written for the model (decimal, or single-token words)
"""

from sahlab.inductive.online_code import (
    DEFAULT_FRACTIONS,
    balanced_order,
    block_boundaries,
    codelength_bits,
    online_codelength,
)
from sahlab.inductive.probes import (
    FinetuneProbe,
    LinearProbe,
    MLPProbe,
    extract_features,
    mdl_over_seeds,
    relative_extractability,
)

__all__ = [
    "DEFAULT_FRACTIONS",
    "balanced_order",
    "block_boundaries",
    "codelength_bits",
    "online_codelength",
    "FinetuneProbe",
    "LinearProbe",
    "MLPProbe",
    "extract_features",
    "mdl_over_seeds",
    "relative_extractability",
]
