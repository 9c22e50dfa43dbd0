"""The generated documents, and `make docs`, which rewrites them.

- fixtures/SCENARIOS.md, the scenario table (harness.scenario_table), whole;
- in fixtures/README.md, each table between `<!-- generated: NAME -->` and
  `<!-- end generated -->`: the key tables of the scenario schema (harness.schema) and the
  table of global invariants (their docstrings in harness.invariants).

    python -m harness.docs            # rewrite what is out of date, and say which were written
    python -m harness.docs --check    # exit 1 and name what is out of date

tests/test_docs.py fails while any of them is out of date.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

from harness import schema
from harness.invariants import INVARIANTS
from harness.paths import FIXTURES_README, SCENARIO_TABLE, display_path
from harness.scenario_table import render as render_scenario_table

REGENERATE = "make docs"
_REGION = re.compile(r"(<!-- generated: ([\w-]+) -->\n)(.*?)(<!-- end generated -->)", re.DOTALL)


def _one_line(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _shown_default(key: schema.Key) -> str:
    if key.shown_default is not None:
        return key.shown_default
    if key.default is schema.REQUIRED:
        return "(required)"
    if key.default is schema.ABSENT:
        return "–"
    text = yaml.safe_dump(key.default, default_flow_style=True, width=10**6).strip()
    return f"`{text.removesuffix('...').strip()}`"


def key_table(section: schema.Section, leave_out: tuple[schema.Key, ...] = ()) -> str:
    rows = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
    for key in section.keys.values():
        if key not in leave_out:
            rows.append(f"| `{key.name}` | {key.type.what} | {_shown_default(key)} | {_one_line(key.meaning)} |")
    return "\n".join(rows)


def invariants_table() -> str:
    rows = ["| name | what must hold |", "| --- | --- |"]
    rows += [f"| `{name}` | {_one_line(check.__doc__ or '')} |" for name, check in INVARIANTS.items()]
    return "\n".join(rows)


TABLES = {
    "scenario-keys": lambda: key_table(schema.SCENARIO),
    "auth-keys": lambda: key_table(schema.AUTH),
    "route-keys": lambda: key_table(schema.ROUTE),
    "response-keys": lambda: key_table(schema.RESPONSE),
    "expect-keys": lambda: key_table(schema.EXPECT),
    "asset-keys": lambda: key_table(schema.ASSET),
    "count-keys": lambda: key_table(schema.COUNTED_REQUEST, leave_out=schema.MATCH_KEYS),
    "invariants": invariants_table,
}


def render_readme(text: str) -> str:
    """text with every generated region rewritten; an unknown region name is an error."""

    def region(match: re.Match) -> str:
        name = match.group(2)
        if name not in TABLES:
            raise KeyError(f"{display_path(FIXTURES_README)}: unknown generated region {name!r}")
        return f"{match.group(1)}{TABLES[name]()}\n{match.group(4)}"

    return _REGION.sub(region, text)


def regions(text: str) -> list[str]:
    """The names of the generated regions in text, in order."""
    return [match.group(2) for match in _REGION.finditer(text)]


def documents() -> dict[Path, str]:
    """Each generated document as it should be."""
    readme = FIXTURES_README.read_text(encoding="utf-8")
    return {SCENARIO_TABLE: render_scenario_table(), FIXTURES_README: render_readme(readme)}


def stale() -> list[Path]:
    return [path for path, text in documents().items() if not path.is_file() or path.read_text("utf-8") != text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.docs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check: exit 1 if a document is out of date")
    args = parser.parse_args(argv)
    outdated = stale()
    if args.check:
        for path in outdated:
            print(f"{display_path(path)} is out of date: run `{REGENERATE}`", file=sys.stderr)
        return 1 if outdated else 0
    for path, text in documents().items():
        if path in outdated:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {display_path(path)}")
        else:
            print(f"{display_path(path)} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
