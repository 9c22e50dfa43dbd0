"""The scenario table's rows say what each scenario file says."""

from __future__ import annotations

import re

import pytest

from harness.scenario import discover_scenarios, load_scenario
from harness.scenario_table import MAX_SITUATION, PENDING_MARK, cell, render, row

ROWS = {path.stem: path for path in discover_scenarios()}


def cells(line: str) -> list[str]:
    """The cells of a Markdown table row (an escaped `\\|` stays inside its cell)."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


@pytest.mark.parametrize("name", sorted(ROWS))
def test_each_row_carries_the_description_and_the_expectations(name):
    scenario = load_scenario(ROWS[name])
    link, situation, outcome, requests, modes = cells(row(ROWS[name]))
    assert link == f"[{name}](scenarios/{name}.yaml)"
    # the situation is the start of the description, cut at a sentence end (or shortened)
    description = cell(re.sub(rf"^{PENDING_MARK}:\s*", "", scenario.description))
    assert situation and description.startswith(situation.removesuffix("…").rstrip()), situation
    assert situation.endswith((".", "!", "?", "…", ")")) or situation == description, situation
    assert len(situation) <= MAX_SITUATION
    expect = scenario.expect
    if expect["exit"] == 0:
        assert "succeeds" in outcome
        count = expect.get("asset_count", len(expect.get("asset_ids", [])))
        if "asset_count" in expect or "asset_ids" in expect:
            assert f"succeeds with {count} asset" in outcome
    elif expect["exit"] == "any":
        assert "any outcome" in outcome
    else:
        assert "fails" in outcome
        for text in expect.get("error_contains", []):
            assert cell(text) in outcome, text
    for skipped in scenario.skip_invariants:
        assert skipped in outcome
    for spec in expect.get("requests", []):
        assert f"×{spec['count']}" in requests if "count" in spec else ("–" in requests or "≥" in requests
                                                                         or "≤" in requests)
    assert ("none:" in requests) == bool(expect.get("requests_absent"))
    assert modes == ", ".join(scenario.transport_errors)


def test_a_scenario_that_does_not_load_still_gets_a_row(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("description: x\nstauts: 1\n")
    text = render([broken])
    assert "| [broken](scenarios/broken.yaml) | (cannot load:" in text and "stauts: unknown key" in text


def test_pending_scenarios_are_marked_and_counted(tmp_path):
    pending = tmp_path / "pending.yaml"
    pending.write_text(f"description: '{PENDING_MARK}: the script must do X. More text.'\nexpect: {{exit: 1}}\n")
    text = render([pending])
    assert "| the script must do X. |" in text
    assert f"**{PENDING_MARK.lower()}**, must: fails" in text and "1 pending a script fix" in text
