"""One test per scenario file in fixtures/scenarios/, per transport-error mode it lists and per
`invalid_ip` mode: run the integration against the mock API, then check the scenario's `expect:`
block and every global invariant it does not skip (with a reason).

Every scenario runs with `net.ip_address` raising on junk (`--invalid-ip abort`) as well as
returning None, whatever its own `invalid_ip` says: runZero does not document which it does, so
every promise must hold under both."""

from __future__ import annotations

import dataclasses

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
            for invalid_ip in INVALID_IP_MODES:
                yield pytest.param(path, mode, invalid_ip, id=f"{path.stem}-{mode}-ip_{invalid_ip}")


INVALID_IP_MODES = ("none", "abort")


@pytest.mark.parametrize(("path", "mode", "invalid_ip"), list(_cases()))
def test_scenario(path, mode, invalid_ip, rzscript, tailscale_script):
    problem = None
    try:
        scenario = dataclasses.replace(load_scenario(path), invalid_ip=invalid_ip)
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
            f"scenario {scenario.name} (transport_errors={mode}, invalid_ip={invalid_ip}): "
            f"{len(failures)} failure(s)\n  - "
            + "\n  - ".join(failures)
            + skipped
            + "\n"
            + result.summary(),
            pytrace=False,
        )
