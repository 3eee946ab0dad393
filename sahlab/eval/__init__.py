"""Evaluation: batched generation and scorers (their bootstrap CIs come from `sahlab.stats.resampling`)."""
