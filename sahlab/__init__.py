"""sahlab: reproducing studies of the Superficial Alignment Hypothesis.

The library never imports Snakemake; scripts/ call it, rules/ wire the scripts.
Heavy imports (torch, transformers, trl) stay inside the functions that need them.
"""

__version__ = "0.1.0"
