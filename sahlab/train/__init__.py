"""Post-training with TRL + PEFT: SFT, reward models, GRPO/RLOO and DPO behind one `train` call,
the verifiable rewards they optimise, and model-free preference pairs for reward models and DPO.

Importing this package is light: torch, transformers and trl load inside the functions.
"""

from sahlab.train.api import train
from sahlab.train.common import METHODS
from sahlab.train.preference import make_preference_pairs

__all__ = ["METHODS", "make_preference_pairs", "train"]
