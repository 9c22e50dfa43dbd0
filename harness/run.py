"""Run one scenario: the one path every consumer (tests, `make run`, `make bench`, the fuzz
test) takes from a loaded scenario to a ScenarioResult.

It writes the scenario's settings into a copy of the script, starts the mock for the
scenario, runs rzscript with the scenario's kwargs and rzscript options (those the schema
names, plus the transport-error mode), and collects what the mock saw and served.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from harness.mock import MockTailscale
from harness.paths import display_path, script_path
from harness.results import ScenarioResult
from harness.rzscript import run_rzscript
from harness.scenario import Scenario
from harness.schema import ScenarioError, rzscript_options
from harness.settings import SettingNotFound, prepare_script


def run_scenario(
    scenario: Scenario,
    mode: str | None = None,
    *,
    script: Path | None = None,
    rzscript: Path | None = None,
    output: Path | None = None,
    extra_options: Iterable[str] = (),
    env: Mapping[str, str] | None = None,
    parse_output: bool = True,
) -> ScenarioResult:
    """Run `scenario` once in one transport-error mode (default: its first).

    script: the script to run (default tailscale.star); rzscript: the binary (default
    bin/rzscript); output: keep the assets file there; extra_options: more rzscript options
    (profilers); env, parse_output: as for run_rzscript.
    """
    mode = mode or scenario.transport_errors[0]
    script = script or script_path()
    if not script.is_file():
        raise FileNotFoundError(f"{display_path(script)} not found")
    with tempfile.TemporaryDirectory(prefix="rzscenario-") as tmp:
        try:
            prepared = prepare_script(script, scenario.settings, Path(tmp))
        except SettingNotFound as exc:
            raise ScenarioError(f"{display_path(scenario.path)}: {display_path(script)}: {exc}") from None
        with MockTailscale(tailnet=scenario.tailnet, routes=scenario.routes, auth=scenario.auth) as mock:
            run = run_rzscript(
                prepared,
                scenario.kwargs,
                [*rzscript_options(scenario), "--transport-errors", mode, *extra_options],
                route_url=mock.url,
                timeout=scenario.timeout,
                output=output,
                rzscript=rzscript,
                env=env,
                parse_output=parse_output,
            )
        configured = [scenario.kwargs.get("access_secret", ""), *mock.api.auth.secrets()]
        return ScenarioResult(
            name=scenario.name,
            run=run,
            traffic=mock.traffic(),
            secrets=sorted({s for s in configured if s}),
            now=scenario.now,
            mode=mode,
        )
