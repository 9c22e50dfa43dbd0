"""Check a scenario's `expect:` block against a ScenarioResult.

`check_expectations` returns one readable message per unmet expectation (empty list: all
met). The keys are declared, with their meanings, in harness.schema (EXPECT).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from harness.canned_server import RecordedRequest
from harness.mock import request_matcher
from harness.results import ScenarioResult


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def check_expectations(expect: Mapping[str, Any], result: ScenarioResult) -> list[str]:
    run, requests = result.run, result.traffic.requests
    failures: list[str] = []
    if run.timed_out:
        failures.append(f"rzscript did not finish within {run.timeout:g}s and was killed")

    wanted_exit = expect["exit"]
    code = run.exit_code
    if not run.timed_out:
        if wanted_exit == "nonzero":
            if code == 0:
                failures.append("exit: expected a non-zero exit code, got 0")
        elif wanted_exit != "any" and code != wanted_exit:
            failures.append(f"exit: expected {wanted_exit}, got {code}")

    for text in expect.get("error_contains", []):
        if text not in run.stderr:
            failures.append(f"error_contains: {text!r} not found in stderr")

    ids = [a.get("id") for a in run.assets]
    if "asset_count" in expect and len(run.assets) != expect["asset_count"]:
        failures.append(f"asset_count: expected {expect['asset_count']}, got {len(run.assets)}")

    if "asset_ids" in expect:
        wanted, got = set(expect["asset_ids"]), set(ids)
        missing, extra = sorted(wanted - got), sorted(str(i) for i in got - wanted)
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing {missing}")
            if extra:
                parts.append(f"unexpected {extra}")
            failures.append("asset_ids: " + ", ".join(parts))

    by_id = {a.get("id"): a for a in run.assets}
    for asset_id, fields in (expect.get("assets") or {}).items():
        failures += _check_asset(str(asset_id), fields, by_id.get(asset_id))

    for spec in expect.get("requests", []):
        matcher = request_matcher(spec)
        seen = sum(1 for r in requests if matcher.matches(r))
        low = spec.get("count", spec.get("min"))
        high = spec.get("count", spec.get("max"))
        if (low is not None and seen < low) or (high is not None and seen > high):
            if "count" in spec:
                wanted = f"{spec['count']}"
            else:
                wanted = " and ".join(
                    part for part in (
                        f"at least {low}" if low is not None else "",
                        f"at most {high}" if high is not None else "",
                    ) if part
                )
            failures.append(
                f"requests: {matcher.describe()}: expected {wanted}, got {seen}" + _request_log(requests)
            )

    for spec in expect.get("requests_absent", []):
        matcher = request_matcher(spec)
        hits = [r for r in requests if matcher.matches(r)]
        if hits:
            shown = "; ".join(r.describe() for r in hits[:5])
            more = f" (and {len(hits) - 5} more)" if len(hits) > 5 else ""
            failures.append(f"requests_absent: {matcher.describe()}: {len(hits)} made: {shown}{more}")

    lines = run.stdout_lines
    for text in expect.get("logs_contain", []):
        if not any(text in line for line in lines):
            failures.append(f"logs_contain: no stdout line contains {text!r}")
    for text in expect.get("logs_absent", []):
        hits = [line for line in lines if text in line]
        if hits:
            failures.append(f"logs_absent: {text!r} appears in stdout: {hits[0]!r}")

    if "last_log_line" in expect:
        pattern = expect["last_log_line"]
        if not lines:
            failures.append(f"last_log_line: stdout is empty, expected a line matching {pattern!r}")
        elif not re.fullmatch(pattern, lines[-1].rstrip()):
            failures.append(f"last_log_line: {lines[-1]!r} does not match {pattern!r}")
    return failures


def _check_asset(asset_id: str, fields: Mapping[str, Any], asset: Mapping[str, Any] | None) -> list[str]:
    where = f"assets[{asset_id}]"
    if asset is None:
        return [f"{where}: no asset with this id"]
    failures = []
    attributes = asset.get("customAttributes") or {}
    for key, wanted in fields.items():
        if key == "customAttributes":
            for name, value in wanted.items():
                if name not in attributes:
                    failures.append(f"{where}.customAttributes.{name}: missing (expected {_show(value)})")
                elif attributes[name] != value:
                    failures.append(
                        f"{where}.customAttributes.{name}: expected {_show(value)}, got {_show(attributes[name])}"
                    )
        elif key == "customAttributes_absent":
            for name in wanted:
                if name in attributes:
                    failures.append(f"{where}.customAttributes.{name}: should be absent, is {_show(attributes[name])}")
        elif key == "vulnerability_ids":
            got = [item.get("id") for item in asset.get("vulnerabilities") or [] if isinstance(item, dict)]
            if got != wanted:
                failures.append(f"{where}.vulnerabilities: expected ids {_show(wanted)}, got {_show(got)}")
        elif key == "absent":
            for name in wanted:
                if name in asset:
                    failures.append(f"{where}.{name}: should be absent, is {_show(asset[name])}")
        elif key not in asset:
            failures.append(f"{where}.{key}: missing (expected {_show(wanted)})")
        elif asset[key] != wanted:
            failures.append(f"{where}.{key}: expected {_show(wanted)}, got {_show(asset[key])}")
    return failures


def _request_log(requests: list[RecordedRequest], limit: int = 12) -> str:
    if not requests:
        return " (no requests were made)"
    shown = [r.describe() for r in requests[:limit]]
    more = f"\n      ... {len(requests) - limit} more" if len(requests) > limit else ""
    return "\n    requests made:\n      " + "\n      ".join(shown) + more
