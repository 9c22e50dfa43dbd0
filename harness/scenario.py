"""Scenario files: load and validate them, prepare the script, run rzscript against the mock.

A scenario (fixtures/scenarios/NAME.yaml, format in fixtures/README.md) names a
tailnet, the kwargs, settings to rewrite in tailscale.star, override routes for the
mock API and what must hold afterwards. `run_scenario` runs it once for one
transport-error mode and returns a `RunResult`; `harness.expectations` and
`harness.invariants` judge that result.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from harness.mock import (
    FIXTURES_DIR,
    REPO_ROOT,
    AuthConfig,
    MockTailscale,
    RecordedRequest,
    query_value_str,
    tailnet_dir,
)

SCENARIOS_DIR = FIXTURES_DIR / "scenarios"
DEFAULT_NOW = "2026-11-28T12:00:00Z"
DEFAULT_ACCESS_KEY = "foo"
DEFAULT_TIMEOUT = 60.0
TAILSCALE_ORIGIN = "https://api.tailscale.com"
TRANSPORT_MODES = ("none", "abort")


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file and the key."""


# --------------------------------------------------------------------------- paths


def _from_env(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    if not value:
        return default
    path = Path(value)
    return path if path.is_absolute() else REPO_ROOT / path


def rzscript_path() -> Path:
    """bin/rzscript, or $RZSCRIPT (relative paths resolved from the repository root)."""
    return _from_env("RZSCRIPT", REPO_ROOT / "bin" / "rzscript")


def script_path() -> Path:
    """tailscale.star, or $TAILSCALE_STAR (relative paths resolved from the repository root)."""
    return _from_env("TAILSCALE_STAR", REPO_ROOT / "tailscale.star")


def display_path(path: Path) -> str:
    path = Path(path)
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------- YAML


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps timestamps as strings and rejects duplicate keys."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _mapping_without_duplicates(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, Any] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen[key] = True
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def parse_yaml(text: str, source: str = "<string>") -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{source}: not valid YAML: {exc}") from None


# --------------------------------------------------------------------------- validation


@dataclass
class Scenario:
    path: Path
    name: str
    description: str
    tailnet: str | None = None
    kwargs: dict[str, str] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    transport_errors: list[str] = field(default_factory=lambda: ["none"])
    strict: bool = True
    invalid_ip: str = "none"
    now: str = DEFAULT_NOW
    auth: dict[str, Any] = field(default_factory=dict)
    routes: list[dict[str, Any]] = field(default_factory=list)
    expect: dict[str, Any] = field(default_factory=dict)
    skip_invariants: dict[str, str] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT


TOP_KEYS = {
    "description", "tailnet", "kwargs", "settings", "transport_errors", "strict", "invalid_ip", "now",
    "auth", "routes", "expect", "skip_invariants", "timeout",
}
AUTH_KEYS = {"api_keys", "oauth_clients", "tailnets", "token_expires_in", "token_max_uses"}
ROUTE_KEYS = {"method", "path", "path_regex", "query", "responses", "when_exhausted"}
RESPONSE_KEYS = {"status", "json", "json_file", "body", "body_file", "headers", "delay", "drop", "template"}
BODY_KEYS = ("json", "json_file", "body", "body_file")
EXPECT_KEYS = {
    "exit", "error_contains", "asset_count", "asset_ids", "assets", "requests",
    "requests_absent", "logs_contain", "logs_absent", "last_log_line",
}
MATCH_KEYS = {"method", "path", "path_regex", "query"}
COUNT_KEYS = {"count", "min", "max"}
HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"}
SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Checker:
    """Validation helpers that build 'FILE: key.path: problem' messages."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, where: str, problem: str) -> None:
        raise ScenarioError(f"{self.source}: {where}: {problem}" if where else f"{self.source}: {problem}")

    def keys(self, value: Any, allowed: set[str], where: str, required: Iterable[str] = ()) -> dict:
        if not isinstance(value, dict):
            self.fail(where, f"expected a mapping, got {type(value).__name__}")
        for key in value:
            if not isinstance(key, str) or key not in allowed:
                hint = difflib.get_close_matches(str(key), sorted(allowed), n=1)
                suggestion = f" (did you mean {hint[0]!r}?)" if hint else f" (allowed: {', '.join(sorted(allowed))})"
                self.fail(f"{where}.{key}" if where else str(key), f"unknown key{suggestion}")
        for key in required:
            if key not in value:
                self.fail(where, f"missing required key {key!r}")
        return value

    def type(self, value: Any, types: tuple, where: str, what: str) -> Any:
        """`value` if it is one of `types` (a bool is not an int here)."""
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            self.fail(where, f"expected {what}, got {value!r}")
        return value

    def str_list(self, value: Any, where: str) -> list[str]:
        if isinstance(value, str):
            value = [value]
        self.type(value, (list,), where, "a list of strings")
        for i, item in enumerate(value):
            self.type(item, (str,), f"{where}[{i}]", "a string")
        return value

    def regex(self, value: Any, where: str) -> str:
        self.type(value, (str,), where, "a regular expression string")
        try:
            re.compile(value)
        except re.error as exc:
            self.fail(where, f"invalid regular expression: {exc}")
        return value

    def matcher(self, spec: Any, where: str, extra: set[str] = frozenset()) -> dict:
        self.keys(spec, MATCH_KEYS | extra, where)
        if "path" in spec and "path_regex" in spec:
            self.fail(where, "give either path or path_regex, not both")
        if "method" in spec:
            method = self.type(spec["method"], (str,), f"{where}.method", "an HTTP method")
            if method.upper() not in HTTP_METHODS:
                self.fail(f"{where}.method", f"unknown HTTP method {method!r}")
        if "path" in spec:
            path = self.type(spec["path"], (str,), f"{where}.path", "a path string")
            if not path.startswith("/") or "?" in path:
                self.fail(f"{where}.path", f"expected a path starting with / and without a query, got {path!r}")
        if "path_regex" in spec:
            self.regex(spec["path_regex"], f"{where}.path_regex")
        if "query" in spec:
            query = self.type(spec["query"], (dict,), f"{where}.query", "a mapping of parameter to value")
            for key, value in query.items():
                values = value if isinstance(value, list) else [value]
                for v in values:
                    if isinstance(v, (dict, list)) or v is None:
                        self.fail(f"{where}.query.{key}", f"expected a scalar or a list of scalars, got {value!r}")
        return spec


def _rfc3339(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("no time zone")
    return parsed


def validate_scenario(data: Any, source: str, fixtures_dir: Path = FIXTURES_DIR) -> dict[str, Any]:
    """Check a parsed scenario document; returns it with defaults filled in.

    Raises ScenarioError naming `source` and the offending key.
    """
    c = _Checker(source)
    if data is None:
        c.fail("", "the file is empty")
    c.keys(data, TOP_KEYS, "", required=["description"])
    out: dict[str, Any] = {}

    description = c.type(data["description"], (str,), "description", "a non-empty string")
    if not description.strip():
        c.fail("description", "must say what the scenario covers")
    out["description"] = description.strip()

    tailnet = data.get("tailnet")
    if tailnet is not None:
        c.type(tailnet, (str,), "tailnet", "a tailnet name (directory under fixtures/tailnets/)")
        directory = tailnet_dir(tailnet, fixtures_dir)
        if not (directory / "devices.json").is_file():
            c.fail("tailnet", f"no devices.json in {display_path(directory)}")
    out["tailnet"] = tailnet

    auth_spec = dict(c.keys(data.get("auth") or {}, AUTH_KEYS, "auth"))
    for key in ("api_keys", "tailnets"):
        if key in auth_spec:
            auth_spec[key] = list(c.str_list(auth_spec[key], f"auth.{key}"))
    if "oauth_clients" in auth_spec:
        clients = c.type(auth_spec["oauth_clients"], (dict,), "auth.oauth_clients", "a mapping client_id: secret")
        for key, value in clients.items():
            c.type(key, (str,), "auth.oauth_clients", "string client ids")
            c.type(value, (str,), f"auth.oauth_clients.{key}", "a string secret")
    for key in ("token_expires_in", "token_max_uses"):
        if key in auth_spec:
            value = c.type(auth_spec[key], (int,), f"auth.{key}", "a positive integer")
            if value < (0 if key == "token_max_uses" else 1):
                c.fail(f"auth.{key}", f"expected a positive integer, got {value!r}")
    out["auth"] = dict(auth_spec)
    auth = AuthConfig.from_spec(auth_spec)

    if "kwargs" in data:
        kwargs = c.type(data["kwargs"], (dict,), "kwargs", "a mapping of keyword argument to value")
        out["kwargs"] = {}
        for key, value in kwargs.items():
            c.type(key, (str,), "kwargs", "string keys")
            if value is None or isinstance(value, (dict, list)):
                c.fail(f"kwargs.{key}", f"expected a string (or a scalar), got {value!r}")
            out["kwargs"][key] = query_value_str(value)
    else:
        if not auth.api_keys:
            c.fail("kwargs", "no kwargs given and auth.api_keys is empty, so there is no default access_secret")
        out["kwargs"] = {"access_key": DEFAULT_ACCESS_KEY, "access_secret": auth.api_keys[0]}

    settings = data.get("settings") or {}
    c.type(settings, (dict,), "settings", "a mapping NAME: value")
    for name, value in settings.items():
        if not isinstance(name, str) or not SETTING_NAME.match(name):
            c.fail("settings", f"{name!r} is not a Starlark identifier")
        try:
            starlark_literal(value)
        except ValueError as exc:
            c.fail(f"settings.{name}", str(exc))
    out["settings"] = dict(settings)

    modes = data.get("transport_errors", ["none"])
    modes = c.str_list(modes, "transport_errors")
    if not modes:
        c.fail("transport_errors", "give at least one mode")
    for i, mode in enumerate(modes):
        if mode not in TRANSPORT_MODES:
            c.fail(f"transport_errors[{i}]", f"expected one of {', '.join(TRANSPORT_MODES)}, got {mode!r}")
    if len(set(modes)) != len(modes):
        c.fail("transport_errors", "a mode is listed twice")
    out["transport_errors"] = list(modes)

    out["strict"] = c.type(data.get("strict", True), (bool,), "strict", "true or false")

    invalid_ip = data.get("invalid_ip", "none")
    if invalid_ip not in ("none", "abort"):
        c.fail("invalid_ip", f"expected none or abort, got {invalid_ip!r}")
    out["invalid_ip"] = invalid_ip

    now = data.get("now", DEFAULT_NOW)
    c.type(now, (str,), "now", "an RFC 3339 time string")
    try:
        _rfc3339(now)
    except ValueError:
        c.fail("now", f"expected an RFC 3339 time with a zone such as {DEFAULT_NOW!r}, got {now!r}")
    out["now"] = now

    timeout = data.get("timeout", DEFAULT_TIMEOUT)
    c.type(timeout, (int, float), "timeout", "a number of seconds")
    if not timeout > 0:
        c.fail("timeout", f"expected a positive number of seconds, got {timeout!r}")
    out["timeout"] = float(timeout)

    routes = data.get("routes") or []
    c.type(routes, (list,), "routes", "a list of routes")
    for i, route in enumerate(routes):
        where = f"routes[{i}]"
        c.matcher(route, where, extra=ROUTE_KEYS - MATCH_KEYS)
        if "path" not in route and "path_regex" not in route:
            c.fail(where, "needs path or path_regex")
        if route.get("when_exhausted", "repeat_last") not in ("repeat_last", "fall_through"):
            c.fail(f"{where}.when_exhausted", f"expected repeat_last or fall_through, got {route['when_exhausted']!r}")
        responses = route.get("responses")
        if not isinstance(responses, list) or not responses:
            c.fail(f"{where}.responses", "expected a non-empty list of responses")
        for j, response in enumerate(responses):
            _validate_response(c, response, f"{where}.responses[{j}]", fixtures_dir)
    out["routes"] = list(routes)

    out["expect"] = _validate_expect(c, data.get("expect") or {})

    skips = data.get("skip_invariants") or {}
    c.type(skips, (dict,), "skip_invariants", "a mapping invariant_name: reason")
    from harness.invariants import INVARIANTS  # late: invariants imports this module's RunResult

    for name, reason in skips.items():
        if name not in INVARIANTS:
            hint = difflib.get_close_matches(str(name), sorted(INVARIANTS), n=1)
            c.fail(
                f"skip_invariants.{name}",
                "unknown invariant" + (f" (did you mean {hint[0]!r}?)" if hint else f" (known: {', '.join(INVARIANTS)})"),
            )
        if not isinstance(reason, str) or not reason.strip():
            c.fail(f"skip_invariants.{name}", "a reason is required (why may this scenario break it?)")
    out["skip_invariants"] = dict(skips)
    return out


def _validate_response(c: _Checker, response: Any, where: str, fixtures_dir: Path) -> None:
    c.keys(response, RESPONSE_KEYS, where)
    bodies = [k for k in BODY_KEYS if k in response]
    if len(bodies) > 1:
        c.fail(where, f"give at most one of {', '.join(BODY_KEYS)} (got {', '.join(bodies)})")
    status = response.get("status", 200)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        c.fail(f"{where}.status", f"expected an HTTP status 100-599, got {status!r}")
    for key in ("json_file", "body_file"):
        if key in response:
            name = c.type(response[key], (str,), f"{where}.{key}", "a path relative to fixtures/")
            path = fixtures_dir / name
            if not path.is_file():
                c.fail(f"{where}.{key}", f"file not found: {display_path(path)}")
            if key == "json_file":
                try:
                    json.loads(path.read_bytes())
                except ValueError as exc:
                    c.fail(f"{where}.{key}", f"{display_path(path)} is not valid JSON: {exc}")
    if "body" in response:
        c.type(response["body"], (str,), f"{where}.body", "a string")
    if "headers" in response:
        headers = c.type(response["headers"], (dict,), f"{where}.headers", "a mapping of header to value")
        for key, value in headers.items():
            if isinstance(value, (dict, list)) or value is None:
                c.fail(f"{where}.headers.{key}", f"expected a scalar, got {value!r}")
    if "delay" in response:
        delay = c.type(response["delay"], (int, float), f"{where}.delay", "a number of seconds")
        if delay < 0:
            c.fail(f"{where}.delay", f"expected a non-negative number, got {delay!r}")
    for key in ("drop", "template"):
        if key in response:
            c.type(response[key], (bool,), f"{where}.{key}", "true or false")


def _id_text(value: Any) -> Any:
    """Asset ids are strings; an unquoted numeric id in YAML means the same string."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _validate_expect(c: _Checker, expect: Any) -> dict[str, Any]:
    c.keys(expect, EXPECT_KEYS, "expect")
    out = dict(expect)
    exit_value = expect.get("exit", 0)
    if not (exit_value in ("nonzero", "any") or (isinstance(exit_value, int) and not isinstance(exit_value, bool))):
        c.fail("expect.exit", f"expected an exit code, 'nonzero' or 'any', got {exit_value!r}")
    out["exit"] = exit_value
    for key in ("error_contains", "logs_contain", "logs_absent"):
        if key in expect:
            out[key] = list(c.str_list(expect[key], f"expect.{key}"))
    if "asset_ids" in expect:
        ids = expect["asset_ids"]
        out["asset_ids"] = c.str_list([_id_text(i) for i in ids] if isinstance(ids, list) else ids, "expect.asset_ids")
    if "asset_count" in expect:
        count = c.type(expect["asset_count"], (int,), "expect.asset_count", "a non-negative integer")
        if count < 0:
            c.fail("expect.asset_count", "must not be negative")
    if "last_log_line" in expect:
        c.regex(expect["last_log_line"], "expect.last_log_line")
    if "assets" in expect:
        assets = c.type(expect["assets"], (dict,), "expect.assets", "a mapping asset id: fields")
        assets = out["assets"] = {_id_text(k): dict(v) if isinstance(v, dict) else v for k, v in assets.items()}
        for asset_id, fields in assets.items():
            where = f"expect.assets.{asset_id}"
            c.type(fields, (dict,), where, "a mapping of field: value")
            if "customAttributes" in fields:
                wanted = c.type(fields["customAttributes"], (dict,), f"{where}.customAttributes", "a mapping key: value")
                for key, value in wanted.items():
                    if value is None or isinstance(value, (dict, list)):
                        c.fail(f"{where}.customAttributes.{key}", f"expected a string (or a scalar), got {value!r}")
                # custom attributes are strings: compare YAML true / 3 as "true" / "3"
                fields["customAttributes"] = {k: query_value_str(v) for k, v in wanted.items()}
            for key in ("customAttributes_absent", "absent"):
                if key in fields:
                    c.str_list(fields[key], f"{where}.{key}")
    for key, counted in (("requests", True), ("requests_absent", False)):
        if key not in expect:
            continue
        specs = c.type(expect[key], (list,), f"expect.{key}", "a list of request matchers")
        for i, spec in enumerate(specs):
            where = f"expect.{key}[{i}]"
            c.matcher(spec, where, extra=COUNT_KEYS if counted else set())
            if counted:
                if not COUNT_KEYS & set(spec):
                    c.fail(where, "needs count (exact) or min/max")
                for ck in COUNT_KEYS & set(spec):
                    value = c.type(spec[ck], (int,), f"{where}.{ck}", "a non-negative integer")
                    if value < 0:
                        c.fail(f"{where}.{ck}", "must not be negative")
                if "count" in spec and ({"min", "max"} & set(spec)):
                    c.fail(where, "give count, or min/max, not both")
    return out


def load_scenario(path: str | Path, fixtures_dir: Path = FIXTURES_DIR) -> Scenario:
    """Read and validate one scenario file. Raises ScenarioError with the file and key."""
    path = Path(path)
    if not path.is_absolute() and not path.exists():
        path = REPO_ROOT / path
    source = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{source}: cannot read: {exc.strerror or exc}") from None
    data = validate_scenario(parse_yaml(text, source), source, fixtures_dir)
    return Scenario(path=path, name=path.stem, **data)


def scenario_from_dict(data: Mapping[str, Any], name: str = "inline", fixtures_dir: Path = FIXTURES_DIR) -> Scenario:
    """A Scenario from an in-memory document, validated like a file."""
    return Scenario(path=Path(f"<{name}>"), name=name, **validate_scenario(dict(data), f"<{name}>", fixtures_dir))


def discover_scenarios(directory: Path | None = None) -> list[Path]:
    """Every scenario file (default: fixtures/scenarios/*.yaml), sorted by name."""
    return sorted(p for p in Path(directory or SCENARIOS_DIR).glob("*.yaml") if p.is_file())


# --------------------------------------------------------------------------- settings


def _starlark_string(value: str) -> str:
    out = ['"']
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        elif not ch.isprintable():  # e.g. U+0085 or U+2028: keep the source one line per setting
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def starlark_literal(value: Any) -> str:
    """A YAML value written as a Starlark literal: True/False, None, int, float,
    "string" (escaped), [list], {dict}. Raises ValueError for anything else."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} has no Starlark literal")
        return repr(value)
    if isinstance(value, str):
        return _starlark_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(starlark_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{starlark_literal(k)}: {starlark_literal(v)}" for k, v in value.items()) + "}"
    raise ValueError(f"cannot write {type(value).__name__} value {value!r} as a Starlark literal")


def _value_extent(source: str, start: int) -> tuple[int, int]:
    """From `start` (just after `NAME =`), the end of the value expression and the end of
    the statement's last line. Skips strings (incl. triple-quoted) and tracks brackets, so
    multi-line values and trailing comments are handled."""
    depth = 0
    i = start
    value_end = start
    n = len(source)
    while i < n:
        ch = source[i]
        if ch in "\"'":
            quote = source[i : i + 3] if source[i : i + 3] in ('"""', "'''") else ch
            j = i + len(quote)
            while j < n and not source.startswith(quote, j):
                if source[j] == "\\":
                    j += 1
                elif source[j] == "\n" and len(quote) == 1:
                    break
                j += 1
            i = min(j + len(quote), n)
            value_end = i
            continue
        if ch == "#":
            newline = source.find("\n", i)
            i = n if newline < 0 else newline
            continue
        if ch == "\n":
            if depth == 0:
                return value_end, i
            i += 1
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if not ch.isspace():
            value_end = i + 1
        i += 1
    return value_end, n


def rewrite_settings(source: str, settings: Mapping[str, Any], filename: str = "tailscale.star") -> str:
    """Replace the value of each top-level `NAME = value` line (the first one for each
    NAME); a trailing comment on the line is kept. A NAME with no such line is an error."""
    for name, value in settings.items():
        match = re.search(rf"^{re.escape(name)}[ \t]*=(?!=)[ \t]*", source, flags=re.MULTILINE)
        if match is None:
            raise ScenarioError(
                f"{filename}: settings.{name}: no top-level line `{name} = ...` to rewrite"
            )
        value_end, _ = _value_extent(source, match.end())
        source = source[: match.end()] + starlark_literal(value) + source[value_end:]
    return source


def prepare_script(script: Path, settings: Mapping[str, Any], workdir: Path) -> Path:
    """The script to run: `script` itself, or a copy in `workdir` with settings rewritten."""
    if not settings:
        return script
    text = rewrite_settings(script.read_text(encoding="utf-8"), settings, display_path(script))
    copy = workdir / script.name
    copy.write_text(text, encoding="utf-8")
    return copy


# --------------------------------------------------------------------------- running


@dataclass
class RunResult:
    exit_code: int | None = None  # None: killed after the timeout
    stdout: str = ""
    stderr: str = ""
    stdout_lines: list[str] = field(default_factory=list)
    assets: list[dict] = field(default_factory=list)
    assets_text: str = ""  # the --output file as written
    output_errors: list[str] = field(default_factory=list)  # lines of --output that are not JSON objects
    requests: list[RecordedRequest] = field(default_factory=list)
    issued_tokens: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    stats: dict | None = None
    timed_out: bool = False
    timeout: float = DEFAULT_TIMEOUT
    duration: float = 0.0
    transport_errors: str = "none"
    strict: bool = True
    now: str | None = None
    command: list[str] = field(default_factory=list)  # kwargs values replaced by ***
    endpoint_hosts: set[str] = field(default_factory=set)  # NAT endpoint IPs of the served tailnet
    output_path: Path | None = None
    scenario: str = ""

    def summary(self, tail: int = 30) -> str:
        """The end of stdout and stderr, for a failure report (known secrets masked)."""
        def last(text: str) -> str:
            for secret in sorted(self.secrets + self.issued_tokens, key=len, reverse=True):
                if len(secret) >= 8:
                    text = text.replace(secret, "[secret]")
            lines = text.splitlines()
            cut = f"  ... ({len(lines) - tail} earlier lines)\n" if len(lines) > tail else ""
            return cut + "\n".join("  " + line for line in lines[-tail:])

        return (
            f"exit code: {self.exit_code}{' (timed out)' if self.timed_out else ''}, "
            f"{len(self.assets)} assets, {len(self.requests)} requests, {self.duration:.2f}s\n"
            f"stdout:\n{last(self.stdout)}\nstderr:\n{last(self.stderr)}"
        )


def run_rzscript(
    script: Path,
    kwargs: Mapping[str, str],
    *,
    route_url: str | None = None,
    now: str | None = None,
    strict: bool = True,
    transport_errors: str = "none",
    timeout: float = DEFAULT_TIMEOUT,
    output: Path | None = None,
    rzscript: Path | None = None,
    extra_args: Iterable[str] = (),
    env: Mapping[str, str] | None = None,
    parse_output: bool = True,
) -> RunResult:
    """Run rzscript once on `script`; stats and assets come back in the RunResult.

    route_url: send https://api.tailscale.com requests there (None: the real API).
    output: where the assets JSON lines go (default: a temporary file, removed).
    env: variables added to this process's environment for rzscript.
    parse_output: False leaves result.assets empty (a benchmark's 50,000 assets are not read).
    """
    rzscript = rzscript or rzscript_path()
    if not rzscript.is_file():
        raise FileNotFoundError(f"{display_path(rzscript)} not found (build it: run `make test`)")
    with tempfile.TemporaryDirectory(prefix="rzrun-") as tmp:
        out_path = Path(output) if output else Path(tmp) / "assets.jsonl"
        out_path.parent.mkdir(parents=True, exist_ok=True)
        if out_path.exists():
            out_path.unlink()
        stats_path = Path(tmp) / "stats.json"
        command = [str(rzscript), "--filename", str(script)]
        shown = list(command)
        for key, value in kwargs.items():
            command += ["--kwargs", f"{key}={value}"]
            shown += ["--kwargs", f"{key}=***"]
        options = []
        if route_url:
            options += ["--route", f"{TAILSCALE_ORIGIN}={route_url}"]
        options += ["--output", str(out_path), "--stats", str(stats_path), "--transport-errors", transport_errors]
        if now:
            options += ["--now", now]
        if strict:
            options.append("--strict")
        options += list(extra_args)
        command += options
        shown += options

        started = time.monotonic()
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=REPO_ROOT,
            env={**os.environ, **env} if env else None,
        )
        timed_out = False
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            process.kill()
            out, err = process.communicate()
        duration = time.monotonic() - started

        result = RunResult(
            exit_code=None if timed_out else process.returncode,
            stdout=out.decode("utf-8", errors="replace"),
            stderr=err.decode("utf-8", errors="replace"),
            timed_out=timed_out,
            timeout=timeout,
            duration=duration,
            transport_errors=transport_errors,
            strict=strict,
            now=now,
            command=shown,
            output_path=Path(output) if output else None,
        )
        result.stdout_lines = result.stdout.split("\n")
        if result.stdout_lines and result.stdout_lines[-1] == "":
            result.stdout_lines.pop()
        if parse_output and out_path.is_file():
            result.assets_text = out_path.read_text(encoding="utf-8", errors="replace")
            result.assets, result.output_errors = parse_jsonl(result.assets_text)
        if stats_path.is_file():
            try:
                result.stats = json.loads(stats_path.read_text(encoding="utf-8"))
            except ValueError:
                result.stats = None
        return result


def parse_jsonl(text: str) -> tuple[list[dict], list[str]]:
    """Assets from JSON-lines text, and a message per line that is not a JSON object.

    Lines end at "\n" only: str.splitlines() would also split at U+0085 and U+2028, which
    Go's JSON encoder leaves unescaped inside strings."""
    assets, errors = [], []
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            errors.append(f"line {number}: not JSON ({exc})")
            continue
        if isinstance(value, dict):
            assets.append(value)
        else:
            errors.append(f"line {number}: expected a JSON object, got {type(value).__name__}")
    return assets, errors


def run_scenario(
    scenario: Scenario,
    transport_errors: str | None = None,
    *,
    script: Path | None = None,
    rzscript: Path | None = None,
    timeout: float | None = None,
    output: Path | None = None,
) -> RunResult:
    """Start the mock for `scenario`, run rzscript once in one transport-error mode
    (default: the scenario's first), and return what happened."""
    mode = transport_errors or scenario.transport_errors[0]
    script = script or script_path()
    if not script.is_file():
        raise FileNotFoundError(f"{display_path(script)} not found")
    with tempfile.TemporaryDirectory(prefix="rzscenario-") as tmp:
        try:
            prepared = prepare_script(script, scenario.settings, Path(tmp))
        except ScenarioError as exc:
            raise ScenarioError(f"{display_path(scenario.path)}: {exc}") from None
        with MockTailscale.from_scenario(scenario) as mock:
            result = run_rzscript(
                prepared,
                scenario.kwargs,
                route_url=mock.url,
                now=scenario.now,
                strict=scenario.strict,
                transport_errors=mode,
                timeout=timeout or scenario.timeout,
                output=output,
                rzscript=rzscript,
                extra_args=["--invalid-ip", scenario.invalid_ip],
            )
        result.requests = mock.requests
        result.issued_tokens = mock.issued_tokens
        configured = [scenario.kwargs.get("access_secret", "")] + mock.auth.secrets()
        result.secrets = sorted({s for s in configured if s})
        result.endpoint_hosts = mock.tailnet.endpoint_hosts() if mock.tailnet else set()
        result.scenario = scenario.name
        return result
