"""Checking a scenario's `expect:` block against a result."""

from __future__ import annotations

from harness.expectations import check_expectations
from harness.schema import EXPECT, Checker


def check(block, result):
    """check_expectations on an `expect:` block as the loader gives it."""
    return check_expectations(EXPECT.load(block, "expect", Checker("<test>")), result)


def test_expectations_met(make_result, recorded, good_asset):
    result = make_result(
        stdout="starting\ntailscale: imported 1 devices\n",
        assets=[good_asset],
        requests=[recorded("GET", "/api/v2/tailnet/-/devices", {"fields": ["all"]}),
                  recorded("GET", "/api/v2/device/n1/attributes")],
    )
    block = {
        "exit": 0, "asset_count": 1, "asset_ids": ["100000000001"],
        "assets": {"100000000001": {"hostnames": ["router"], "customAttributes": {"tailscale_online": "true"},
                                    "customAttributes_absent": ["tailscale_stale"], "absent": ["domain"]}},
        "requests": [{"method": "GET", "path": "/api/v2/tailnet/-/devices", "query": {"fields": "all"}, "count": 1},
                     {"path_regex": "/attributes$", "min": 1, "max": 2}],
        "requests_absent": [{"path": "/api/v2/oauth/token"}],
        "logs_contain": ["imported 1"], "logs_absent": ["error"], "last_log_line": r"tailscale: imported \d+ devices",
    }
    assert check(block, result) == []


def test_failing_expectations_are_each_reported(make_result, recorded, good_asset):
    result = make_result(
        exit_code=1, stdout="line one\nlast words\n", stderr="fail: bad credential",
        assets=[good_asset], requests=[recorded("POST", "/api/v2/oauth/token")],
    )
    block = {
        "exit": 0, "error_contains": ["tailnet not found"], "asset_count": 2, "asset_ids": ["x"],
        "assets": {"100000000001": {"os": "Windows", "customAttributes": {"tailscale_online": "false", "nope": "1"},
                                    "customAttributes_absent": ["tailscale_os"], "absent": ["os"], "model": "M1"},
                   "missing-id": {"os": "Linux"}},
        "requests": [{"path": "/api/v2/tailnet/-/devices", "count": 1}],
        "requests_absent": [{"method": "POST", "path_regex": "oauth"}],
        "logs_contain": ["imported"], "logs_absent": ["last"], "last_log_line": "line one",
    }
    failures = check(block, result)
    text = "\n".join(failures)
    for fragment in [
        "exit: expected 0, got 1",
        "error_contains: 'tailnet not found' not found in stderr",
        "asset_count: expected 2, got 1",
        "asset_ids: missing ['x'], unexpected ['100000000001']",
        'assets[100000000001].os: expected "Windows", got "Linux"',
        'assets[100000000001].customAttributes.tailscale_online: expected "false", got "true"',
        "assets[100000000001].customAttributes.nope: missing",
        "assets[100000000001].customAttributes.tailscale_os: should be absent",
        "assets[100000000001].os: should be absent",
        "assets[100000000001].model: missing",
        "assets[missing-id]: no asset with this id",
        "requests: * /api/v2/tailnet/-/devices: expected 1, got 0",
        "POST /api/v2/oauth/token -> 200",
        "requests_absent: POST ~oauth: 1 made",
        "logs_contain: no stdout line contains 'imported'",
        "logs_absent: 'last' appears in stdout",
        "last_log_line: 'last words' does not match 'line one'",
    ]:
        assert fragment in text, fragment
    assert len(failures) == 16


def test_exit_nonzero_and_any(make_result):
    assert check({"exit": "nonzero"}, make_result(exit_code=0)) == [
        "exit: expected a non-zero exit code, got 0"]
    assert check({"exit": "nonzero"}, make_result(exit_code=2)) == []
    assert check({"exit": "any"}, make_result(exit_code=3)) == []
    assert check({}, make_result(exit_code=1)) == ["exit: expected 0, got 1"]


def test_request_count_bounds_are_reported(make_result, recorded):
    result = make_result(requests=[recorded("GET", "/a")] * 3)
    assert check({"requests": [{"path": "/a", "max": 2}]}, result)[0].startswith(
        "requests: * /a: expected at most 2, got 3")
    assert check({"requests": [{"path": "/a", "min": 4}]}, result)[0].startswith(
        "requests: * /a: expected at least 4, got 3")


def test_last_log_line_on_empty_stdout(make_result):
    assert check({"last_log_line": ".*"}, make_result()) == [
        "last_log_line: stdout is empty, expected a line matching '.*'"]


def test_a_run_killed_after_its_timeout(make_result):
    assert check({}, make_result(exit_code=None, timed_out=True, timeout=1)) == [
        "rzscript did not finish within 1s and was killed"]


def test_vulnerability_ids_are_compared_exactly_and_in_order(make_result, good_asset):
    asset = {**good_asset, "vulnerabilities": [{"id": "TS-2022-005"}, {"id": "tailscale-key-expired"}]}
    result = make_result(assets=[asset, {**good_asset, "id": "2"}])
    met = {"assets": {"100000000001": {"vulnerability_ids": ["TS-2022-005", "tailscale-key-expired"]},
                      "2": {"vulnerability_ids": []}}}
    assert check(met, result) == []
    assert check({"assets": {"100000000001": {"vulnerability_ids": ["tailscale-key-expired", "TS-2022-005"]}}},
                 result) == ['assets[100000000001].vulnerabilities: expected ids ["tailscale-key-expired", '
                             '"TS-2022-005"], got ["TS-2022-005", "tailscale-key-expired"]']
    assert check({"assets": {"100000000001": {"vulnerability_ids": []}}}, result) == [
        'assets[100000000001].vulnerabilities: expected ids [], got ["TS-2022-005", "tailscale-key-expired"]']
