"""Tailscale's own test data, served to the script as a scenario.

`testdata/devices.json` of Tailscale's Go client (tailscale.com/client/tailscale/v2, pinned in
oracle/go.mod) is read from the Go module cache at test time, never copied into the repository.
It is real-shape data written by Tailscale: a shared-in device with the empty `created`,
`clientVersion` and `machineKey` and the zero `expires` such devices have, an ephemeral device
that opted out of posture identity, and the same node listed a second time. A careful import
gives one asset per node: the shared-in device without a first-seen time, software, posture
request or findings, the repeated node skipped and counted, and the other device's findings pinned."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from harness.expectations import check_expectations
from harness.invariants import run_invariants
from harness.paths import REPO_ROOT
from harness.run import run_scenario
from harness.scenario import scenario_from_dict

CLIENT_MODULE = "tailscale.com/client/tailscale/v2"


@pytest.fixture(scope="module")
def testdata_dir() -> Path:
    """The client module's testdata directory, downloaded through the Go module proxy if the
    module cache lacks it (the version is the one oracle/go.mod pins)."""
    out = subprocess.run(["go", "mod", "download", "-json", CLIENT_MODULE], cwd=REPO_ROOT / "oracle",
                         capture_output=True, text=True, timeout=300, check=True).stdout
    return Path(json.loads(out)["Dir"]) / "testdata"


def expected_assets() -> dict:
    common_absent = ["tailscale_key_expiry", "tailscale_key_expired", "tailscale_key_expiring"]
    return {
        "tailscale-50052": {
            "hostnames": ["hello.example.com", "hello"],
            "domain": "example.com",
            "networkInterfaces": [{"ipv4Addresses": ["100.101.102.103"],
                                   "ipv6Addresses": ["fd7a:115c:a1e0:ab12:4843:cd96:6265:6667"]}],
            "os": "Linux",
            "trustOS": True,
            "tags": ["tailscale", "tailscale-external"],
            "software": [],
            # Shared in: only the client's own checks apply, and it reports no version and no update.
            "vulnerability_ids": [],
            "absent": ["firstSeenTS", "osVersion"],
            "customAttributes": {
                "tailscale_node_id": "nTESTJ30", "tailscale_is_external": "true",
                "tailscale_user": "services@example.com",
                "tailscale_key_expiry_disabled": "true", "tailscale_online": "false",
                "tailscale_last_seen": "2022-04-15T13:24:40Z", "tailscale_stale": "true",
                "tailscale_serial_numbers": "CP74LFQJXM",
            },
            "customAttributes_absent": ["tailscale_created", "tailscale_created_ts", "tailscale_client_version",
                                        "tailscale_machine_key", "tailscale_posture_identity_disabled"] + common_absent,
        },
        "tailscale-50053": {
            "hostnames": ["foo.example.com", "foo"],
            "networkInterfaces": [{"ipv4Addresses": ["100.121.200.21"],
                                   "ipv6Addresses": ["fd7a:115c:a1e0:ab12:4843:cd96:6265:e618"]}],
            "firstSeenTS": "2022-03-05T17:10:27Z",
            "os": "Linux",
            "tags": ["tailscale", "tailscale-ephemeral"],
            # A 2022 Linux client, offline since 2022-04-15, untagged with key expiry disabled.
            "vulnerability_ids": ["TS-2022-005", "TS-2023-006", "TS-2024-005", "tailscale-key-expiry-disabled",
                                  "tailscale-device-stale"],
            "software": [{"id": "tailscale-client-50053", "vendor": "Tailscale", "product": "Tailscale",
                          "version": "1.22.2"}],
            "customAttributes": {
                "tailscale_client_version": "1.22.2-t60b671955-gecc5d9846", "tailscale_ephemeral": "true",
                "tailscale_posture_identity_disabled": "true", "tailscale_created_ts": "1646500227",
                "tailscale_last_seen": "2022-04-15T13:25:21Z",
            },
            "customAttributes_absent": ["tailscale_serial_numbers", "tailscale_hardware_addresses"] + common_absent,
        },
    }


def test_tailscales_own_testdata_imports_carefully(testdata_dir, rzscript, tailscale_script):
    scenario = scenario_from_dict({
        "description": "Tailscale's own testdata/devices.json, read with an API access token.",
        "tailnet": str(testdata_dir),
        "expect": {
            "exit": 0,
            "asset_ids": ["tailscale-50052", "tailscale-50053"],
            "assets": expected_assets(),
            "requests": [
                {"method": "GET", "path": "/api/v2/tailnet/-/devices", "query": {"fields": "all"}, "count": 1},
                {"method": "GET", "path_regex": "/attributes$", "count": 1},
                {"method": "GET", "path": "/api/v2/device/nTESTJ31/attributes", "count": 1},
                {"method": "GET", "path": "/api/v2/tailnet/-/vip-services", "count": 1},
            ],
            "logs_contain": ["tailscale: skipped 1 device(s): duplicate id (first: foo.example.com)"],
            "last_log_line": r"tailscale: imported 2 assets from 3 devices \(skipped 1: 1 duplicate id\); posture: "
                             r"1 fetched, 0 unavailable, 1 not applicable \(shared in\); findings: 5 on 1 assets "
                             r"\(commonest: TS-2022-005 1, TS-2023-006 1, TS-2024-005 1\); services: 0 imported",
        },
    }, name="tailscale_testdata")
    result = run_scenario(scenario, "none", script=tailscale_script, rzscript=rzscript)
    failures = check_expectations(scenario.expect, result) + run_invariants(result, {})
    assert not failures, "\n".join(failures) + "\n" + result.summary()
