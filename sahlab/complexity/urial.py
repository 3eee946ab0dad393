"""URIAL's preamble (Lin et al. 2024, used by the task-complexity paper as a strategy): a short
system-style text that says what the assistant does and what the task asks, sent before the
in-context demonstrations. Its bits are charged with the demonstrations' (the receiver has
nothing else), so URIAL competes with plain ICL on the frontier.

The instructions are written for the synthetic world's tasks.
"""

from __future__ import annotations

# the paper's URIAL prompts (tvergara/sah, strategies/urial.py): a "# System" line, an
# "# Instruction" saying what the task asks, then demonstrations
SYSTEM = "# System\nYou are a helpful, respectful and honest assistant.\n\n# Instruction\n"
INSTRUCTIONS = {
    "math": "Solve the following math problem step by step. Show your reasoning clearly and end "
    "with the final number after ####.",
    "translation": "Translate the English sentence into the constructed language. Give the "
    "translation alone.",
    "instructions": "Write what is asked about the person and follow every constraint on its "
    "form to every detail.",
    "multihop": "Answer the question about a person of the world with the name alone.",
}


def preamble(task: str) -> str:
    """The URIAL text for `task`, ending in a blank line (the demonstrations follow); a task
    without its own instruction gets a generic one."""
    return SYSTEM + INSTRUCTIONS.get(task, "Answer the question exactly as asked.") + "\n\n"
