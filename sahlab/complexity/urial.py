"""URIAL's preamble (Lin et al. 2024, used by the task-complexity paper as a strategy): a short
system-style text that says what the assistant does and what the task asks, sent before the
in-context demonstrations. Its bits are charged with the demonstrations' (the receiver has
nothing else), so URIAL competes with plain ICL on the frontier.

The tasks are the synthetic world's; a task without its own line gets the generic part alone.
"""
from __future__ import annotations

GENERIC = ("Below are queries to an assistant, each followed by the assistant's answer. "
           "The assistant answers helpfully, correctly and exactly as asked.")
TASKS = {
    "math": "Each query is a word problem about counts of things; the answer works it out step "
            "by step and ends with the final number after ####.",
    "translation": "Each query asks for an English sentence translated into a constructed "
                   "language; the answer is the translation alone.",
    "instructions": "Each query asks for a short text about a person and states constraints on "
                    "its form; the answer follows every constraint.",
    "multihop": "Each query asks a fact about a person of the world; the answer is the name "
                "alone.",
}


def preamble(task: str) -> str:
    """The URIAL text for `task`, ending in a blank line (the demonstrations follow)."""
    return " ".join(filter(None, (GENERIC, TASKS.get(task)))) + "\n\n"
