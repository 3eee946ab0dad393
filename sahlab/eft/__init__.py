"""Emulated fine-tuning (study C): EFT decoding policies and speculative up-scaling.

- `EFTPolicy` (policy.py): log-linear combination base + β·(ft − base) of several models, each with its
  own KV cache; a DecodingPolicy for `sahlab.eval.generate.generate`.
- `speculative_generate` (speculative.py): the small fine-tune drafts, the EFT distribution verifies.
- `RewindablePolicy` (rewind.py): ModelPolicy with multi-token `extend` and per-row `rewind`.
- experiment.py: the grid, β / λ sweeps and speculative runs, each member prompted in its own format;
  paired.py: the grid's scaling gains with paired bootstrap CIs; knowledge.py: factuality by
  likelihood (the world's knowledge items under each cell's teacher-forced distribution).
"""

from sahlab.eft.policy import EFTPolicy, check_shared_tokenizer
from sahlab.eft.rewind import RewindablePolicy
from sahlab.eft.speculative import SpeculativeResult, greedy_accept, speculative_accept, speculative_generate

__all__ = [
    "EFTPolicy",
    "RewindablePolicy",
    "SpeculativeResult",
    "check_shared_tokenizer",
    "greedy_accept",
    "speculative_accept",
    "speculative_generate",
]
