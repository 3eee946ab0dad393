"""config/schema.yaml from Python: the one place types, ranges and defaults of config keys live.

The Snakefile validates the whole config with snakemake's `validate` (which fills the schema's
defaults). Library code that is also called with a partial config (tests, notebooks, one
section) reads the same defaults and errors here: `section_defaults("complexity")`,
`validate_section("world", cfg)`. The default filling copies snakemake 9's rule (a property's
`default` is set when the key is absent, then the validator descends into it, so an object
with `default: {}` gets its own properties' defaults too).
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml

# config/schema.yaml, reached through the package's symlink sahlab/schema.yaml so that a wheel
# (`pip install .`, which copies the file) carries it too.
SCHEMA_PATH = Path(__file__).with_name("schema.yaml")


class ConfigError(ValueError):
    """A config value that cannot work; the message names the key (re-exported by sahlab.config)."""


class SchemaError(ConfigError):
    """A value the schema rejects; the message names the key path."""


@functools.cache
def _schema() -> dict:
    if not SCHEMA_PATH.is_file():
        raise FileNotFoundError(f"config schema not found at {SCHEMA_PATH} (a link to config/schema.yaml)")
    # libyaml's safe loader where PyYAML has it: 8x faster, and every job that imports a config
    # module parses the schema once
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(SCHEMA_PATH.read_text(encoding="utf-8"), Loader=loader)


def load_schema() -> dict:
    """A fresh copy of the parsed schema."""
    return copy.deepcopy(_schema())


def subschema(section: str) -> dict:
    """The schema of a dotted key path (`"complexity"`, `"parallel.*"`: a block of the
    `parallel` mapping, `"$defs.blora"`); `$defs` references stay resolvable through the root."""
    node = _schema()
    parts = section.split(".") if section else []
    if parts[:1] == ["$defs"]:  # a shared definition, e.g. "$defs.blora"
        node, parts = node["$defs"], parts[1:]
        node, parts = node[parts[0]], parts[1:]
    for part in parts:
        try:  # "*": the schema of every value of a mapping (additionalProperties)
            node = node["additionalProperties"] if part == "*" else node["properties"][part]
        except KeyError:
            raise KeyError(f"config/schema.yaml has no key {section!r}") from None
    return node


@functools.cache
def _validator(section: str):
    """A validator of `section` that fills defaults (built once per section: it holds no state)."""
    from jsonschema import Draft202012Validator, validators

    root = load_schema()
    # the section as its own schema, with the root's $defs so "#/$defs/..." still resolves
    sub = {**copy.deepcopy(subschema(section)), "$defs": root.get("$defs", {})}
    props = Draft202012Validator.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):  # = snakemake.utils.validate
        if isinstance(instance, dict):  # (snakemake's own also tries None, and fails)
            for key, sch in properties.items():
                if "default" in sch:
                    instance.setdefault(key, copy.deepcopy(sch["default"]))
        yield from props(validator, properties, instance, schema)

    return validators.extend(Draft202012Validator, {"properties": set_defaults})(sub)


def key_path(error) -> str:
    """'a.b[0].c' of a jsonschema error's location."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")


def _split_item(path: str) -> tuple[str, str]:
    """('a.b', 'item 2: ') for 'a.b[2]': the key is the list, the item goes into the message."""
    key, bracket, rest = path.rpartition("[")
    if bracket and rest.endswith("]") and rest[:-1].isdigit():
        return key, f"item {rest[:-1]}: "
    return path, ""


def describe(error, prefix: str = "", label: str = "config key") -> str:
    """One line for a schema error: the key and the problem (an unknown key is named, with the
    allowed ones)."""
    path = key_path(error)
    problem = error.message
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        if allowed and len(unknown) == 1:
            path, problem = f"{path}.{unknown[0]}".lstrip("."), f"unknown key; allowed: {allowed}"
        elif allowed:
            problem = f"unknown key(s) {unknown}; allowed: {allowed}"
    elif error.validator in ("minItems", "maxItems"):
        bound = "at least" if error.validator == "minItems" else "at most"
        problem = (
            f"{error.instance!r} has {len(error.instance)} item(s); give {bound} {error.validator_value}"
        )
    elif error.validator == "uniqueItems":
        problem = f"values must be unique, got {error.instance!r}"
    path, item = _split_item(path)
    key = f"{prefix}.{path}" if prefix and path else prefix or path
    where = f"{label} '{key}'" if key else "config"
    return f"{where}: {item}{problem} (see config/schema.yaml)"


def validate_section(section: str, value: Any, prefix: str | None = None, label: str = "config key") -> Any:
    """`value` checked against the schema of `section` with its defaults filled (a deep copy).
    Raises SchemaError naming the bad key (`prefix`, default `section`, before its path)."""
    from jsonschema.exceptions import best_match

    out = copy.deepcopy(value)
    errors = list(_validator(section).iter_errors(out))
    if errors:
        raise SchemaError(describe(best_match(errors), section if prefix is None else prefix, label))
    return out


def section_defaults(section: str) -> dict:
    """The defaults of an object section as the schema fills them into `{}` (nested included);
    keys without a default are absent."""
    out: dict = {}
    for _ in _validator(section).iter_errors(out):  # missing required keys: ignored
        pass
    return out
