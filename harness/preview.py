"""Show what the integration would import: `make run` (mock API) and `make run-live` (real API).

    python -m harness.preview [--scenario FILE] [--output FILE]
    python -m harness.preview --live [--strict] [--kwargs key=value ...]

Default: serve fixtures/scenarios/sample_tailnet.yaml (or, without that file, the sample
tailnet with default settings) from the mock API, run tailscale.star with rzscript, and
print the script's log lines, a table of the assets and where their JSON lines were written.

--live: no mock; the real Tailscale API with credentials from the environment:
TAILSCALE_API_KEY, or TAILSCALE_OAUTH_CLIENT_ID and TAILSCALE_OAUTH_CLIENT_SECRET. They are
never printed: any occurrence in the output is replaced by [REDACTED].
Exits non-zero, with the script's error, when the run fails.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from harness.mock import REPO_ROOT
from harness.scenario import (
    SCENARIOS_DIR,
    RunResult,
    ScenarioError,
    display_path,
    load_scenario,
    run_rzscript,
    run_scenario,
    scenario_from_dict,
    script_path,
)

DEFAULT_SCENARIO = SCENARIOS_DIR / "sample_tailnet.yaml"
OUT_DIR = REPO_ROOT / "out"
MAX_CELL = 48


def redact(text: str, secrets: list[str]) -> str:
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "[REDACTED]")
    return text


def addresses_of(asset: dict) -> list[str]:
    found = []
    for iface in asset.get("networkInterfaces") or []:
        found += iface.get("ipv4Addresses") or []
        found += iface.get("ipv6Addresses") or []
    return found


def asset_row(asset: dict) -> list[str]:
    attributes = asset.get("customAttributes") or {}
    hostnames = asset.get("hostnames") or []
    os_text = " ".join(p for p in (asset.get("os"), asset.get("osVersion")) if p)
    acl_tags = [t for t in asset.get("tags") or [] if isinstance(t, str) and t.startswith("tag:")]
    return [
        str(asset.get("id", "")),
        hostnames[0] if hostnames else "",
        ", ".join(addresses_of(asset)),
        os_text,
        ", ".join(acl_tags),
        attributes.get("tailscale_online", ""),
    ]


def format_table(headers: list[str], rows: list[list[str]], max_cell: int = MAX_CELL) -> str:
    def cell(text: str) -> str:
        return text if len(text) <= max_cell else text[: max_cell - 1] + "…"

    rows = [[cell(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def live_kwargs(environ: os._Environ | dict) -> dict[str, str]:
    api_key = environ.get("TAILSCALE_API_KEY")
    client_id = environ.get("TAILSCALE_OAUTH_CLIENT_ID")
    client_secret = environ.get("TAILSCALE_OAUTH_CLIENT_SECRET")
    if client_id and client_secret:
        return {"access_key": client_id, "access_secret": client_secret}
    if api_key:
        return {"access_key": "api-key", "access_secret": api_key}
    raise SystemExit(
        "error: set TAILSCALE_API_KEY, or TAILSCALE_OAUTH_CLIENT_ID and TAILSCALE_OAUTH_CLIENT_SECRET"
    )


def report(result: RunResult, output: Path, secrets: list[str]) -> int:
    for line in result.stdout_lines:
        print(redact(line, secrets))
    if result.timed_out or result.exit_code != 0:
        why = f"timed out after {result.timeout:g}s" if result.timed_out else f"exit code {result.exit_code}"
        print(f"\nThe run failed ({why}):", file=sys.stderr)
        print(redact(result.stderr.rstrip(), secrets), file=sys.stderr)
        return result.exit_code or 1
    print()
    headers = ["id", "name", "addresses", "OS", "tags", "online"]
    print(format_table(headers, [asset_row(a) for a in result.assets]))
    print(f"\n{len(result.assets)} assets written to {display_path(output)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run_sample", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", type=Path, help=f"scenario file (default {display_path(DEFAULT_SCENARIO)})")
    parser.add_argument("--live", action="store_true", help="call the real Tailscale API (credentials from env)")
    parser.add_argument("--strict", action="store_true", help="with --live: run rzscript with --strict")
    parser.add_argument("--kwargs", action="append", default=[], metavar="KEY=VALUE", help="with --live: extra kwargs")
    parser.add_argument("--output", type=Path, help="assets JSON-lines file (default out/sample-assets.jsonl)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds before rzscript is stopped")
    args = parser.parse_args(argv)

    script = script_path()
    try:
        if args.live:
            output = args.output or OUT_DIR / "live-assets.jsonl"
            kwargs = live_kwargs(os.environ)
            for item in args.kwargs:
                key, sep, value = item.partition("=")
                if not sep:
                    parser.error(f"--kwargs {item!r}: expected KEY=VALUE")
                kwargs[key] = value
            result = run_rzscript(script, kwargs, strict=args.strict, timeout=args.timeout, output=output)
            return report(result, output, [kwargs["access_secret"]])

        output = args.output or OUT_DIR / "sample-assets.jsonl"
        path = args.scenario or DEFAULT_SCENARIO
        if args.scenario is None and not path.exists():
            scenario = scenario_from_dict({"description": "the sample tailnet", "tailnet": "sample"}, "sample")
        else:
            scenario = load_scenario(path)
        print(f"scenario: {display_path(scenario.path)} (mock Tailscale API)\n")
        result = run_scenario(scenario, script=script, output=output)
        return report(result, output, result.secrets + result.issued_tokens)
    except (ScenarioError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
