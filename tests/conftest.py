"""Shared fixtures. Tests that run the integration ask for `rzscript` and `tailscale_script`;
the harness's own unit tests use a stand-in rzscript (`fake_rzscript`), a small tailnet, and
results built in memory (`make_result`)."""

from __future__ import annotations

import copy
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from harness.canned_server import RecordedRequest
from harness.paths import display_path, rzscript_path, script_path
from harness.results import ScenarioResult, Traffic
from harness.rzscript import RzscriptRun
from harness.schema import DEFAULT_API_KEY
from harness.tailnet import Tailnet

AUTH = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}

DEVICES = [
    {
        "id": "100000000001",
        "nodeId": "nTEST0001CNTRL",
        "hostname": "router",
        "name": "router.tail0example.ts.net",
        "addresses": ["100.64.0.1", "fd7a:115c:a1e0::1"],
        "os": "linux",
        "isEphemeral": False,
        "tags": ["tag:server", "tag:router"],
        "enabledRoutes": ["10.0.0.0/8"],
        "advertisedRoutes": ["10.0.0.0/8", "192.168.0.0/16"],
        "clientConnectivity": {"endpoints": ["203.0.113.7:41641", "[2001:db8::7]:41641"]},
        "postureIdentity": {"disabled": True},
        "sshEnabled": True,
        "distro": {"name": "debian", "version": "13"},
    },
    {
        "id": "100000000002",
        "nodeId": "nTEST0002CNTRL",
        "hostname": "laptop",
        "name": "laptop.tail0example.ts.net",
        "addresses": ["100.64.0.2"],
        "os": "macOS",
        "isEphemeral": True,
        "tags": ["tag:server"],
    },
    {"id": "100000000003", "nodeId": "nTEST0003CNTRL", "hostname": "phone", "os": "iOS", "isEphemeral": False},
]
POSTURE = {"nTEST0001CNTRL": {"attributes": {"node:os": "linux"}, "expiries": {}}}
GOOD_ASSET = {
    "id": "100000000001",
    "hostnames": ["router"],
    "networkInterfaces": [{"ipv4Addresses": ["100.64.0.1"], "ipv6Addresses": ["fd7a:115c:a1e0::1"]}],
    "os": "Linux",
    "tags": ["tailscale", "tag:server"],
    "firstSeenTS": "2025-03-14T09:26:53Z",
    "lastSeenTS": "2026-11-28T09:14:22Z",
    "customAttributes": {"tailscale_online": "true", "tailscale_os": "linux"},
}


@pytest.fixture(scope="session")
def rzscript() -> Path:
    path = rzscript_path()
    if not path.is_file():
        pytest.fail(
            f"{display_path(path)} is missing: the scenario tests run the integration with it. "
            "Build it and run the tests with `make test` (or `make bin/rzscript`, or set RZSCRIPT).",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def tailscale_script() -> Path:
    path = script_path()
    if not path.is_file():
        pytest.fail(f"{display_path(path)} is missing (or set TAILSCALE_STAR to the script to test)", pytrace=False)
    return path


@pytest.fixture(scope="session")
def devices() -> list[dict]:
    """The devices of the small test tailnet (`tailnet`, `tailnet_dir`): a router with
    endpoints and every all-only field, an ephemeral laptop, a phone with no addresses."""
    return DEVICES


@pytest.fixture(scope="session")
def posture() -> dict:
    return POSTURE


@pytest.fixture
def good_asset() -> dict:
    """An asset that passes every invariant (the router of the test tailnet, as the script maps it)."""
    return copy.deepcopy(GOOD_ASSET)


@pytest.fixture(scope="module")
def tailnet() -> Tailnet:
    return Tailnet(devices=DEVICES, posture=POSTURE, name="test")


@pytest.fixture
def tailnet_dir(tmp_path) -> Path:
    directory = tmp_path / "tn"
    directory.mkdir()
    (directory / "devices.json").write_text(json.dumps({"devices": DEVICES}, indent=2))
    (directory / "posture.json").write_text(json.dumps(POSTURE))
    return directory


@pytest.fixture
def fetch():
    """call(url, method, headers, data) -> (status, parsed JSON or text, headers)."""

    def call(url, method="GET", headers=None, data=None, timeout=5):
        request = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, raw, head = response.status, response.read(), response.headers
        except urllib.error.HTTPError as exc:
            status, raw, head = exc.code, exc.read(), exc.headers
        try:
            return status, json.loads(raw), head
        except ValueError:
            return status, raw.decode(), head

    return call


@pytest.fixture
def make_result():
    """A ScenarioResult built in memory: rzscript's output (stdout, stderr, assets) and what
    the mock saw (requests, issued tokens, served device lists)."""

    def make(assets=(), stdout="", stderr="", exit_code=0, requests=(), issued_tokens=(), device_lists=(),
             secrets=(), assets_text=None, **run_fields):
        text = "".join(json.dumps(a) + "\n" for a in assets) if assets_text is None else assets_text
        return ScenarioResult(
            name="test",
            run=RzscriptRun(exit_code=exit_code, stdout=stdout, stderr=stderr, assets_text=text, **run_fields),
            traffic=Traffic(list(requests), list(issued_tokens), [json.dumps(b).encode() for b in device_lists]),
            secrets=list(secrets),
        )

    return make


@pytest.fixture
def recorded():
    """recorded(method, path, query, headers): a request as the mock records it, answered 200."""

    def make(method, path, query=None, headers=None) -> RecordedRequest:
        return RecordedRequest(method, path, query or {}, headers or {}, "", status=200)

    return make


FAKE_RZSCRIPT = '''\
import argparse, json, sys, time, urllib.request
p = argparse.ArgumentParser()
p.add_argument("--filename"); p.add_argument("--kwargs", action="append", default=[])
p.add_argument("--route", action="append", default=[]); p.add_argument("--output"); p.add_argument("--stats")
p.add_argument("--now"); p.add_argument("--strict", action="store_true"); p.add_argument("--transport-errors")
p.add_argument("--invalid-ip")
a = p.parse_args()
plan = json.loads(open(a.filename).read().split("#PLAN ", 1)[1])
kwargs = dict(k.split("=", 1) for k in a.kwargs)
base = a.route[0].split("=", 1)[1] if a.route else ""
for line in open(a.filename):
    if line.startswith("INCLUDE_POSTURE"):
        print("setting", line.strip())
print("kwargs", sorted(kwargs), "strict", a.strict, "mode", a.transport_errors, "now", a.now,
      "invalid_ip", a.invalid_ip)
for path in plan.get("get", []):
    req = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + kwargs["access_secret"]})
    try:
        print("GET", path, urllib.request.urlopen(req).status)
    except Exception as e:
        print("GET", path, e.code)
time.sleep(plan.get("sleep", 0))
with open(a.output, "w") as f:
    for asset in plan.get("assets", []):
        f.write(json.dumps(asset) + "\\n")
json.dump({"assets": len(plan.get("assets", [])), "exit_code": plan.get("exit", 0)}, open(a.stats, "w"))
if plan.get("exit"):
    print("boom: " + plan.get("error", ""), file=sys.stderr)
sys.exit(plan.get("exit", 0))
'''


@pytest.fixture
def fake_rzscript(tmp_path) -> Path:
    """A stand-in for bin/rzscript: it runs the plan (JSON after `#PLAN `) in the script file."""
    path = tmp_path / "rzscript"
    path.write_text(f"#!{sys.executable}\n" + FAKE_RZSCRIPT)
    path.chmod(0o755)
    return path


@pytest.fixture
def fake_script(tmp_path):
    """fake_script(plan, name): a script file for fake_rzscript."""

    def write(plan, name="fake.star"):
        path = tmp_path / name
        path.write_text("INCLUDE_POSTURE = True\n#PLAN " + json.dumps(plan) + "\n")
        return path

    return write
