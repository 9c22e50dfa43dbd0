"""What the integration would import: `make run` (the mock API) and `make run-live` (the real API).

By default it serves fixtures/scenarios/sample_tailnet.yaml from the mock API, runs
tailscale.star on it with rzscript, and prints the script's log lines, a table of the assets,
and where their JSON lines were written. With --live there is no mock: the script calls the
real Tailscale API with credentials from the environment (TAILSCALE_API_KEY, or
TAILSCALE_OAUTH_CLIENT_ID and TAILSCALE_OAUTH_CLIENT_SECRET). Secrets and tokens are never
printed. Exits non-zero, with the script's error, when the run fails.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from harness.paths import OUT_DIR, SCENARIOS_DIR, display_path, script_path
from harness.run import run_scenario
from harness.rzscript import RzscriptRun, run_rzscript
from harness.scenario import load_scenario
from harness.schema import ScenarioError
from harness.secrets import mask_secrets

DEFAULT_SCENARIO = SCENARIOS_DIR / "sample_tailnet.yaml"
LIVE_TIMEOUT = 600.0
MAX_CELL = 48

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

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    rows = [[cell(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def live_kwargs(environ: Mapping[str, str]) -> dict[str, str]:
    api_key = environ.get("TAILSCALE_API_KEY")
    client_id = environ.get("TAILSCALE_OAUTH_CLIENT_ID")
    client_secret = environ.get("TAILSCALE_OAUTH_CLIENT_SECRET")
    if client_id and client_secret:
        return {"access_key": client_id, "access_secret": client_secret}
    if api_key:
        return {"access_key": "api-key", "access_secret": api_key}
    raise SystemExit("error: set TAILSCALE_API_KEY, or TAILSCALE_OAUTH_CLIENT_ID and TAILSCALE_OAUTH_CLIENT_SECRET")


def report(run: RzscriptRun, output: Path, secrets: list[str]) -> int:
    for line in run.stdout_lines:
        print(mask_secrets(line, secrets))
    if run.timed_out or run.exit_code != 0:
        why = f"timed out after {run.timeout:g}s" if run.timed_out else f"exit code {run.exit_code}"
        print(f"\nThe run failed ({why}):", file=sys.stderr)
        print(mask_secrets(run.stderr.rstrip(), secrets), file=sys.stderr)
        return run.exit_code or 1
    print()
    headers = ["id", "name", "addresses", "OS", "tags", "online"]
    print(format_table(headers, [asset_row(a) for a in run.assets]))
    print(f"\n{len(run.assets)} assets written to {display_path(output)}")
    return 0


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m harness.preview", description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", type=Path,
                    help=f"the scenario the mock serves (default {display_path(DEFAULT_SCENARIO)})")
    ap.add_argument("--live", action="store_true",
                    help="call the real Tailscale API (credentials from the environment)")
    ap.add_argument("--strict", action="store_true", help="with --live: run rzscript with --strict")
    ap.add_argument("--kwargs", action="append", default=[], metavar="KEY=VALUE", help="with --live: extra kwargs")
    ap.add_argument("--output", type=Path, help="the assets JSON-lines file")
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = parser()
    args = ap.parse_args(argv)
    script = script_path()
    try:
        if args.live:
            output = args.output or OUT_DIR / "live-assets.jsonl"
            kwargs = live_kwargs(os.environ)
            for item in args.kwargs:
                key, sep, value = item.partition("=")
                if not sep:
                    ap.error(f"--kwargs {item!r}: expected KEY=VALUE")
                kwargs[key] = value
            run = run_rzscript(script, kwargs, ["--strict"] if args.strict else [], timeout=LIVE_TIMEOUT,
                               output=output)
            return report(run, output, list(kwargs.values()))
        output = args.output or OUT_DIR / "sample-assets.jsonl"
        scenario = load_scenario(args.scenario or DEFAULT_SCENARIO)
        print(f"scenario: {display_path(scenario.path)} (mock Tailscale API)\n")
        result = run_scenario(scenario, script=script, output=output)
        return report(result.run, output, result.secrets + result.traffic.issued_tokens)
    except (ScenarioError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
