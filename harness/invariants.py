"""Global invariants: what must hold after every scenario run, whatever it tests.

Each invariant is a function `(RunResult) -> list[str]` of failure messages, listed
by name in INVARIANTS. A scenario may skip one by name with a reason
(`skip_invariants:` in its file). `run_invariants` runs them all.
"""

from __future__ import annotations

import ipaddress
import json
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping

from pydantic import ValidationError
from runzero.types import ImportAsset, NetworkInterface, Software, Vulnerability

from harness.mock import basic_credentials
from harness.scenario import RunResult

MAX_ATTRIBUTES = 1024
MAX_ATTRIBUTE_KEY = 256
MAX_ATTRIBUTE_VALUE = 1024
MIN_SECRET_NEEDLE = 8  # shorter strings would match by chance

PLACEHOLDER_HOSTNAMES = {
    "", "localhost", "localhost.localdomain", "unknown", "none", "null", "nil",
    "undefined", "n/a", "na", "-", "(none)", "(null)",
}


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
        if isinstance(asset.get(key), str) and _parse_time(asset[key]) is None:
            problems.append(f"{key}: not an RFC 3339 time: {asset[key]!r}")
    sdk_input = {k: v for k, v in asset.items() if k != "lastSeenTS"}
    try:
        ImportAsset.parse_obj(sdk_input)
    except ValidationError as exc:
        problems += [f"runzero-sdk ImportAsset: {m}" for m in _pydantic_messages(exc)]
    except (TypeError, ValueError) as exc:
        problems.append(f"runzero-sdk ImportAsset: {exc}")
    return problems


def _parse_time(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


# --------------------------------------------------------------------------- invariants


def assets_validate(result: RunResult) -> list[str]:
    """Every line of the --output file is a JSON object that runzero-sdk's ImportAsset accepts."""
    failures = [f"output file {e}" for e in result.output_errors]
    for index, asset in enumerate(result.assets):
        failures += [f"{_label(asset, index)}: {p}" for p in validate_asset(asset)]
    return failures


def unique_ids(result: RunResult) -> list[str]:
    """No two assets share an id."""
    seen: dict[Any, int] = {}
    for asset in result.assets:
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
            failures.append(f"{where}: custom attribute key {key[:40]!r}... is {len(key)} characters (max {MAX_ATTRIBUTE_KEY})")
        if not isinstance(value, str):
            failures.append(f"{where}: custom attribute {key!r} is {type(value).__name__} {value!r}, not a string")
        elif len(value) > MAX_ATTRIBUTE_VALUE:
            failures.append(f"{where}: custom attribute {key!r} value is {len(value)} characters (max {MAX_ATTRIBUTE_VALUE})")
    return failures


def custom_attributes_valid(result: RunResult) -> list[str]:
    """Custom attributes (of assets, software and vulnerabilities) are strings, keys <= 256,
    values <= 1024 characters, at most 1024 per object."""
    failures = []
    for index, asset in enumerate(result.assets):
        label = _label(asset, index)
        if "customAttributes" in asset:
            failures += _attribute_problems(asset["customAttributes"], label)
        for child in ("software", "vulnerabilities"):
            for n, item in enumerate(asset.get(child) or []):
                if isinstance(item, dict) and "customAttributes" in item:
                    failures += _attribute_problems(item["customAttributes"], f"{label} {child}[{n}]")
    return failures


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
        return True
    except ValueError:
        return False


def no_placeholder_hostnames(result: RunResult) -> list[str]:
    """No hostname is empty, a placeholder (localhost, unknown, none, null, ...) or a bare IP."""
    failures = []
    for index, asset in enumerate(result.assets):
        for name in asset.get("hostnames") or []:
            if not isinstance(name, str):
                continue
            if name.strip().lower() in PLACEHOLDER_HOSTNAMES:
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


def no_bad_addresses(result: RunResult) -> list[str]:
    """No interface address is loopback, link-local, multicast or unspecified."""
    failures = []
    for index, asset in enumerate(result.assets):
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


def no_nat_endpoint_addresses(result: RunResult) -> list[str]:
    """No interface address is one of the tailnet's NAT/LAN endpoints
    (clientConnectivity.endpoints): those are where a node was reached from, not its
    Tailscale addresses."""
    if not result.endpoint_hosts:
        return []
    failures = []
    for index, asset in enumerate(result.assets):
        for n, text in _interface_addresses(asset):
            if text in result.endpoint_hosts:
                failures.append(f"{_label(asset, index)}: interface {n} has endpoint address {text}")
    return failures


def no_future_timestamps(result: RunResult) -> list[str]:
    """firstSeenTS and lastSeenTS are not after the run's `now` (runZero drops the whole
    record otherwise)."""
    now = _parse_time(result.now) if result.now else datetime.now(timezone.utc)
    if now is None:
        return []
    failures = []
    for index, asset in enumerate(result.assets):
        for key in ("firstSeenTS", "lastSeenTS"):
            value = asset.get(key)
            when = _parse_time(value) if isinstance(value, str) else None
            if when is not None and when > now:
                failures.append(f"{_label(asset, index)}: {key} {value} is after now ({result.now})")
    return failures


def _needles(result: RunResult) -> dict[str, str]:
    """Strings that must never be shown, each with a description that does not reveal it."""
    needles: dict[str, str] = {}

    def add(value: str, what: str) -> None:
        if value and len(value) >= MIN_SECRET_NEEDLE:
            needles.setdefault(value, what)
        # the random tail of tskey-...-ID-SECRET, in case only part of a key is shown
        tail = value.rsplit("-", 1)[-1] if value.startswith("tskey-") else ""
        if len(tail) >= MIN_SECRET_NEEDLE:
            needles.setdefault(tail, f"the secret part of {what}")

    for n, secret in enumerate(result.secrets):
        add(secret, f"configured secret #{n + 1}")
    for n, token in enumerate(result.issued_tokens):
        add(token, f"issued token #{n + 1}")
    for request in result.requests:
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


def no_secret_leaks(result: RunResult) -> list[str]:
    """Neither access_secret, any configured secret, any issued token nor any Authorization
    header value sent appears in stdout, stderr or the assets file."""
    failures = []
    needles = _needles(result)
    for place, text in (("stdout", result.stdout), ("stderr", result.stderr), ("assets file", result.assets_text)):
        for needle, what in needles.items():
            if needle in text:
                failures.append(f"{what} appears in {place}")
    return failures


INVARIANTS: dict[str, Callable[[RunResult], list[str]]] = {
    "assets_validate": assets_validate,
    "unique_ids": unique_ids,
    "custom_attributes_valid": custom_attributes_valid,
    "no_placeholder_hostnames": no_placeholder_hostnames,
    "no_bad_addresses": no_bad_addresses,
    "no_nat_endpoint_addresses": no_nat_endpoint_addresses,
    "no_future_timestamps": no_future_timestamps,
    "no_secret_leaks": no_secret_leaks,
}


def run_invariants(result: RunResult, skip: Mapping[str, str] | None = None) -> list[str]:
    """Every invariant not in `skip`; messages prefixed with the invariant's name."""
    failures = []
    for name, check in INVARIANTS.items():
        if skip and name in skip:
            continue
        failures += [f"[{name}] {message}" for message in check(result)]
    return failures
