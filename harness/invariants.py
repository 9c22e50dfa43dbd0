"""Global invariants: what must hold after every scenario run, whatever it tests.

Each invariant is a function `(ScenarioResult) -> list[str]` of failure messages, listed by
name in INVARIANTS; its docstring is its row in fixtures/README.md (`make docs`). A scenario
may skip one by name with a reason (`skip_invariants:` in its file). An invariant sees the
run's output and what the mock saw and sent: the requests, the tokens it issued and the
device-list bodies it served, whichever route answered them.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import ValidationError
from runzero.types import ImportAsset, NetworkInterface, Software, Vulnerability

from harness.hostnames import is_placeholder
from harness.results import ScenarioResult
from harness.secrets import secret_forms
from harness.tailnet import basic_credentials, devices_of
from harness.times import parse_rfc3339

MAX_ATTRIBUTES = 1024
MAX_ATTRIBUTE_KEY = 256
MAX_ATTRIBUTE_VALUE = 1024

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _aliases(model) -> set[str]:
    return {f.alias for f in model.__fields__.values()}


# Keys rzscript may write: the SDK's camelCase aliases, plus lastSeenTS (runZero v2).
ASSET_KEYS = _aliases(ImportAsset) | {"lastSeenTS"}
INTERFACE_KEYS = _aliases(NetworkInterface)
SOFTWARE_KEYS = _aliases(Software)
VULNERABILITY_KEYS = _aliases(Vulnerability)

_STRING_FIELDS = ("id", "runZeroID", "domain", "os", "osVersion", "manufacturer", "model", "deviceType",
                  "firstSeenTS", "lastSeenTS")
_STRING_LIST_FIELDS = ("hostnames", "tags")
_BOOL_FIELDS = ("trustOS", "trustOSVersion", "trustDeviceType")
_OBJECT_LIST_FIELDS = {"networkInterfaces": INTERFACE_KEYS, "software": SOFTWARE_KEYS,
                       "vulnerabilities": VULNERABILITY_KEYS, "services": None}


def _label(asset: Any, index: int) -> str:
    if isinstance(asset, dict) and isinstance(asset.get("id"), str):
        return f"asset {asset['id']!r}"
    return f"asset #{index + 1}"


def _pydantic_messages(exc: ValidationError) -> list[str]:
    """Messages of a pydantic v1 error, also for the SDK wrapper's own errors, whose
    str() fails (they are raised with a plain string where a list is expected)."""
    messages: list[str] = []

    def walk(errors: Any, prefix: tuple) -> None:
        if isinstance(errors, (list, tuple)):
            for item in errors:
                walk(item, prefix)
            return
        loc = prefix + tuple(errors.loc_tuple()) if hasattr(errors, "loc_tuple") else prefix
        inner = getattr(errors, "exc", errors)
        if isinstance(inner, ValidationError):
            raw = inner.raw_errors
            if isinstance(raw, str):
                messages.append(f"{'.'.join(map(str, loc))}: {raw}")
            else:
                walk(raw, loc)
            return
        messages.append(f"{'.'.join(map(str, loc))}: {inner}")

    walk(exc.raw_errors, ())
    return messages


def validate_asset(asset: Any) -> list[str]:
    """Problems with one asset as written to --output: it must be a JSON object with only
    known camelCase keys and JSON types matching the SDK, and pass runzero-sdk's
    ImportAsset model (pydantic v1 `parse_obj`, incl. the wrapper's custom-attribute checks).
    pydantic alone coerces (int -> str) and ignores unknown keys, hence the extra checks."""
    if not isinstance(asset, dict):
        return [f"not a JSON object: {asset!r}"]
    problems = []
    for key in sorted(set(asset) - ASSET_KEYS):
        problems.append(f"unknown key {key!r}")
    for key in _STRING_FIELDS:
        if key in asset and not isinstance(asset[key], str):
            problems.append(f"{key}: expected a string, got {asset[key]!r}")
    for key in _STRING_LIST_FIELDS:
        if key in asset and not (isinstance(asset[key], list) and all(isinstance(v, str) for v in asset[key])):
            problems.append(f"{key}: expected a list of strings, got {asset[key]!r}")
    for key in _BOOL_FIELDS:
        if key in asset and not isinstance(asset[key], bool):
            problems.append(f"{key}: expected true/false, got {asset[key]!r}")
    for key, allowed in _OBJECT_LIST_FIELDS.items():
        if key not in asset:
            continue
        items = asset[key]
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            problems.append(f"{key}: expected a list of objects, got {items!r}")
            continue
        for n, item in enumerate(items):
            for extra in sorted(set(item) - (allowed or set(item))):
                problems.append(f"{key}[{n}]: unknown key {extra!r}")
    for key in ("firstSeenTS", "lastSeenTS"):
        if isinstance(asset.get(key), str) and parse_rfc3339(asset[key]) is None:
            problems.append(f"{key}: not an RFC 3339 time: {asset[key]!r}")
    sdk_input = {k: v for k, v in asset.items() if k != "lastSeenTS"}
    try:
        ImportAsset.parse_obj(sdk_input)
    except ValidationError as exc:
        problems += [f"runzero-sdk ImportAsset: {m}" for m in _pydantic_messages(exc)]
    except (TypeError, ValueError) as exc:
        problems.append(f"runzero-sdk ImportAsset: {exc}")
    return problems


# --------------------------------------------------------------------------- addresses


def canonical_address(text: str) -> IPAddress | None:
    """An address as the script may write it, canonical: white space, a /prefix and a %zone
    dropped, an IPv4-mapped IPv6 address as its IPv4 address; None if it is not an address."""
    try:
        address = ipaddress.ip_address(text.strip().split("/", 1)[0].split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def endpoint_host(endpoint: Any) -> IPAddress | None:
    """The host of a clientConnectivity endpoint, canonical: `v4:port`, `[v6]:port`, `[v6]`,
    or a bare address of either family (a bare IPv6 address has colons but no port)."""
    if not isinstance(endpoint, str):
        return None
    text = endpoint.strip()
    if text.startswith("["):
        return canonical_address(text[1:].split("]", 1)[0])
    bare = canonical_address(text)
    if bare is not None:
        return bare
    host, colon, _ = text.rpartition(":")
    return canonical_address(host) if colon else None


def served_devices(result: ScenarioResult) -> Iterable[dict]:
    """Every device object of every device-list body the mock sent, parsed leniently: a body
    that is not JSON gives nothing; a bare array counts as a list of devices."""
    for body in result.traffic.device_lists:
        try:
            document = json.loads(body)
        except ValueError:
            continue
        listed = devices_of(document)
        if listed is None and isinstance(document, list):
            listed = document
        yield from (device for device in listed or [] if isinstance(device, dict))


def served_endpoint_hosts(result: ScenarioResult) -> set[IPAddress]:
    """The endpoint hosts of every served device, less every served device's own addresses
    (an address a device owns belongs on its interface, whoever else reports reaching it)."""
    hosts: set[IPAddress] = set()
    own: set[IPAddress] = set()
    for device in served_devices(result):
        addresses = device.get("addresses")
        for text in addresses if isinstance(addresses, list) else []:
            if isinstance(text, str) and canonical_address(text) is not None:
                own.add(canonical_address(text))
        connectivity = device.get("clientConnectivity")
        endpoints = connectivity.get("endpoints") if isinstance(connectivity, dict) else None
        for endpoint in endpoints if isinstance(endpoints, list) else []:
            host = endpoint_host(endpoint)
            if host is not None:
                hosts.add(host)
    return hosts - own


# --------------------------------------------------------------------------- invariants


def assets_validate(result: ScenarioResult) -> list[str]:
    """Every line of the `--output` file is a JSON object that runzero-sdk 0.8.8's `ImportAsset` accepts
    (`parse_obj`, with the wrapper's custom-attribute checks). In addition, only known camelCase keys may
    appear (plus `lastSeenTS`), and the JSON types must be the SDK's: pydantic alone would coerce `5` to `"5"`
    and ignore unknown keys."""
    failures = [f"output file {e}" for e in result.run.output_errors]
    for index, asset in enumerate(result.run.assets):
        failures += [f"{_label(asset, index)}: {p}" for p in validate_asset(asset)]
    return failures


def unique_ids(result: ScenarioResult) -> list[str]:
    """No two assets share an id."""
    seen: dict[Any, int] = {}
    for asset in result.run.assets:
        key = json.dumps(asset.get("id"))
        seen[key] = seen.get(key, 0) + 1
    return [f"id {key} appears {n} times" for key, n in seen.items() if n > 1]


def _attribute_problems(attrs: Any, where: str) -> list[str]:
    if not isinstance(attrs, dict):
        return [f"{where}: customAttributes is not an object: {attrs!r}"]
    failures = []
    if len(attrs) > MAX_ATTRIBUTES:
        failures.append(f"{where}: {len(attrs)} custom attributes, more than {MAX_ATTRIBUTES}")
    for key, value in attrs.items():
        if len(key) > MAX_ATTRIBUTE_KEY:
            failures.append(
                f"{where}: custom attribute key {key[:40]!r}... is {len(key)} characters (max {MAX_ATTRIBUTE_KEY})"
            )
        if not isinstance(value, str):
            failures.append(f"{where}: custom attribute {key!r} is {type(value).__name__} {value!r}, not a string")
        elif len(value) > MAX_ATTRIBUTE_VALUE:
            failures.append(
                f"{where}: custom attribute {key!r} value is {len(value)} characters (max {MAX_ATTRIBUTE_VALUE})"
            )
    return failures


def custom_attributes_valid(result: ScenarioResult) -> list[str]:
    """Custom attributes of assets, software and vulnerabilities are strings. Keys have at most 256 characters,
    values at most 1024, and an object has at most 1024 attributes."""
    failures = []
    for index, asset in enumerate(result.run.assets):
        label = _label(asset, index)
        if "customAttributes" in asset:
            failures += _attribute_problems(asset["customAttributes"], label)
        for child in ("software", "vulnerabilities"):
            for n, item in enumerate(asset.get(child) or []):
                if isinstance(item, dict) and "customAttributes" in item:
                    failures += _attribute_problems(item["customAttributes"], f"{label} {child}[{n}]")
    return failures


MAX_VULNERABILITIES = 99


def vulnerabilities_capped(result: ScenarioResult) -> list[str]:
    """An asset carries at most 99 vulnerabilities (the cap runZero's own scripts keep), and no two share an
    `id`: the id is what identifies a vulnerability on its asset."""
    failures = []
    for index, asset in enumerate(result.run.assets):
        items = [item for item in asset.get("vulnerabilities") or [] if isinstance(item, dict)]
        if len(items) > MAX_VULNERABILITIES:
            failures.append(f"{_label(asset, index)}: {len(items)} vulnerabilities, more than {MAX_VULNERABILITIES}")
        ids = [json.dumps(item.get("id")) for item in items]
        for repeated in sorted({i for i in ids if ids.count(i) > 1}):
            failures.append(f"{_label(asset, index)}: vulnerability id {repeated} appears {ids.count(repeated)} times")
    return failures


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True


def no_placeholder_hostnames(result: ScenarioResult) -> list[str]:
    """No hostname is empty, one of the placeholders tailscale.star drops (`localhost`, `unknown`, `none`,
    `null`, …: `harness/hostnames.py`), or a bare IP address."""
    failures = []
    for index, asset in enumerate(result.run.assets):
        for name in asset.get("hostnames") or []:
            if not isinstance(name, str):
                continue
            if not name.strip() or is_placeholder(name):
                failures.append(f"{_label(asset, index)}: placeholder hostname {name!r}")
            elif _is_ip(name.strip()):
                failures.append(f"{_label(asset, index)}: hostname {name!r} is an IP address")
    return failures


def _interface_addresses(asset: Mapping[str, Any]) -> Iterable[tuple[int, str]]:
    for n, iface in enumerate(asset.get("networkInterfaces") or []):
        if not isinstance(iface, dict):
            continue
        for key in ("ipv4Addresses", "ipv6Addresses"):
            for address in iface.get(key) or []:
                if isinstance(address, str):
                    yield n, address


def no_bad_addresses(result: ScenarioResult) -> list[str]:
    """No interface address is loopback, link-local, multicast or unspecified."""
    failures = []
    for index, asset in enumerate(result.run.assets):
        for n, text in _interface_addresses(asset):
            try:
                address = ipaddress.ip_address(text)
            except ValueError:
                continue  # assets_validate reports it
            kinds = [
                kind
                for kind, bad in (
                    ("loopback", address.is_loopback),
                    ("link-local", address.is_link_local),
                    ("multicast", address.is_multicast),
                    ("unspecified", address.is_unspecified),
                )
                if bad
            ]
            if kinds:
                failures.append(f"{_label(asset, index)}: interface {n} has {'/'.join(kinds)} address {text}")
    return failures


def no_nat_endpoint_addresses(result: ScenarioResult) -> list[str]:
    """No interface address is the host of a `clientConnectivity.endpoints` entry of a device the mock served
    (from the tailnet or through a route), unless a served device has it as its own address: endpoints are
    NAT and LAN addresses, shared by unrelated devices. Addresses compare canonically (`[v6]:port`,
    `v4:port` and bare endpoints of either family)."""
    endpoints = served_endpoint_hosts(result)
    failures = []
    for index, asset in enumerate(result.run.assets):
        for n, text in _interface_addresses(asset):
            if canonical_address(text) in endpoints:
                failures.append(f"{_label(asset, index)}: interface {n} has endpoint address {text}")
    return failures


def no_future_timestamps(result: ScenarioResult) -> list[str]:
    """`firstSeenTS` and `lastSeenTS` are not after `now`: runZero drops the whole record otherwise."""
    now = parse_rfc3339(result.now)
    failures = []
    for index, asset in enumerate(result.run.assets):
        for key in ("firstSeenTS", "lastSeenTS"):
            value = asset.get(key)
            when = parse_rfc3339(value)
            if when is not None and when > now:
                failures.append(f"{_label(asset, index)}: {key} {value} is after now ({result.now})")
    return failures


def _needles(result: ScenarioResult) -> dict[str, str]:
    """Strings that must never be shown, each with a description that does not reveal it."""
    needles: dict[str, str] = {}

    def add(value: str, what: str) -> None:
        forms = secret_forms(value)
        for form in forms:
            needles.setdefault(form, what if form == value else f"the secret part of {what}")

    for n, secret in enumerate(result.secrets):
        add(secret, f"configured secret #{n + 1}")
    for n, token in enumerate(result.traffic.issued_tokens):
        add(token, f"issued token #{n + 1}")
    for request in result.traffic.requests:
        header = request.header("Authorization")
        if not header:
            continue
        add(header, f"the Authorization header of {request.method} {request.path}")
        scheme, _, credential = header.partition(" ")
        add(credential.strip(), f"the {scheme} credential of {request.method} {request.path}")
        pair = basic_credentials(header)
        if pair:
            add(pair[0], "a Basic user name")
            add(pair[1], "a Basic password")
    return needles


def no_secret_leaks(result: ScenarioResult) -> list[str]:
    """Neither `access_secret`, nor any configured API key or client secret, nor any issued token, nor any
    `Authorization` header value sent appears in stdout, stderr or the assets file. For a `tskey-…-ID-SECRET`
    value, its secret tail counts as well. Strings shorter than 8 characters are not searched."""
    failures = []
    needles = _needles(result)
    run = result.run
    for place, text in (("stdout", run.stdout), ("stderr", run.stderr), ("assets file", run.assets_text)):
        for needle, what in needles.items():
            if needle in text:
                failures.append(f"{what} appears in {place}")
    return failures


Invariant = Callable[[ScenarioResult], list[str]]

INVARIANTS: dict[str, Invariant] = {
    "assets_validate": assets_validate,
    "unique_ids": unique_ids,
    "custom_attributes_valid": custom_attributes_valid,
    "vulnerabilities_capped": vulnerabilities_capped,
    "no_placeholder_hostnames": no_placeholder_hostnames,
    "no_bad_addresses": no_bad_addresses,
    "no_nat_endpoint_addresses": no_nat_endpoint_addresses,
    "no_future_timestamps": no_future_timestamps,
    "no_secret_leaks": no_secret_leaks,
}


def run_invariants(result: ScenarioResult, skip: Mapping[str, str] | None = None) -> list[str]:
    """Every invariant not in `skip`; messages prefixed with the invariant's name."""
    failures = []
    for name, check in INVARIANTS.items():
        if skip and name in skip:
            continue
        failures += [f"[{name}] {message}" for message in check(result)]
    return failures
