"""The contributor docs name what is there: the README's layout table lists every tracked
top-level path, and CONTRIBUTING.md's module table every harness module."""

from __future__ import annotations

import re
import subprocess

import pytest

from harness.paths import REPO_ROOT

# Tracked, but not part of the layout a contributor needs.
NOT_IN_LAYOUT = {".gitignore"}


def table_paths(text: str, heading: str) -> set[str]:
    """The backquoted names in the first column of the table after `heading`."""
    table = next(block for block in text[text.index(heading):].split("\n\n") if block.startswith("| "))
    names = set()
    for line in table.splitlines()[2:]:
        names.update(name.rstrip("/") for name in re.findall(r"`([^`]+)`", line.split(" | ")[0]))
    return names


def tracked_top_level() -> set[str]:
    process = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True)
    if process.returncode != 0 or not process.stdout:
        pytest.skip("not a git checkout")
    return {path.split("/")[0] for path in process.stdout.splitlines()}


def test_the_readme_layout_lists_every_tracked_top_level_path():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    listed = table_paths(readme, "Layout:")
    wanted = {name for name in tracked_top_level() if name not in NOT_IN_LAYOUT}
    # .ci is listed by the file CI runs, .ci/run
    listed |= {path.split("/")[0] for path in listed}
    assert wanted - listed == set(), f"README.md's layout table leaves out {sorted(wanted - listed)}"
    assert {"config.json", ".ci/run", "CONTRIBUTING.md"} <= listed


def test_contributing_lists_every_harness_module():
    contributing = (REPO_ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    listed = table_paths(contributing, "## The harness, module by module")
    modules = {path.name for path in (REPO_ROOT / "harness").glob("*.py") if path.name != "__init__.py"}
    assert modules - listed == set(), f"CONTRIBUTING.md's module table leaves out {sorted(modules - listed)}"
    assert listed - modules == set(), f"CONTRIBUTING.md's module table names missing {sorted(listed - modules)}"
