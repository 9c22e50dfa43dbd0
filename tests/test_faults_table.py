"""tests/FAULTS.md lists every scenario with its outcome; it is generated from the scenario
files by tests/scenario_table.py and must not drift from them."""

from __future__ import annotations

from harness.scenario import discover_scenarios
from harness.scenario_table import FAULTS_FILE, REGENERATE, render


def test_faults_table_is_up_to_date():
    current = FAULTS_FILE.read_text(encoding="utf-8") if FAULTS_FILE.is_file() else ""
    expected = render()
    if current != expected:
        old, new = set(current.splitlines()), set(expected.splitlines())
        changed = [line for line in expected.splitlines() if line not in old][:5]
        stale = [line for line in current.splitlines() if line not in new][:5]
        detail = "".join(f"\n  + {line[:160]}" for line in changed) + "".join(f"\n  - {line[:160]}" for line in stale)
        raise AssertionError(
            f"tests/FAULTS.md is out of date with fixtures/scenarios/: regenerate it with `{REGENERATE}`{detail}"
        )


def test_every_scenario_has_a_row():
    text = render()
    for path in discover_scenarios():
        assert f"[{path.stem}](scenarios/{path.name})" in text, path.name
