"""envs/: one pinned conda env per rule group, pins equal to requirements.lock, every rule uses one.

No conda channel is reachable here, so the envs are never solved or built in the tests; what
can be checked without conda is checked: the files, their pins against the lock (the exact
versions the .venv runs and the tests exercise), and each rule's `conda:` directive.
"""

from __future__ import annotations

import ast
import re
import sys
from functools import lru_cache
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from workflow_api import load_rules

GROUPS = ("data", "train", "eval", "figures")
STDLIB = set(sys.stdlib_module_names)


def norm(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins() -> dict[str, str]:
    """requirements.lock's pins (uv's hashed format), local build labels dropped (torch 2.13.0+cpu
    is the public 2.13.0 built for CPU: envs and pyproject.toml pin the public version)."""
    pins = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        if not line or line[0] in " #":
            continue  # hashes, comments
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;+]+)(\+\S+)?( \\)?", line)
        assert m, f"requirements.lock: {line!r} is not pinned with =="
        pins[norm(m[1])] = m[2]
    return pins


def env_pins(path: Path) -> tuple[list[str], dict[str, str], list[str]]:
    """(conda dependencies, pip pins name -> version, other pip entries) of one env file."""
    env = yaml.safe_load(path.read_text())
    conda, pip, other = [], {}, []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for entry in dep["pip"]:
                m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", entry.strip())
                if m:
                    pip[norm(m[1])] = m[2]
                else:
                    other.append(entry)
        else:
            conda.append(dep)
    return conda, pip, other


@pytest.mark.parametrize("group", GROUPS)
def test_env_pins_equal_the_lock(group):
    path = REPO / f"envs/{group}.yaml"
    conda, pip, other = env_pins(path)
    lock = lock_pins()
    assert pip, f"{path} pins no package"
    wrong = {n: (v, lock.get(n)) for n, v in pip.items() if lock.get(n) != v}
    assert not wrong, f"{path}: pins differ from requirements.lock (env, lock): {wrong}"
    # conda itself brings only the interpreter and pip; every library comes pinned via pip
    assert sorted(re.split(r"[=<>]", d)[0] for d in conda) == ["pip", "python"], conda
    assert other == ["-e .."], f"{path}: unpinned pip entries {other}"


def _module_file(name: str) -> Path | None:
    """The source file of a sahlab module (package __init__ or module .py), None if absent."""
    base = REPO.joinpath(*name.split("."))
    for f in (base / "__init__.py", base.with_suffix(".py")):
        if f.is_file():
            return f
    return None


def _names(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Import):
        return {a.name for a in node.names}
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return {node.module} | {f"{node.module}.{a.name}" for a in node.names}  # `from pkg import mod`
    return set()


def _bound(node: ast.AST) -> dict[str, str]:
    """Local name -> dotted target of an import statement (`from a import f as g`: g -> a.f)."""
    if isinstance(node, ast.Import):
        return {
            (a.asname or a.name.split(".")[0]): (a.name if a.asname else a.name.split(".")[0])
            for a in node.names
        }
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return {(a.asname or a.name): f"{node.module}.{a.name}" for a in node.names}
    return {}


def _scope(nodes) -> tuple[set[str], dict[str, str], set[str]]:
    """(imports, bound names, names used) of statements, not descending into nested defs."""
    imports, bound, used, todo = set(), {}, set(), list(nodes)
    while todo:
        node = todo.pop()
        imports |= _names(node)
        bound.update(_bound(node))
        if isinstance(node, ast.Name):
            used.add(node.id)
        elif isinstance(node, ast.Attribute):  # module.function
            chain = []
            while isinstance(node, ast.Attribute):
                chain.append(node.attr)
                node = node.value
            if isinstance(node, ast.Name):
                used.add(".".join([node.id] + chain[::-1]))
                used.add(node.id)
            todo.append(node)
            continue
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            todo.extend(ast.iter_child_nodes(node))
    return imports, bound, used


@lru_cache(maxsize=None)
def _module(path: Path) -> tuple[tuple, dict[str, tuple]]:
    """The module level's (imports, bound, used) and each top-level def's (its whole body's)."""
    tree = ast.parse(path.read_text(), str(path))
    defs = {
        n.name: _scope(n.body + n.decorator_list)
        for n in tree.body
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }
    for name, (imp, bound, used) in defs.items():  # a class's methods are part of it
        node = next(n for n in tree.body if getattr(n, "name", None) == name)
        for sub in ast.walk(node):
            imp |= _names(sub)
            bound.update(_bound(sub))
            if isinstance(sub, ast.Name):
                used.add(sub.id)
    return _scope(tree.body), defs


def third_party_imports(script: Path) -> set[str]:
    """Top-level third-party modules a script needs, by a call graph over top-level functions:
    the script's imports; for each sahlab module it reaches, its module-level imports and those
    inside the functions and classes that are actually referenced (a lazy `import torch` inside
    a function nobody calls does not count; an over-approximation otherwise)."""
    third, seen = set(), set()
    todo = [(script, None)]  # (file, top-level def name or None for the module level)

    def reach(target: str):
        """Schedule the sahlab module or module attribute a dotted name refers to."""
        parts = target.split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a, a.b and a.b.c
            f = _module_file(".".join(parts[:i]))
            if f is not None:
                todo.append((f, None))
        f = _module_file(".".join(parts[:-1])) if len(parts) > 1 else None
        if f is not None and _module_file(target) is None:
            todo.append((f, parts[-1]))

    while todo:
        path, name = todo.pop()
        if (path, name) in seen:
            continue
        seen.add((path, name))
        top, defs = _module(path)
        if path == script:  # a script runs top to bottom: every def in it counts
            scopes = [top] + list(defs.values())
        else:
            scopes = [top] if name is None else ([defs[name]] if name in defs else [])
        for imports, bound, used in scopes:
            third |= {n.split(".")[0] for n in imports} - STDLIB - {"sahlab", "__future__"}
            for u in used:
                head = u.split(".")[0]
                if head in defs:
                    todo.append((path, head))
                target = top[1].get(head) or bound.get(head)
                if target and target.startswith("sahlab"):
                    reach(target + u[len(head) :])
    return third


def missing_from_env(modules: set[str], pins: dict[str, str]) -> set[str]:
    """Modules none of whose distributions the env pins."""
    dists = packages_distributions()
    return {m for m in modules if not any(norm(d) in pins for d in dists.get(m, [m]))}


def _rule_scripts() -> list[tuple[str, Path, str]]:
    rules = load_rules(REPO)
    return [
        (r.name, (REPO / "rules" / r.script).resolve(), r.conda_env)
        for r in rules.values()
        if r.script and r.conda_env
    ]


def test_every_rule_env_pins_what_its_script_imports():
    # The env of each rule group is derived from the code: a removed pin or a new import shows
    # up here, not as an ImportError under --sdm conda on a cluster.
    rules = _rule_scripts()
    assert len(rules) >= 15
    problems = {}
    for name, script, env in rules:
        _, pins, _ = env_pins((REPO / "rules" / env).resolve())
        missing = missing_from_env(third_party_imports(script), pins)
        if missing:
            problems[name] = (env, sorted(missing))
    assert not problems, f"rule -> (env, third-party imports it lacks): {problems}"


def test_the_import_check_sees_a_removed_pin():
    name, script, env = next(r for r in _rule_scripts() if r[0] == "complexity_points")
    mods = third_party_imports(script)
    assert {"torch", "transformers", "zstandard"} <= mods, mods
    _, pins, _ = env_pins((REPO / "rules" / env).resolve())
    assert not missing_from_env(mods, pins)
    pins.pop("zstandard")
    assert missing_from_env(mods, pins) == {"zstandard"}


def test_pyproject_pins_its_dependencies_as_the_lock():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    deps = list(project["dependencies"]) + [d for ds in project["optional-dependencies"].values() for d in ds]
    lock = lock_pins()
    pins = {}
    for d in deps:
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", d)
        assert m, f"pyproject.toml: {d!r} is not pinned with =="
        pins[norm(m[1])] = m[2]
    wrong = {n: (v, lock.get(n)) for n, v in pins.items() if lock.get(n) != v}
    assert not wrong, f"pyproject.toml pins differ from requirements.lock: {wrong}"
    # every third-party module the library imports is a declared dependency
    lib = set().union(*(third_party_imports(f) for f in (REPO / "sahlab").rglob("*.py")))
    assert not missing_from_env(lib, {n for n in pins}), lib


def test_lock_parser_catches_a_changed_pin(tmp_path):
    # the comparison above must see a one-character difference
    text = (REPO / "envs/figures.yaml").read_text().replace("seaborn==0.13.2", "seaborn==0.13.1")
    (tmp_path / "figures.yaml").write_text(text)
    _, pip, _ = env_pins(tmp_path / "figures.yaml")
    assert pip["seaborn"] != lock_pins()["seaborn"]


def test_lock_has_a_hash_for_every_pin_and_covers_pyproject():
    # setup.sh installs with pip --require-hashes: a pin without a hash would stop it
    blocks = re.split(r"\n(?=[A-Za-z])", (REPO / "requirements.lock").read_text())
    pins = [b for b in blocks if not b.startswith("#")]
    no_hash = [b.split()[0] for b in pins if not re.search(r"--hash=sha256:[0-9a-f]{64}", b)]
    assert len(pins) == len(lock_pins()) > 100 and not no_hash, no_hash
    assert "--require-hashes -r requirements.lock" in (REPO / "setup.sh").read_text()


def test_every_rule_runs_in_one_group_env():
    rules = load_rules(REPO)
    allowed = {f"../envs/{g}.yaml" for g in GROUPS}
    missing = sorted(r.name for r in rules.values() if not r.norun and r.conda_env is None)
    assert not missing, f"rules without a conda env: {missing}"
    wrong = {
        r.name: r.conda_env for r in rules.values() if r.conda_env is not None and r.conda_env not in allowed
    }
    assert not wrong, f"rules whose env is not one of envs/{{{','.join(GROUPS)}}}.yaml: {wrong}"
    used = {r.conda_env for r in rules.values() if r.conda_env}
    assert used == allowed, f"groups without a rule: {allowed - used}"
    assert len([r for r in rules.values() if not r.norun]) >= 15  # the whole DAG was loaded
