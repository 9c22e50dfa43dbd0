"""What the integration would import: `make run` (the mock API) and `make run-live` (the real API).

By default it serves fixtures/scenarios/sample_tailnet.yaml from the mock API, runs
tailscale.star on it with rzscript, and prints the script's log lines, a table of the assets,
a table of their findings, and where their JSON lines were written. With --live there is no
mock: the script calls the real Tailscale API with credentials from the environment
(TAILSCALE_OAUTH_CLIENT_SECRET, with or without TAILSCALE_OAUTH_CLIENT_ID, or TAILSCALE_API_KEY).
Secrets, tokens and --kwargs values are never printed, not even in an error about a malformed
argument. Exits non-zero, with the script's error, when the run fails.

The asset table fits in TABLE_WIDTH columns: the widest columns give way first and a cut cell
ends in "…" (the JSON-lines file has every field).
"""

from __future__ import annotations

import argparse
import dataclasses
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
TABLE_WIDTH = 120
COLUMN_GAP = "  "
# Tags the script gives every device, or whose `tailscale-` prefix says nothing in a table.
EVERY_ASSET_TAG = "tailscale"
ROLE_TAG_PREFIX = "tailscale-"
OAUTH_SECRET_PREFIX = "tskey-client-"
# The asset table's columns and the width each keeps when the table must shrink to TABLE_WIDTH:
# ids whole, an IPv4 address, one MAC.
COLUMNS = {"id": 10**6, "name": 12, "addresses": 15, "MACs": 17, "OS": 12, "roles and tags": 20, "online": 6}
# The findings table's columns and what each keeps: asset ids whole, the finding id, the rank.
FINDING_COLUMNS = {"asset": 10**6, "finding": 30, "rank": 4, "seen": 30}

EXAMPLES = f"""examples:
  make run                                   # this, with the defaults
  .venv/bin/python -m harness.preview --script /tmp/edited.star
        run an edited copy of the script against the mock (settings, logic, anything)
  .venv/bin/python -m harness.preview --scenario fixtures/scenarios/list_429_then_200.yaml
        watch one scenario (its settings are written into a copy of the script)
  TAILSCALE_API_KEY=tskey-api-... .venv/bin/python -m harness.preview --live

default scenario: {display_path(DEFAULT_SCENARIO)}; assets: {display_path(OUT_DIR)}/sample-assets.jsonl
(mock) or {display_path(OUT_DIR)}/live-assets.jsonl (--live)."""


def addresses_of(asset: dict) -> list[str]:
    found = []
    for iface in asset.get("networkInterfaces") or []:
        found += iface.get("ipv4Addresses") or []
        found += iface.get("ipv6Addresses") or []
    return found


def macs_of(asset: dict) -> list[str]:
    return [iface["macAddress"] for iface in asset.get("networkInterfaces") or [] if iface.get("macAddress")]


def shown_tags(tags: list) -> list[str]:
    """The role tags first, without their `tailscale-` prefix (`external` for a device shared in,
    `exit-node`, `subnet-router`, `ephemeral`), then the ACL tags; not the `tailscale` tag every
    asset carries."""
    texts = [t for t in tags if isinstance(t, str) and t != EVERY_ASSET_TAG]
    roles = [t.removeprefix(ROLE_TAG_PREFIX) for t in texts if t.startswith(ROLE_TAG_PREFIX)]
    return roles + [t for t in texts if not t.startswith(ROLE_TAG_PREFIX)]


def asset_row(asset: dict) -> list[str]:
    attributes = asset.get("customAttributes") or {}
    hostnames = asset.get("hostnames") or []
    os_text = " ".join(p for p in (asset.get("os"), asset.get("osVersion")) if p)
    return [
        str(asset.get("id", "")),
        hostnames[0].split(".", 1)[0] if hostnames else "",  # the MagicDNS domain is the tailnet's, on every row
        ", ".join(addresses_of(asset)),
        ", ".join(macs_of(asset)),
        os_text,
        ", ".join(shown_tags(asset.get("tags") or [])),
        attributes.get("tailscale_online", ""),
    ]


def finding_rows(assets: list[dict]) -> list[list[str]]:
    """One row per finding (a `vulnerabilities` record): asset id, finding id, rank, what was seen."""
    rows = []
    for asset in assets:
        for finding in asset.get("vulnerabilities") or []:
            rows.append([str(asset.get("id", "")), str(finding.get("id", "")), str(finding.get("severityRank", "")),
                         str(finding.get("description", ""))])
    return rows


def fitted_widths(natural: list[int], minimum: list[int], width: int) -> list[int]:
    """Column widths whose table fits in `width` columns: the widest column gives way, one
    character at a time, until it fits or every column is at its minimum."""
    widths = list(natural)
    budget = width - len(COLUMN_GAP) * (len(widths) - 1)
    while sum(widths) > budget:
        shrinkable = [i for i, w in enumerate(widths) if w > minimum[i]]
        if not shrinkable:
            break
        widest = max(shrinkable, key=lambda i: widths[i])
        widths[widest] -= 1
    return widths


def format_table(headers: list[str], rows: list[list[str]], width: int = TABLE_WIDTH,
                 keep: list[int] | None = None) -> str:
    """rows under headers, in at most `width` columns when the columns' `keep` widths allow it (by
    default a column keeps at least its header)."""

    def cell(text: str, room: int) -> str:
        return text if len(text) <= room else text[: room - 1] + "…"

    def line(cells: list[str]) -> str:
        return COLUMN_GAP.join(cell(c, w).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    natural = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    keep = keep or [len(h) for h in headers]
    widths = fitted_widths(natural, [min(n, max(k, len(h))) for n, k, h in zip(natural, keep, headers, strict=True)],
                           width)
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def live_kwargs(environ: Mapping[str, str]) -> dict[str, str]:
    """The kwargs a live run passes, as an admin would fill in the runZero credential: an OAuth
    client secret (with its client ID, or alone when it starts `tskey-client-`: the script tells
    it by its prefix and Tailscale identifies the client by its secret), else an API token."""
    api_key = environ.get("TAILSCALE_API_KEY")
    client_id = environ.get("TAILSCALE_OAUTH_CLIENT_ID")
    client_secret = environ.get("TAILSCALE_OAUTH_CLIENT_SECRET")
    if client_secret and (client_id or client_secret.startswith(OAUTH_SECRET_PREFIX)):
        return {"access_key": client_id or "", "access_secret": client_secret}
    if api_key:
        return {"access_key": "api-key", "access_secret": api_key}
    if client_secret:
        raise SystemExit(f"error: TAILSCALE_OAUTH_CLIENT_SECRET does not start {OAUTH_SECRET_PREFIX}: "
                         "set TAILSCALE_OAUTH_CLIENT_ID too")
    raise SystemExit("error: set TAILSCALE_OAUTH_CLIENT_SECRET (tskey-client-…; TAILSCALE_OAUTH_CLIENT_ID "
                     "is optional), or TAILSCALE_API_KEY")


def report(run: RzscriptRun, output: Path, secrets: list[str]) -> int:
    for line in run.stdout_lines:
        print(mask_secrets(line, secrets))
    if run.timed_out or run.exit_code != 0:
        why = f"timed out after {run.timeout:g}s" if run.timed_out else f"exit code {run.exit_code}"
        print(f"\nThe run failed ({why}):", file=sys.stderr)
        print(mask_secrets(run.stderr.rstrip(), secrets), file=sys.stderr)
        return run.exit_code or 1
    print()
    print(format_table(list(COLUMNS), [asset_row(a) for a in run.assets], keep=list(COLUMNS.values())))
    findings = finding_rows(run.assets)
    if findings:
        print(f"\nfindings ({len(findings)}):")
        print(format_table(list(FINDING_COLUMNS), findings, keep=list(FINDING_COLUMNS.values())))
    print(f"\n{len(run.assets)} assets written to {display_path(output)}")
    return 0


def kwarg_pair(text: str) -> tuple[str, str]:
    """KEY=VALUE; the message of a malformed one does not repeat it (it may be a secret)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError("expected KEY=VALUE (the value given is not shown: it may be a secret)")
    return key, value


class QuietParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors never repeat what was typed: a stray word may be a
    secret meant for --kwargs (`--kwargs access_secret tskey-...`)."""

    def parse_args(self, args=None, namespace=None):
        namespace, extras = self.parse_known_args(args, namespace)
        if extras:
            self.error(f"{len(extras)} unrecognized argument(s), not shown (they may hold a secret)")
        return namespace


def parser() -> argparse.ArgumentParser:
    ap = QuietParser(
        prog="python -m harness.preview",
        description=__doc__.split("\n\n")[0],
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # a prefix such as --s=... would be echoed back as ambiguous
    )
    ap.add_argument("--script", type=Path, help="the script to run, e.g. an edited copy of tailscale.star "
                    f"(default {display_path(script_path())})")
    ap.add_argument("--scenario", type=Path,
                    help=f"the scenario the mock serves (default {display_path(DEFAULT_SCENARIO)})")
    ap.add_argument("--live", action="store_true",
                    help="call the real Tailscale API (credentials from the environment)")
    ap.add_argument("--strict", action="store_true", help="with --live: run rzscript with --strict (without "
                    "--live it has no effect: the scenario says whether its run is strict)")
    ap.add_argument("--kwargs", action="append", type=kwarg_pair, default=[], metavar="KEY=VALUE",
                    help="a keyword argument of main(), added to or replacing the scenario's (or, with --live, "
                    "the environment's); never printed")
    ap.add_argument("--output", type=Path, help="the assets JSON-lines file")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    script = args.script or script_path()
    extra_kwargs = dict(args.kwargs)
    try:
        if args.live:
            output = args.output or OUT_DIR / "live-assets.jsonl"
            kwargs = {**live_kwargs(os.environ), **extra_kwargs}
            run = run_rzscript(script, kwargs, ["--strict"] if args.strict else [], timeout=LIVE_TIMEOUT,
                               output=output)
            return report(run, output, list(kwargs.values()))
        if args.strict:
            print("note: --strict has no effect without --live: the scenario's own `strict:` decides",
                  file=sys.stderr)
        output = args.output or OUT_DIR / "sample-assets.jsonl"
        scenario = load_scenario(args.scenario or DEFAULT_SCENARIO)
        if extra_kwargs:
            scenario = dataclasses.replace(scenario, kwargs={**scenario.kwargs, **extra_kwargs})
        print(f"scenario: {display_path(scenario.path)} (mock Tailscale API); script: {display_path(script)}\n")
        result = run_scenario(scenario, script=script, output=output)
        return report(result.run, output, result.secrets + result.traffic.issued_tokens + list(extra_kwargs.values()))
    except (ScenarioError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
