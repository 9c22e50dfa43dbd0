"""The script's VERSION: the task log names it first, and CHANGELOG.md says what it changed."""

from __future__ import annotations

import ast
import re

from harness.paths import REPO_ROOT, script_path
from harness.run import run_scenario
from harness.scenario import load_scenario
from harness.settings import read_setting

SAMPLE = REPO_ROOT / "fixtures" / "scenarios" / "sample_tailnet.yaml"


def script_version() -> str:
    return ast.literal_eval(read_setting(script_path().read_text(encoding="utf-8"), "VERSION"))


def test_version_is_major_minor_patch():
    assert re.fullmatch(r"\d+\.\d+\.\d+", script_version())


def test_the_first_log_line_names_the_version():
    """README: "the task log's first line names the script's version"."""
    result = run_scenario(load_scenario(SAMPLE))
    assert result.run.stdout_lines[0] == "tailscale: tailscale.star " + script_version()


def test_the_newest_changelog_entry_is_the_scripts_version():
    headings = re.findall(r"^## (\S+)", (REPO_ROOT / "CHANGELOG.md").read_text(encoding="utf-8"), re.M)
    assert headings, "CHANGELOG.md has no '## VERSION' entries"
    assert headings[0] == script_version(), "CHANGELOG.md's newest entry must be the script's VERSION"
    assert len(headings) == len(set(headings)), "a version appears twice in CHANGELOG.md"


def test_the_readme_quotes_the_current_version_line():
    """README: "The log's first line names the script's release (`tailscale: tailscale.star X`)"."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert "`tailscale: tailscale.star " + script_version() + "`" in readme
