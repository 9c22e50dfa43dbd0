"""The README's Findings section and the script's tables say the same: one rule, one place.

The checks table must list FINDING_CHECKS (id, rank, shared in, name, why) in order, the bulletins
table every BULLETINS entry with its facts and source, the "as of" date must be BULLETINS_AS_OF,
and no bulletin listed as known and not checked may be in the table."""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from pathlib import Path

import pytest

from harness.paths import REPO_ROOT, rzscript_path, script_path

README = REPO_ROOT / "README.md"
SEVERITY_RANKS = {"critical": 4, "high": 3, "medium": 2, "low": 1, None: 2}
CONDITIONS = {None: "–", "ssh": "Tailscale SSH on"}


def script_value(expression: str):
    """The value of a Starlark expression over the script's globals, through a copy of the script
    with one function appended (the script itself keeps no test hook)."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "tailscale.star"
        copy.write_text(script_path().read_text(encoding="utf-8") +
                        f"\n\ndef readme_probe():\n    return {expression}\n", encoding="utf-8")
        result = Path(tmp) / "result.json"
        proc = subprocess.run([str(rzscript_path()), "--filename", str(copy), "--entry", "readme_probe",
                               "--result", str(result)], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return json.loads(result.read_text())


def findings_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("### Findings\n")
    return text[start:text.index("\n### ", start + 1)]


def table_rows(section: str, header: str) -> list[list[str]]:
    """The cells of each row of the table whose header line starts with `header`."""
    lines = section.splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split(" | ")])
    return rows


def bulletin_row(bulletin: dict) -> list[str]:
    fixed = ", ".join(bulletin["fixed"])
    if bulletin["unstable_fixed"]:
        fixed += f" (unstable {bulletin['unstable_fixed']})"
    return [f"`{bulletin['id']}`", bulletin["cve"] or "–", ", ".join(bulletin["platforms"]) or "all",
            bulletin["introduced"] or "–", fixed, CONDITIONS[bulletin["condition"]],
            str(SEVERITY_RANKS[bulletin["severity"]]), f"[{bulletin['title']}]({bulletin['url']}); source: "
            f"{bulletin['source']}"]


@pytest.fixture(scope="module")
def tables():
    return script_value('{"checks": finding_table(), "bulletins": BULLETINS, "as_of": BULLETINS_AS_OF}')


def test_the_checks_table_is_finding_checks(tables):
    expected = [[f"`{c['id']}`", str(c["rank"]), "yes" if c["shared_in"] else "no", c["name"], c["why"]]
                for c in tables["checks"]]
    assert table_rows(findings_section(), "| id | rank | shared in |") == expected


def test_the_bulletins_table_is_bulletins(tables):
    assert table_rows(findings_section(), "| bulletin | CVE |") == [bulletin_row(b) for b in tables["bulletins"]]


def test_the_as_of_date_is_the_scripts(tables):
    assert f"**as of {tables['as_of']}**" in findings_section()


def test_known_and_not_checked_bulletins_are_not_in_the_table(tables):
    section = findings_section()
    listed = section[section.index("Known and not checked:"):section.index("To add a bulletin:")]
    not_checked = set(re.findall(r"TS-\d{4}-\d{3}", listed))
    assert not_checked, "the README lists no known-and-not-checked bulletin"
    # A bulletin may be checked on one platform and not on another: the list then names the platform.
    for bulletin_id in {b["id"] for b in tables["bulletins"]} & not_checked:
        assert re.search(rf"`{bulletin_id}` on [A-Z][a-z]+", listed), bulletin_id
        platforms = {p for b in tables["bulletins"] if b["id"] == bulletin_id for p in b["platforms"]}
        named = re.search(rf"`{bulletin_id}` on ([A-Z][a-z]+)", listed).group(1).lower()
        assert platforms and named not in platforms, bulletin_id


def test_every_id_ignored_findings_accepts_is_in_the_readme(tables):
    section = findings_section()
    for check in tables["checks"]:
        assert f"`{check['id']}`" in section
    for bulletin in tables["bulletins"]:
        assert f"`{bulletin['id']}`" in section
