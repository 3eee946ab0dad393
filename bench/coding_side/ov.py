# ruff: noqa: E402  (a side-experiment script: imports follow its argument handling)
import sys

import yaml

c = float(sys.argv[1])
extra = yaml.safe_load(sys.argv[2]) if len(sys.argv) > 2 else {}
mix = {
    "bios": 0.36,
    "entities": 0.08,
    "math": 0.26,
    "language": 0.10,
    "parallel": 0.08,
    "instructions": 0.05,
    "qa": 0.06,
    "sequences": 0.01,
}
mix = {k: round(v * (1 - c), 6) for k, v in mix.items()}
mix["code"] = round(1 - sum(mix.values()), 6)
print(yaml.safe_dump({"corpus": {"mix": mix}, "coding": extra}, default_flow_style=True).strip())
