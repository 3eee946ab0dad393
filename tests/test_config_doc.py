"""config/schema.yaml is the config reference: config/README.md is generated from it, every key
is described, its defaults are what the Python reads, and its errors name the key."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from sahlab import config_doc
from sahlab.config import ConfigError, schema_error
from sahlab.schema import SCHEMA_PATH, SchemaError, load_schema, section_defaults, validate_section

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "config/schema.yaml"  # what the Snakefile validates against


def _default_config() -> dict:
    return yaml.safe_load((REPO / "config/config.yaml").read_text())


def test_committed_readme_is_what_the_generator_writes():
    expected = config_doc.render(config_doc.TEMPLATE.read_text(encoding="utf-8"))
    assert config_doc.README.read_text(encoding="utf-8") == expected, (
        "config/README.md is out of date: run `python -m sahlab.config_doc` (edit config/schema.yaml "
        "or config/README.template.md, not the README)"
    )
    assert config_doc.main(["--check"]) == 0


def test_readme_tables_show_schema_defaults_and_config_values():
    text = config_doc.table("complexity")
    row = next(line for line in text.splitlines() if line.startswith("| `zstd_level` |"))
    assert "integer in [19, 22]" in row and "| `19` |" in row
    row = next(line for line in text.splitlines() if line.startswith("| `blora.gates_lr` |"))
    assert "`1.0`" in row  # BLoRA's keys (behind if/then) are listed with their defaults
    with pytest.raises(ValueError, match="unknown table option"):
        config_doc.render("{{table evaluation colour=red}}")


def _undescribed(node: dict, path: str, out: list[str]) -> None:
    for key, sub in (node.get("properties") or {}).items():
        if "description" not in sub:
            out.append(path + key)
        _undescribed(sub, f"{path}{key}.", out)
    for key in ("additionalProperties", "items", "then"):
        if isinstance(node.get(key), dict):
            _undescribed(node[key], f"{path}*.", out)


def test_every_key_is_described():
    schema, missing = load_schema(), []
    _undescribed(schema, "", missing)
    for name, node in schema["$defs"].items():
        _undescribed(node, f"$defs.{name}.", missing)
    assert missing == []


def test_snakemake_and_sahlab_fill_the_same_defaults():
    """The Snakefile's `validate` and sahlab.schema (used by library code) agree on config.yaml."""
    from snakemake.utils import validate

    assert SCHEMA_PATH.resolve() == SCHEMA.resolve()  # the package's link (a copy in a wheel)

    by_snakemake = _default_config()
    validate(by_snakemake, str(SCHEMA))
    assert validate_section("", _default_config()) == by_snakemake
    assert by_snakemake["world"]["entities"]["n_first_names"] == 40  # a nested default filled
    assert by_snakemake["complexity"]["blora"]["scales_lr"] == 0.01  # inside a given mapping
    # a mapping-or-null key with defaults inside (if/then in the schema): null stays null
    off = _default_config()
    off["scaling"]["newknowledge"], off["complexity"]["blora"] = None, None
    validate(off, str(SCHEMA))
    assert off["scaling"]["newknowledge"] is None and off["complexity"]["blora"] is None


def test_code_names_match_the_schema():
    from sahlab.parallel import RULES
    from sahlab.world.config import SOURCES, TASKS
    from sahlab.world.instructions import INSTRUCTION_IDS

    world = load_schema()["properties"]["world"]["properties"]
    assert list(world["corpus"]["properties"]["mix"]["properties"]) == list(SOURCES)
    assert list(world["tasks"]["properties"]) == list(TASKS)
    ids = world["instructions"]["properties"]["instruction_ids"]
    assert ids["items"]["enum"] == ids["default"] == list(INSTRUCTION_IDS)
    assert load_schema()["properties"]["parallel"]["propertyNames"]["enum"] == list(RULES)


def test_python_defaults_come_from_the_schema():
    from sahlab.complexity.config import BLORA_DEFAULTS
    from sahlab.complexity.config import DEFAULTS as COMPLEXITY
    from sahlab.world.config import DEFAULTS as WORLD

    assert WORLD["corpus"]["total_chars"] == 6_000_000 and WORLD["tasks"]["math"] == {
        "train": 4096,
        "test": 500,
    }
    assert COMPLEXITY["zstd_level_delta"] == 9 and "n_select" not in COMPLEXITY  # computed: n_test // 2
    assert BLORA_DEFAULTS == section_defaults("$defs.blora") and BLORA_DEFAULTS["gates_lr"] == 1.0


@pytest.mark.parametrize(
    "edit, message",
    [
        # wrong type
        (("evaluation", "n_test", "many"), "config key 'evaluation.n_test': 'many' is not of type 'integer'"),
        (("complexity", "urial", "yes"), "config key 'complexity.urial': 'yes' is not of type 'boolean'"),
        # out of range
        (("evaluation", "n_boot", 0), "config key 'evaluation.n_boot': 0 is less than the minimum of 1"),
        (
            ("complexity", "zstd_level", 23),
            "config key 'complexity.zstd_level': 23 is greater than the maximum of 22",
        ),
        # an item of a list: the list is the key, the item is said
        (
            ("scaling", "N", [0, 1, -4, 16, 64]),
            "config key 'scaling.N': item 2: -4 is less than the minimum of 0",
        ),
        # an unknown key is named, with the allowed ones
        (("evaluation", "n_tset", 5), "config key 'evaluation.n_tset': unknown key; allowed: ['batch_size'"),
    ],
)
def test_schema_errors_name_the_key(edit, message):
    """The workflow's path (snakemake's validate + sahlab.config.schema_error, as in the
    Snakefile) and the library's (sahlab.schema.validate_section) give the same one line."""
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    section, key, value = edit
    cfg = _default_config()
    cfg[section][key] = value
    with pytest.raises(WorkflowError) as e:
        validate(copy.deepcopy(cfg), str(SCHEMA))
    line = schema_error(e.value)
    assert line.startswith(message) and line.endswith("(see config/schema.yaml)") and "\n" not in line
    with pytest.raises(SchemaError) as e2:
        validate_section(section, cfg[section])
    assert str(e2.value) == line
    assert isinstance(e2.value, ConfigError)


def test_world_errors_keep_their_prefix():
    from sahlab.world.config import validate_world_config

    with pytest.raises(
        ValueError, match=r"^world config key 'entities.pronoun_rate': 1.5 is greater than the maximum of 1"
    ):
        validate_world_config({"entities": {"pronoun_rate": 1.5}})
    # types as the schema says: an integer written 4.0e6 is read as int, a rate written 0 as float
    cfg = validate_world_config({"corpus": {"total_chars": 4.0e6}, "multihop": {"corpus_qa_fraction": 0}})
    assert type(cfg["corpus"]["total_chars"]) is int and type(cfg["multihop"]["corpus_qa_fraction"]) is float
