"""Tests for the recorded sample tailnet and the synthetic tailnet generator.

- fixtures/tailnets/sample/{devices,posture}.json: valid, consistent, and covering
  every situation its README lists.
- harness/generate_tailnet.py: deterministic, unique identifiers, the same mix and
  the same field shapes as the sample, fast enough for 50,000 devices.
"""

import datetime as dt
import ipaddress
import json
import re
import subprocess
import sys
import time

import pytest

from harness import generate_tailnet as gen
from harness.hostnames import is_placeholder
from harness.paths import REPO_ROOT, TAILNETS_DIR
from harness.times import FIXTURES_NOW, parse_rfc3339

SAMPLE = TAILNETS_DIR / "sample"
GENERATOR = [sys.executable, "-m", "harness.generate_tailnet"]
NOW = parse_rfc3339(FIXTURES_NOW)
ZERO_TIME = "0001-01-01T00:00:00Z"
EXIT = {"0.0.0.0/0", "::/0"}
OS_FAMILIES = {"linux", "macOS", "windows", "iOS", "android", "tvOS", "freebsd"}
TS_V4 = ipaddress.ip_network("100.64.0.0/10")
TS_V6 = ipaddress.ip_network("fd7a:115c:a1e0::/48")
DOC_NETS = [ipaddress.ip_network(n) for n in (
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32",
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
HEX64 = re.compile(r"^[0-9a-f]{64}$")


@pytest.fixture(scope="module")
def sample():
    devices = json.loads((SAMPLE / "devices.json").read_text(encoding="utf-8"))
    posture = json.loads((SAMPLE / "posture.json").read_text(encoding="utf-8"))
    return devices, posture


@pytest.fixture(scope="module")
def generated():
    return gen.generate(2000, seed=1)


# ---- helpers --------------------------------------------------------------------

def ts(text):
    moment = parse_rfc3339(text)
    assert moment is not None, text
    return moment


def jtype(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(value)


def shape_of(objs):
    """(keys every object has, key -> set of JSON types seen)"""
    objs = list(objs)
    required = set(objs[0]) if objs else set()
    types = {}
    for o in objs:
        required &= set(o)
        for k, v in o.items():
            types.setdefault(k, set()).add(jtype(v))
    return required, types


def sample_shapes(devices):
    conns = [d["clientConnectivity"] for d in devices if "clientConnectivity" in d]
    return {
        "device": shape_of(devices),
        "clientConnectivity": shape_of(conns),
        "clientSupports": shape_of(c["clientSupports"] for c in conns),
        "latency": shape_of(v for c in conns for v in c["latency"].values()),
        "distro": shape_of(d["distro"] for d in devices if "distro" in d),
    }


def check_shape(obj, shape, what):
    required, types = shape
    missing = required - set(obj)
    assert not missing, "%s lacks %s" % (what, sorted(missing))
    for k, v in obj.items():
        assert k in types, "%s has key %r the sample never has" % (what, k)
        assert jtype(v) in types[k], "%s: %r is %s, sample has %s" % (
            what, k, jtype(v), sorted(types[k]))


def situations(d):
    """Labels for what a device represents, relative to NOW."""
    s = {"os:" + d["os"]}
    if d["isExternal"]:
        s.add("external")
    if d["isEphemeral"]:
        s.add("ephemeral")
    adv, en = set(d.get("advertisedRoutes", [])), set(d.get("enabledRoutes", []))
    if EXIT <= adv:
        s.add("exit-node" if EXIT <= en else "exit-node-pending")
    if adv - EXIT:
        s.add("subnet-router")
    if not d["authorized"]:
        s.add("unauthorized")
    if d.get("multipleConnections"):
        s.add("multiple-connections")
    if not d["connectedToControl"] and "lastSeen" not in d:
        s.add("never-connected")
    if "lastSeen" in d and NOW - ts(d["lastSeen"]) > dt.timedelta(days=60):
        s.add("stale")
    if not d["keyExpiryDisabled"] and d["expires"] != ZERO_TIME:
        exp = ts(d["expires"])
        if exp <= NOW:
            s.add("key-expired")
        elif exp - NOW <= dt.timedelta(days=14):
            s.add("key-expiring")
    if d["keyExpiryDisabled"] and d["expires"] != ZERO_TIME and ts(d["expires"]) < NOW:
        s.add("expiry-disabled-past-time")
    if d["tailnetLockError"]:
        s.add("tailnet-lock-error")
    if not d["hostname"].strip() or is_placeholder(d["hostname"]):
        s.add("placeholder-hostname")
    if " " in d["hostname"] or "'" in d["hostname"]:
        s.add("hostname-with-spaces")
    if d["updateAvailable"]:
        s.add("update-available")
    if d.get("postureIdentity", {}).get("serialNumbers"):
        s.add("serial-numbers")
    if d.get("tags"):
        s.add("tagged")
    if "distro" in d:
        s.add("distro:" + d["distro"]["name"])
    return s


def check_device_rules(d):
    """Rules every device (sample or generated) follows."""
    name = d.get("name", "?")
    # online devices have no lastSeen; untagged devices have no tags key
    if d["connectedToControl"]:
        assert "lastSeen" not in d, name
    if "tags" in d:
        assert d["tags"] and all(t.startswith("tag:") for t in d["tags"]), name
    if "multipleConnections" in d:
        assert d["multipleConnections"] is True, name
    # times consistent with now
    if d["created"]:
        assert ts(d["created"]) <= NOW, name
        if "lastSeen" in d:
            assert ts(d["created"]) <= ts(d["lastSeen"]) <= NOW, name
    if d["keyExpiryDisabled"] is False:
        assert d["expires"] != ZERO_TIME, name
    ts(d["expires"])
    # addresses
    v4, v6 = d["addresses"]
    assert ipaddress.ip_address(v4) in TS_V4, name
    assert ipaddress.ip_address(v6) in TS_V6, name
    assert str(ipaddress.ip_address(v6)) == v6, "non-canonical IPv6 %s" % v6
    assert d["name"].endswith(".tail0example.ts.net"), name
    assert d["user"].split("@")[1].endswith("example.com"), name
    assert d["nodeKey"].startswith("nodekey:") and HEX64.match(d["nodeKey"][8:]), name
    if d["isExternal"]:
        assert d["clientVersion"] == "" and d["created"] == "" and d["machineKey"] == ""
        assert "clientConnectivity" not in d
        assert d["expires"] == ZERO_TIME
    else:
        assert d["machineKey"].startswith("mkey:") and HEX64.match(d["machineKey"][5:]), name
        assert HEX64.match(d["tailnetLockKey"][6:]) and d["tailnetLockKey"].startswith("tlpub:")
        assert d["clientVersion"]
        cc = d["clientConnectivity"]
        assert cc["clientSupports"]["hairPinning"] is None
        if cc["latency"]:
            preferred = [r for r, v in cc["latency"].items() if v.get("preferred")]
            assert len(preferred) == 1, name
            assert all(v.get("preferred", True) is True for v in cc["latency"].values())
        for ep in cc["endpoints"]:
            host, port = ep.rsplit(":", 1)
            assert 0 < int(port) < 65536
            if host.startswith("["):
                assert host.endswith("]")
                host = host[1:-1]
            ip = ipaddress.ip_address(host)
            assert any(ip in n for n in DOC_NETS), "endpoint %s outside doc/private ranges" % ep
    for route in d["enabledRoutes"]:
        assert route in d["advertisedRoutes"], name


def check_posture_entry(entry, node_id):
    # Real answers usually carry no "expiries" key at all; when present it dates attributes.
    assert "attributes" in entry and set(entry) <= {"attributes", "expiries"}, node_id
    for k, v in entry["attributes"].items():
        assert re.match(r"^[A-Za-z0-9]+:[A-Za-z0-9_.]+$", k), k
        assert jtype(v) in ("string", "number", "bool"), (node_id, k)
    for k, v in entry.get("expiries", {}).items():
        assert k in entry["attributes"], (node_id, k)
        ts(v)
    if "node:os" in entry["attributes"]:
        assert entry["attributes"]["node:os"] == entry["attributes"]["node:os"].lower()


# ---- the sample fixture -----------------------------------------------------------

def test_sample_parses_and_ids_unique(sample):
    devices, posture = sample
    assert set(devices) == {"devices"}
    devs = devices["devices"]
    assert 12 <= len(devs) <= 14
    for key in ("id", "nodeId", "name"):
        values = [d[key] for d in devs]
        assert len(set(values)) == len(values), key
    addrs = [a for d in devs for a in d["addresses"]]
    assert len(set(addrs)) == len(addrs)
    assert all(isinstance(d["id"], str) and d["id"].isdigit() for d in devs)


def test_sample_device_rules(sample):
    for d in sample[0]["devices"]:
        check_device_rules(d)


def test_sample_posture_keys_are_device_node_ids(sample):
    devices, posture = sample
    by_node = {d["nodeId"]: d for d in devices["devices"]}
    assert set(posture) <= set(by_node)
    missing = [n for n in by_node if n not in posture]
    external = [n for n, d in by_node.items() if d["isExternal"]]
    assert set(external) <= set(missing)
    assert len(missing) == 3  # two plain devices + the external one
    for node_id, entry in posture.items():
        assert not by_node[node_id]["isExternal"]
        check_posture_entry(entry, node_id)
    keys = {k for e in posture.values() for k in e["attributes"]}
    for prefix in ("node:os", "node:osVersion", "node:tsVersion", "node:tsReleaseTrack",
                   "node:tsAutoUpdate", "custom:", "falcon:ztaScore", "jamfPro:", "intune:",
                   "sentinelOne:"):
        assert any(k.startswith(prefix) for k in keys), prefix
    windows = [n for n, d in by_node.items() if d["os"] == "windows"]
    assert any(k.startswith("intune:") for n in windows for k in posture[n]["attributes"])


def test_sample_covers_readme_situations(sample):
    devs = sample[0]["devices"]
    found = set()
    for d in devs:
        found |= situations(d)
    needed = {
        "external", "ephemeral", "exit-node", "exit-node-pending", "subnet-router",
        "unauthorized", "multiple-connections", "never-connected", "stale", "key-expiring",
        "key-expired", "tailnet-lock-error", "placeholder-hostname", "hostname-with-spaces",
        "update-available", "serial-numbers", "expiry-disabled-past-time",
        "distro:ubuntu", "distro:alpine",
    } | {"os:" + f for f in OS_FAMILIES}
    assert needed <= found, sorted(needed - found)
    # iPhone and iPad are both iOS
    hosts = {d["hostname"] for d in devs if d["os"] == "iOS"}
    assert any("iPhone" in h for h in hosts) and any("iPad" in h for h in hosts)
    # the macOS laptop carries serial numbers and an available update
    mac = [d for d in devs if d["os"] == "macOS"]
    assert any(d["updateAvailable"] and d["postureIdentity"].get("serialNumbers") for d in mac)
    # the subnet router is an ubuntu box with tags
    assert any("subnet-router" in situations(d) and "distro:ubuntu" in situations(d) and d.get("tags")
               for d in devs)
    # endpoints: public, RFC 1918 and IPv6 forms appear
    eps = [e for d in devs for e in d.get("clientConnectivity", {}).get("endpoints", [])]
    assert any(e.startswith("[") for e in eps)
    v4 = [ipaddress.ip_address(e.rsplit(":", 1)[0]) for e in eps if not e.startswith("[")]
    assert any(any(ip in n for n in DOC_NETS[:3]) for ip in v4)   # RFC 5737 public
    assert any(any(ip in n for n in DOC_NETS[4:]) for ip in v4)   # RFC 1918


def test_sample_readme_lists_every_device(sample):
    devs = sample[0]["devices"]
    text = (SAMPLE / "README.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if re.match(r"^\| \d+ \|", line)]
    listed = re.findall(r"nEXMPL\d{4}CNTRL", "\n".join(rows))
    assert sorted(listed) == sorted(d["nodeId"] for d in devs)
    for d in devs:
        label = d["name"].split(".")[0]
        assert any("`%s`, `%s`" % (label, d["nodeId"]) in row for row in rows), label


# ---- the generator -------------------------------------------------------------------

def test_generator_same_seed_same_bytes(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    gen.write(str(a), 500, seed=7)
    gen.write(str(b), 500, seed=7)
    gen.write(str(c), 500, seed=8)
    for name in ("devices.json", "posture.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
        assert (a / name).read_bytes() != (c / name).read_bytes(), name


def test_generator_cli_matches_library(tmp_path):
    out = tmp_path / "cli"
    subprocess.run([*GENERATOR, "--devices", "300", "--out", str(out)], cwd=REPO_ROOT, check=True,
                   capture_output=True)
    devices, posture = gen.generate(300, seed=1)
    assert (out / "devices.json").read_bytes() == gen.encode(devices)
    assert (out / "posture.json").read_bytes() == gen.encode(posture)
    again = tmp_path / "cli2"
    subprocess.run([*GENERATOR, "--devices", "300", "--out", str(again), "--seed", "1"], cwd=REPO_ROOT,
                   check=True, capture_output=True)
    assert (again / "devices.json").read_bytes() == (out / "devices.json").read_bytes()


def test_generator_rejects_bad_arguments(tmp_path):
    r = subprocess.run([*GENERATOR, "--devices", "-1", "--out", str(tmp_path / "x")], cwd=REPO_ROOT,
                       capture_output=True)
    assert r.returncode == 2


def test_generator_small_and_empty():
    devices, posture = gen.generate(0)
    assert devices == {"devices": []} and posture == {}
    devices, _ = gen.generate(3, seed=5)
    assert len(devices["devices"]) == 3


def test_generator_unique_identifiers(generated):
    devs = generated[0]["devices"]
    assert len(devs) == 2000
    for key in ("id", "nodeId", "name"):
        values = [d[key] for d in devs]
        assert len(set(values)) == len(values), key
    for pos in (0, 1):
        values = [d["addresses"][pos] for d in devs]
        assert len(set(values)) == len(values), pos
    keys = [d["nodeKey"] for d in devs] + [d["machineKey"] for d in devs if d["machineKey"]]
    assert len(set(keys)) == len(keys)


def test_generator_mix_contains_every_kind(generated):
    devs = generated[0]["devices"]
    found = {}
    for d in devs:
        for s in situations(d):
            found[s] = found.get(s, 0) + 1
    needed = {
        "external", "ephemeral", "exit-node", "exit-node-pending", "subnet-router",
        "unauthorized", "multiple-connections", "never-connected", "stale", "key-expiring",
        "key-expired", "tailnet-lock-error", "placeholder-hostname", "hostname-with-spaces",
        "update-available", "serial-numbers", "tagged", "distro:ubuntu", "distro:alpine",
    } | {"os:" + f for f in OS_FAMILIES}
    assert needed <= set(found), sorted(needed - set(found))
    assert {d["os"] for d in devs} == OS_FAMILIES
    # a realistic mix, not a degenerate one
    n = len(devs)
    assert 0.01 * n < found["external"] < 0.1 * n
    assert found["os:windows"] > 0.08 * n and found["os:macOS"] > 0.08 * n
    assert found["os:linux"] > 0.2 * n
    online = sum(d["connectedToControl"] for d in devs)
    assert 0.4 * n < online < 0.8 * n


def test_every_kind_present_even_when_small():
    devs = gen.generate(len(gen.KINDS), seed=3)[0]["devices"]
    found = set()
    for d in devs:
        found |= situations(d)
    assert {"external", "ephemeral", "subnet-router"} <= found
    assert {d["os"] for d in devs} == OS_FAMILIES


def test_generator_fields_match_sample(sample, generated):
    shapes = sample_shapes(sample[0]["devices"])
    for d in generated[0]["devices"]:
        what = d["nodeId"]
        check_shape(d, shapes["device"], what)
        check_device_rules(d)
        if "clientConnectivity" in d:
            cc = d["clientConnectivity"]
            check_shape(cc, shapes["clientConnectivity"], what)
            check_shape(cc["clientSupports"], shapes["clientSupports"], what)
            for v in cc["latency"].values():
                check_shape(v, shapes["latency"], what)
        if "distro" in d:
            check_shape(d["distro"], shapes["distro"], what)
        if "postureIdentity" in d:
            identity = d["postureIdentity"]
            assert set(identity) <= {"serialNumbers", "disabled", "hardwareAddresses"}
            assert not (identity.get("disabled") and identity.get("hardwareAddresses")), what
        assert all(jtype(a) == "string" for a in d["addresses"] + d["enabledRoutes"] +
                   d["advertisedRoutes"] + d.get("tags", []))


def test_generator_posture_keys_are_node_ids(generated):
    devices, posture = generated
    by_node = {d["nodeId"]: d for d in devices["devices"]}
    assert set(posture) <= set(by_node)
    assert not any(by_node[n]["isExternal"] for n in posture)
    assert 0.7 * len(by_node) < len(posture) < len(by_node)  # most, not all
    for node_id, entry in posture.items():
        check_posture_entry(entry, node_id)
    keys = {k.split(":")[0] + ":" for e in posture.values() for k in e["attributes"]}
    assert {"node:", "custom:", "falcon:", "jamfPro:", "intune:", "sentinelOne:"} <= keys


def test_generator_device_size_like_sample(sample, generated):
    def avg(devs):
        return sum(len(json.dumps(d, separators=(",", ":"), ensure_ascii=False))
                   for d in devs) / len(devs)
    ratio = avg(generated[0]["devices"]) / avg(sample[0]["devices"])
    assert 0.7 < ratio < 1.4, ratio


def test_generator_50k_is_fast():
    started = time.monotonic()
    devices, posture = gen.generate(50000, seed=1)
    body = gen.encode(devices)
    elapsed = time.monotonic() - started
    assert elapsed < 30, elapsed
    devs = devices["devices"]
    assert len(devs) == 50000
    assert len({d["nodeId"] for d in devs}) == 50000
    assert len({d["addresses"][0] for d in devs}) == 50000
    assert len({d["name"] for d in devs}) == 50000
    assert 40e6 < len(body) < 90e6


def is_hardware_mac(value):
    """A universally administered unicast MAC, as the script keeps them."""
    octets = value.split(":")
    return len(octets) == 6 and int(octets[0], 16) & 0x03 == 0 and value != "00:00:00:00:00:00"


@pytest.mark.parametrize("source", ["sample", "generated"])
def test_data_has_what_the_real_api_sends(source, sample, generated):
    """MACs (with a locally administered one and junk among them), ip:country, posture answers
    without an expiries key, and a shared-in device with Tailscale's empty fields."""
    devices, posture = sample if source == "sample" else generated
    macs = [m for d in devices["devices"] for m in (d.get("postureIdentity") or {}).get("hardwareAddresses", [])]
    assert any(is_hardware_mac(m) for m in macs)
    assert any(re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", m.lower()) and not is_hardware_mac(m.lower())
               for m in macs), "no locally administered or zero MAC"
    assert any(not re.fullmatch(r"([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}", m) for m in macs), "no junk MAC value"
    assert any("ip:country" in entry["attributes"] for entry in posture.values())
    assert any("expiries" not in entry for entry in posture.values())
    external = [d for d in devices["devices"] if d["isExternal"]]
    assert any(d["created"] == "" and d["clientVersion"] == "" and d["machineKey"] == ""
               and d["expires"] == "0001-01-01T00:00:00Z" for d in external)


def test_the_harness_does_not_import_from_bench():
    """The tests and the oracle use the generator, so it lives in harness/; bench/ builds on the
    harness, never the other way round."""
    importing = [path.name for path in (REPO_ROOT / "harness").glob("*.py")
                 if re.search(r"^\s*(from|import)\s+bench\b", path.read_text(encoding="utf-8"), re.M)]
    assert importing == []
