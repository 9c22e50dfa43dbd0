"""Scenario files (fixtures/scenarios/NAME.yaml): read, validate, and fill in defaults.

The keys, their types, defaults and meanings are declared in harness.schema; this module
reads the YAML (timestamps stay strings, a duplicate key is an error) and gives each loaded
file as a `Scenario`, one attribute per top-level key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from harness.paths import FIXTURES_DIR, REPO_ROOT, SCENARIOS_DIR, display_path
from harness.schema import SCENARIO, Checker, ScenarioError


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps timestamps as strings and rejects duplicate keys."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _mapping_without_duplicates(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def parse_yaml(text: str, source: str = "<string>") -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{source}: not valid YAML: {exc}") from None


# One field per top-level key of the schema, in its order, after the file's path and name.
Scenario = dataclasses.make_dataclass(
    "Scenario",
    [("path", Path), ("name", str)] + [(name, Any) for name in SCENARIO.keys],
    frozen=True,
    namespace={"__doc__": "A loaded scenario: its file, its name (the file's stem), every key of the schema."},
)
Scenario.__module__ = __name__


def scenario_from_dict(data: Mapping[str, Any], name: str = "inline", fixtures_dir: Path = FIXTURES_DIR) -> Scenario:
    """A Scenario from an in-memory document, validated like a file."""
    source = f"<{name}>"
    return Scenario(path=Path(source), name=name, **SCENARIO.load(dict(data), "", Checker(source, fixtures_dir)))


def load_scenario(path: str | Path, fixtures_dir: Path = FIXTURES_DIR) -> Scenario:
    """Read and validate one scenario file. Raises ScenarioError with the file and key."""
    path = Path(path)
    if not path.is_absolute() and not path.exists():
        path = REPO_ROOT / path
    source = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{source}: cannot read: {exc.strerror or exc}") from None
    values = SCENARIO.load(parse_yaml(text, source), "", Checker(source, fixtures_dir))
    return Scenario(path=path, name=path.stem, **values)


def discover_scenarios(directory: Path = SCENARIOS_DIR) -> list[Path]:
    """Every scenario file (default: fixtures/scenarios/*.yaml), sorted by name."""
    return sorted(p for p in Path(directory).glob("*.yaml") if p.is_file())
