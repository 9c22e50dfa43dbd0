"""Running one scenario (harness.run) with a stand-in for rzscript: the settings, the mock,
the rzscript options from the schema, and what comes back."""

from __future__ import annotations

import json

import pytest

from harness.run import run_scenario
from harness.scenario import scenario_from_dict
from harness.schema import DEFAULT_API_KEY, DEFAULT_OAUTH_CLIENT_SECRET, ScenarioError


def test_a_run_drives_the_mock_and_collects_everything(tailnet_dir, fake_rzscript, fake_script):
    asset = {"id": "100000000001", "hostnames": ["router"], "networkInterfaces": [{"ipv4Addresses": ["100.64.0.1"]}]}
    script = fake_script({"get": ["/api/v2/tailnet/-/devices?fields=all", "/api/v2/device/nNOPE/attributes"],
                          "assets": [asset]})
    scenario = scenario_from_dict({
        "description": "x", "tailnet": str(tailnet_dir), "settings": {"INCLUDE_POSTURE": False},
        "transport_errors": ["none", "abort"], "invalid_ip": "abort",
    })
    result = run_scenario(scenario, "abort", script=script, rzscript=fake_rzscript)
    run = result.run
    assert run.exit_code == 0 and not run.timed_out
    assert "setting INCLUDE_POSTURE = False" in run.stdout_lines
    assert ("kwargs ['access_key', 'access_secret'] strict True mode abort now 2026-11-28T12:00:00Z "
            "invalid_ip abort") in run.stdout
    assert "GET /api/v2/device/nNOPE/attributes 404" in run.stdout_lines
    assert run.assets == [asset] and run.stats == {"assets": 1, "exit_code": 0}
    assert [r.path for r in result.traffic.requests] == ["/api/v2/tailnet/-/devices", "/api/v2/device/nNOPE/attributes"]
    assert json.loads(result.traffic.device_lists[0])["devices"][0]["id"] == "100000000001"
    assert DEFAULT_API_KEY in result.secrets and DEFAULT_OAUTH_CLIENT_SECRET in result.secrets
    assert (result.name, result.mode, result.now) == ("inline", "abort", "2026-11-28T12:00:00Z")
    assert not any(DEFAULT_API_KEY in part for part in run.command)


def test_the_default_mode_is_the_scenarios_first(fake_rzscript, fake_script):
    scenario = scenario_from_dict({"description": "x", "transport_errors": ["abort", "none"]})
    assert run_scenario(scenario, script=fake_script({}), rzscript=fake_rzscript).mode == "abort"


def test_a_setting_the_script_lacks_names_the_scenario_and_the_script(fake_rzscript, fake_script):
    scenario = scenario_from_dict({"description": "x", "settings": {"NO_SUCH_SETTING": 1}}, "lacking")
    with pytest.raises(ScenarioError, match=r"^<lacking>: .*fake.star: settings.NO_SUCH_SETTING: no top-level line"):
        run_scenario(scenario, script=fake_script({}), rzscript=fake_rzscript)


def test_a_missing_script_is_reported(tmp_path, fake_rzscript):
    with pytest.raises(FileNotFoundError, match="nope.star"):
        run_scenario(scenario_from_dict({"description": "x"}), script=tmp_path / "nope.star", rzscript=fake_rzscript)
