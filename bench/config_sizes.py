"""Model sizes of one scale of a sahlab config, for the benchmarks' defaults."""

from __future__ import annotations

from pathlib import Path

FALLBACK = dict(hidden=256, layers=6, heads=4, intermediate=704, vocab=2048)


def config_sizes(config: str | Path, scale: str) -> dict:
    """{hidden, layers, heads, intermediate, vocab} of `scale` in `config` (FALLBACK where unset)."""
    sizes = dict(FALLBACK)
    if Path(config).exists():
        import yaml

        cfg = yaml.safe_load(Path(config).read_text()) or {}
        b = cfg.get("scales", {}).get(scale, {}).get("build", {})
        sizes.update(
            {
                k: b[src]
                for k, src in (
                    ("hidden", "hidden_size"),
                    ("layers", "num_layers"),
                    ("heads", "num_heads"),
                    ("intermediate", "intermediate_size"),
                )
                if src in b
            }
        )
        sizes["vocab"] = cfg.get("tokenizer", {}).get("vocab_size", sizes["vocab"])
    return sizes


def fill_sizes(args) -> None:
    """Set every size argument left at None from `args.config` / `args.scale`."""
    for k, v in config_sizes(args.config, args.scale).items():
        if getattr(args, k) is None:
            setattr(args, k, v)
