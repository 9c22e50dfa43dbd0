"""One test per scenario file in fixtures/scenarios/ and per transport-error mode it lists:
run the integration against the mock API, then check the scenario's `expect:` block and every
global invariant it does not skip (with a reason)."""

from __future__ import annotations

import pytest

from harness.expectations import check_expectations
from harness.invariants import run_invariants
from harness.run import run_scenario
from harness.scenario import discover_scenarios, load_scenario
from harness.schema import ScenarioError


def _cases():
    paths = discover_scenarios()
    if not paths:
        yield pytest.param(None, None, id="no-scenarios", marks=pytest.mark.skip(reason="no fixtures/scenarios/*.yaml"))
    for path in paths:
        try:
            modes = load_scenario(path).transport_errors
        except ScenarioError:
            modes = ["none"]  # the test itself reports the error
        for mode in modes:
            yield pytest.param(path, mode, id=f"{path.stem}-{mode}")


@pytest.mark.parametrize(("path", "mode"), list(_cases()))
def test_scenario(path, mode, rzscript, tailscale_script):
    problem = None
    try:
        scenario = load_scenario(path)
        result = run_scenario(scenario, mode, script=tailscale_script, rzscript=rzscript)
    except ScenarioError as exc:  # a mistake in the file, or a setting the script lacks
        problem = str(exc)
    if problem:
        pytest.fail(problem, pytrace=False)
    failures = check_expectations(scenario.expect, result)
    failures += run_invariants(result, scenario.skip_invariants)
    if failures:
        skipped = "".join(f"\n  (invariant {n} skipped: {why})" for n, why in scenario.skip_invariants.items())
        pytest.fail(
            f"scenario {scenario.name} (transport_errors={mode}): {len(failures)} failure(s)\n  - "
            + "\n  - ".join(failures)
            + skipped
            + "\n"
            + result.summary(),
            pytrace=False,
        )
