"""Property-based fuzzing: tailscale.star on generated device lists full of junk.

Each hypothesis example is one rzscript run through the scenario runner
(harness.run) against the mock API: a device list of up to FUZZ_MAX_DEVICES
entries built from the real field shapes of Tailscale's device object, with junk
injected at random into any field (wrong types, nulls, strings of 1,025 to 6,000 units,
unicode and control characters, huge numbers, bad addresses, bad times, duplicate and
unusable ids, entries that are not objects), plus random settings (INCLUDE_POSTURE with
generated posture answers, INCLUDE_EXTERNAL_DEVICES, ENDPOINT_INTERFACES).

Properties of every run:
- it exits 0: no junk in the list aborts the import;
- the assets are exactly one `tailscale-<id>` per device with a usable id, in list order
  (usable: the legacy `id`, else `nodeId`, as a string of [A-Za-z0-9_.-] of at most 200
  characters after trimming whitespace, or an integer; the first device with an id wins,
  and a shared-in device is left out only when INCLUDE_EXTERNAL_DEVICES is off), and each
  asset carries the ids of that first device;
- every asset passes the global invariants of harness/invariants.py (runzero-sdk
  validation, attribute limits, no bad addresses, no future timestamps, no secrets...);
  with ENDPOINT_INTERFACES "none" that includes: no endpoint address of the served list on an
  interface (other settings put endpoints there on purpose).

Environment variables:
- FUZZ_EXAMPLES (default 100): examples, i.e. rzscript runs (about 0.1 s each with
  generation; the default keeps this test near 10 s, far under the two-minute CI budget).
- FUZZ_SEED: unset = derandomized, the same examples on every run (what CI needs);
  an integer = that seed; `random` = a new seed each run (hypothesis prints how to
  reproduce a failure).
- FUZZ_MAX_DEVICES (default 8): the most devices in one generated list.
- FUZZ_SHRINK (default 1): 0 skips shrinking a failing example to a minimal one (shrinking
  reruns the script hundreds of times, which can take minutes).

A longer hunt: `FUZZ_EXAMPLES=2000 FUZZ_SEED=random .venv/bin/python -m pytest -q tests/test_fuzz.py`.
A failing example is also written to out/fuzz-failure.yaml, a scenario file that
`.venv/bin/python -m harness.preview --scenario out/fuzz-failure.yaml` replays.
"""

from __future__ import annotations

import os
import string
from datetime import datetime

import yaml
from hypothesis import HealthCheck, Phase, given, note, seed, settings
from hypothesis import strategies as st

from harness.invariants import run_invariants
from harness.paths import OUT_DIR, display_path
from harness.run import run_scenario
from harness.scenario import scenario_from_dict

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
FUZZ_SEED = os.environ.get("FUZZ_SEED", "").strip()
FUZZ_MAX_DEVICES = int(os.environ.get("FUZZ_MAX_DEVICES", "8"))
FUZZ_SHRINK = os.environ.get("FUZZ_SHRINK", "1").strip() not in ("0", "no", "false")
FAILURE_FILE = OUT_DIR / "fuzz-failure.yaml"

# ---------------------------------------------------------------------------- the script's id rules, in Python

# Go's unicode.IsSpace, which Starlark's str.strip() uses (Python's strip also drops \x1c-\x1f).
GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
ID_CHARS = frozenset(string.ascii_letters + string.digits + "_.-")


def usable_id(value):
    """tailscale.star's usable_id: an id safe for an asset id and a URL path, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        return None
    value = value.strip(GO_SPACE)
    if not value or len(value.encode()) > 200 or any(char not in ID_CHARS for char in value):
        return None
    if not value.strip("."):
        return None  # a "." or ".." path segment would name another API path
    return value


def device_id_of(device):
    """tailscale.star's device_id_of: the legacy id, else the nodeId."""
    legacy = usable_id(device.get("id"))
    return legacy if legacy is not None else usable_id(device.get("nodeId"))


def expected_assets(devices, include_external):
    """Asset ids in order, the device each comes from (duplicates: the first wins), and whether
    the run must fail: devices were listed, none is importable, and some of them are junk rather
    than left out by the INCLUDE_EXTERNAL_DEVICES setting."""
    order, first, junk = [], {}, False
    for device in devices:
        if not isinstance(device, dict):
            junk = True
            continue
        device_id = device_id_of(device)
        if device_id is None or "tskey-" in device_id:
            junk = True  # no usable id, or one shaped like a credential
            continue
        if device_id in first:
            continue
        if device.get("isExternal") is True and not include_external:
            continue  # not marked as seen: a later device with this id is imported
        first[device_id] = device
        order.append("tailscale-" + device_id)
    return order, first, not order and junk


# ---------------------------------------------------------------------------- strategies

texts = st.text(max_size=24)
huge_texts = st.builds(
    lambda unit, count: unit * count,
    st.sampled_from(["x", "7", "é", "€", "😀", "a b", "\n", "\x00", "tag:", "100.64.0.1,"]),
    st.integers(1025, 6000),
)
numbers = st.one_of(
    st.integers(-(10**6), 10**6),
    st.integers(-(10**90), 10**90),
    st.floats(allow_nan=False, allow_infinity=False),
)
scalar_junk = st.one_of(st.none(), st.booleans(), numbers, texts, huge_texts)
junk = st.recursive(
    scalar_junk,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)),
    max_leaves=8,
)


def maybe_junk_items(real, max_size=6):
    """A list of real values with junk items mixed in."""
    return st.lists(st.one_of(real, real, real, scalar_junk), max_size=max_size)


pad = st.text(alphabet=GO_SPACE + "\x1c\x1f", min_size=1, max_size=2)
legacy_ids = st.integers(100000000001, 100000000030).map(str)  # a small pool, so duplicates happen
node_ids = st.integers(1, 30).map(lambda n: f"nFUZZ{n:04d}CNTRL")
ids = st.one_of(
    legacy_ids, legacy_ids, legacy_ids,
    st.integers(100000000001, 100000000030),                       # the same ids as JSON numbers
    st.builds(lambda a, i, b: a + i + b, pad, legacy_ids, pad),    # padded (strippable or not)
    st.sampled_from(["", "   ", "12 34", "a/b", "../keys", "x" * 201, "9" * 200, "-", "n.ode_id-1"]),
    texts,
    scalar_junk,
)
node_id_values = st.one_of(node_ids, node_ids, node_ids, legacy_ids, ids)

ipv4 = st.builds(lambda a, b, c: f"100.{a}.{b}.{c}", st.integers(64, 127), st.integers(0, 255), st.integers(1, 254))
ipv6 = st.integers(1, 0xFFFF).map(lambda n: f"fd7a:115c:a1e0::{n:x}")
bad_addresses = st.sampled_from([
    "127.0.0.1", "::1", "169.254.1.1", "fe80::1", "fe80::1%eth0", "0.0.0.0", "::", "224.0.0.1", "ff02::1",
    "::ffff:100.64.0.1", "100.64.0.300", "1.2.3", "100.064.0.1", "not-an-ip", "", " ", "/32", "1.2.3.4.5", ":::",
])
addresses = st.one_of(
    ipv4, ipv4, ipv6, ipv6,
    st.builds(lambda a: a + "/32", ipv4),
    st.builds(lambda a: a + "%tailscale0", ipv6),
    st.builds(lambda a: a.upper(), ipv6),
    st.builds(lambda p, a: p + a + p, st.sampled_from([" ", "\t", "\n"]), ipv4),
    bad_addresses,
)
endpoint_hosts = st.one_of(
    st.builds(lambda c: f"203.0.113.{c}", st.integers(1, 254)),
    st.builds(lambda c: f"192.168.7.{c}", st.integers(1, 254)),
    st.builds(lambda n: f"[2001:db8:77::{n:x}]", st.integers(1, 0xFFFF)),
    st.builds(lambda n: f"[fd00:77::{n:x}]", st.integers(1, 0xFFFF)),
    st.sampled_from(["127.0.0.1", "[::1]", "169.254.9.9", "[fe80::9]", "[fe80::9%en0]", "100.100.100.100",
                     "[fd7a:115c:a1e0::99]", "0.0.0.0", "not-a-host", ""]),
)
endpoints = st.one_of(
    st.builds(lambda h, p: f"{h}:{p}", endpoint_hosts, st.one_of(st.integers(0, 65535), st.just("x"), st.just(""))),
    endpoint_hosts,
    texts,
)


def rfc3339(moment, style):
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if style == 1:
        text += ".%06d" % moment.microsecond
    if style == 2:
        return text + "-05:00"
    return text + "Z"


past = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2026, 11, 27))
future = st.datetimes(min_value=datetime(2026, 11, 29), max_value=datetime(2999, 12, 31))
times = st.one_of(
    st.builds(rfc3339, past, st.integers(0, 2)),
    st.builds(rfc3339, past, st.integers(0, 2)),
    st.builds(rfc3339, future, st.integers(0, 2)),
    st.sampled_from([
        "0001-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "2026-02-30T10:00:00Z", "2026-13-01T00:00:00Z",
        "2026-06-01T24:00:00Z", "2026-06-01T12:00:60Z", "2026-06-01 12:00:00Z", "2026-06-01T12:00:00",
        "2026-06-01T12:00:00.1234567890Z", "2026-06-01T12:00:00+24:00", "yesterday", "", "0",
    ]),
    st.builds(  # a valid time with one character replaced
        lambda moment, at, char: (lambda t: t[:at % len(t)] + char + t[at % len(t) + 1:])(rfc3339(moment, 0)),
        past, st.integers(0, 40), st.sampled_from(list("0123456789-:TZ+. x")),
    ),
)
dns_names = st.builds(lambda label: f"{label}.tail0example.ts.net",
                      st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True))
names = st.one_of(
    dns_names, dns_names,
    st.sampled_from(["localhost", "localhost.tail0example.ts.net", "Alice's MacBook Pro", "büro-pc.ts.net",
                     "🚀 rocket", "100.64.0.1", "-bad-.ts.net", "UPPER.Example.TS.NET."]),
    texts, huge_texts,
)
tags = st.one_of(st.from_regex(r"tag:[a-z][a-z0-9-]{0,12}", fullmatch=True), st.just("tag:🚀"), texts)
routes = st.sampled_from(["0.0.0.0/0", "::/0", "10.20.0.0/16", "192.168.50.0/24", "fd00:1::/64", "not-a-route", ""])
latency = st.dictionaries(
    st.one_of(st.sampled_from(["Frankfurt", "New York City", "Zürich", ""]), texts),
    st.one_of(
        st.fixed_dictionaries({"latencyMs": st.one_of(numbers, junk)},
                              optional={"preferred": st.one_of(st.booleans(), junk)}),
        junk,
    ),
    max_size=4,
)
connectivity = st.fixed_dictionaries({}, optional={
    "endpoints": st.one_of(maybe_junk_items(endpoints), junk),
    "mappingVariesByDestIP": st.one_of(st.booleans(), junk),
    "latency": st.one_of(latency, junk),
    "clientSupports": st.one_of(
        st.dictionaries(st.sampled_from(["hairPinning", "ipv6", "pcp", "pmp", "udp", "upnp", "UPnP", "other"]),
                        st.one_of(st.booleans(), st.none(), junk), max_size=6),
        junk,
    ),
})

FIELDS = {
    "id": ids,
    "nodeId": node_id_values,
    "addresses": maybe_junk_items(addresses, max_size=8),
    "user": st.one_of(st.just("alice@example.com"), texts),
    "name": names,
    "hostname": names,
    "clientVersion": st.sampled_from(
        ["1.94.1", "1.96.4-t5d0f3b8a1-g9c2e7a4f0", "v1.36.0", "date.20201107", "", "1..2"]),
    "updateAvailable": st.booleans(),
    "os": st.sampled_from(["linux", "windows", "macOS", "iOS", "android", "tvOS", "freebsd", "plan9", "Linux 🐧", ""]),
    "created": times,
    "connectedToControl": st.booleans(),
    "lastSeen": times,
    "keyExpiryDisabled": st.booleans(),
    "expires": times,
    "authorized": st.booleans(),
    "isExternal": st.booleans(),
    "isEphemeral": st.booleans(),
    "multipleConnections": st.booleans(),
    "blocksIncomingConnections": st.booleans(),
    "sshEnabled": st.booleans(),
    "machineKey": st.just("mkey:" + "a" * 64),
    "nodeKey": st.just("nodekey:" + "b" * 64),
    "tailnetLockKey": st.just("tlpub:" + "c" * 64),
    "tailnetLockError": st.one_of(st.just(""), texts),
    "tags": st.one_of(maybe_junk_items(tags), st.lists(tags, min_size=90, max_size=130)),
    "advertisedRoutes": maybe_junk_items(routes),
    "enabledRoutes": maybe_junk_items(routes),
    "clientConnectivity": connectivity,
    "postureIdentity": st.one_of(
        st.fixed_dictionaries({"serialNumbers": maybe_junk_items(texts, 3)}), st.just({"disabled": True}), st.just({})),
    "distro": st.fixed_dictionaries({}, optional={
        "name": st.one_of(st.sampled_from(["ubuntu", "debian", "alpine", "nixos", "someos"]), texts, junk),
        "version": st.one_of(st.just("24.04"), texts, junk),
        "codeName": st.one_of(st.just("noble"), texts, junk),
    }),
}


@st.composite
def devices(draw):
    """One device: every field real (most of the time), junk or absent; now and then not an object."""
    if draw(st.integers(0, 11)) == 0:
        return draw(st.one_of(scalar_junk, st.lists(scalar_junk, max_size=3)))
    device = {}
    for name, real in FIELDS.items():
        roll = draw(st.integers(0, 19))
        if roll < 14:
            device[name] = draw(real)
        elif roll < 17:
            device[name] = draw(junk)
    if draw(st.booleans()):
        device.update(draw(st.dictionaries(texts, junk, max_size=2)))  # fields Tailscale may add
    return device


posture_attributes = st.dictionaries(
    st.one_of(st.sampled_from(["node:os", "node:osVersion", "node:tsVersion", "custom:assetTag", "falcon:ztaScore"]),
              texts),
    junk,
    max_size=8,
)
posture_answers = st.one_of(
    st.builds(lambda attributes: {"json": {"attributes": attributes, "expiries": {}}}, posture_attributes),
    st.builds(lambda attributes: {"json": {"attributes": attributes, "expiries": {}}}, posture_attributes),
    st.sampled_from([
        {"status": 404, "json": {"message": "device not found"}},
        {"status": 403, "json": {"message": "forbidden"}},
        {"status": 500, "json": {"message": "internal error"}},
        {"status": 429, "json": {"message": "rate limited"}},
        {"status": 200, "body": "<html>proxy</html>"},
        {"status": 200, "json": {"attributes": None}},
        {"status": 200, "json": []},
    ]),
)


@st.composite
def cases(draw):
    device_list = draw(st.lists(devices(), max_size=FUZZ_MAX_DEVICES))
    options = {
        "INCLUDE_POSTURE": draw(st.booleans()),
        "INCLUDE_EXTERNAL_DEVICES": draw(st.booleans()),
        "ENDPOINT_INTERFACES": draw(st.sampled_from(["none", "none", "private", "all"])),
    }
    posture = draw(st.lists(posture_answers, min_size=1, max_size=FUZZ_MAX_DEVICES + 2))
    return device_list, options, posture


# ---------------------------------------------------------------------------- the test


def scenario_document(device_list, options, posture):
    routes = [{"method": "GET", "path": "/api/v2/tailnet/-/devices", "responses": [{"json": {"devices": device_list}}]}]
    if options["INCLUDE_POSTURE"]:
        routes.append({"method": "GET", "path_regex": "^/api/v2/device/[^/]+/attributes$", "responses": posture})
    return {
        "description": "A device list generated by tests/test_fuzz.py.",
        "settings": dict(options),
        "routes": routes,
        "timeout": 30,
    }


def save_failure(document):
    FAILURE_FILE.parent.mkdir(parents=True, exist_ok=True)
    FAILURE_FILE.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")


def check_run(device_list, options, posture, rzscript, tailscale_script):
    document = scenario_document(device_list, options, posture)
    scenario = scenario_from_dict(document, name="fuzz")
    result = run_scenario(scenario, "none", script=tailscale_script, rzscript=rzscript)
    run = result.run
    wanted, first, must_fail = expected_assets(device_list, options["INCLUDE_EXTERNAL_DEVICES"])
    problems = []
    if must_fail:
        if run.exit_code in (0, None) or "but none can be imported" not in run.stderr:
            problems.append(f"every listed device is junk, so the run must fail saying none can be imported "
                            f"(exit {run.exit_code})")
    elif run.timed_out or run.exit_code != 0:
        problems.append(f"the run failed (exit {run.exit_code}{', timed out' if run.timed_out else ''})")
    got = [asset.get("id") for asset in run.assets]
    if got != wanted:
        problems.append(f"asset ids {got} != expected {wanted}")
    for asset in run.assets:
        device = first.get(str(asset.get("id", ""))[len("tailscale-"):])
        if device is None:
            continue
        attributes = asset.get("customAttributes") or {}
        for attribute, field in (("tailscale_device_id", "id"), ("tailscale_node_id", "nodeId")):
            if attributes.get(attribute) != usable_id(device.get(field)):
                problems.append(f"{asset['id']}: {attribute} {attributes.get(attribute)!r} is not the first "
                                f"device's {field} {usable_id(device.get(field))!r}")
    skip = {} if options["ENDPOINT_INTERFACES"] == "none" else {
        "no_nat_endpoint_addresses": "the setting puts endpoints on an interface on purpose"}
    problems += run_invariants(result, skip)
    if problems:
        save_failure(document)
        note(result.summary())
        raise AssertionError(
            "\n  - ".join([f"{len(problems)} problem(s); the case is in {display_path(FAILURE_FILE)}", *problems])
            + "\n" + result.summary()
        )


def _fuzz_settings(test):
    options = {} if FUZZ_SHRINK else {"phases": [Phase.explicit, Phase.reuse, Phase.generate]}
    configured = settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        derandomize=not FUZZ_SEED,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
        **options,
    )(test)
    if FUZZ_SEED and FUZZ_SEED != "random":
        configured = seed(int(FUZZ_SEED))(configured)
    return configured


@_fuzz_settings
@given(case=cases())
def test_generated_device_lists(case, rzscript, tailscale_script):
    device_list, options, posture = case
    check_run(device_list, options, posture, rzscript, tailscale_script)


def test_id_rules_match_the_script():
    """The Python mirror of usable_id/device_id_of above agrees with a hand-checked table
    (tests/test_transform.py checks the script's side)."""
    assert usable_id(" 123\t") == "123"
    assert usable_id("\x1c123") is None  # Go does not count \x1c as space; Python's strip would
    assert usable_id(True) is None and usable_id(5) == "5" and usable_id(-5) == "-5" and usable_id(5.0) is None
    assert usable_id("x" * 200) == "x" * 200 and usable_id("x" * 201) is None
    assert usable_id("a/b") is None and usable_id("") is None and usable_id("\u3000n1\u2028") == "n1"
    assert device_id_of({"id": "bad id", "nodeId": "n1"}) == "n1"
    assert usable_id("..") is None and usable_id("a.b") == "a.b"
    ids, _, _ = expected_assets(
        [{"id": "1", "isExternal": True}, {"id": 1}, "junk", {"nodeId": "1"}, {"id": "2", "isExternal": "true"}], False)
    assert ids == ["tailscale-1", "tailscale-2"]
