"""Print tests/FAULTS.md: one table of every scenario in fixtures/scenarios/ and its outcome.

    .venv/bin/python tests/scenario_table.py            # print the document
    .venv/bin/python tests/scenario_table.py --write    # rewrite tests/FAULTS.md
    .venv/bin/python tests/scenario_table.py --check    # exit 1 if tests/FAULTS.md is out of date

Each row comes from the scenario file alone: the situation is the first sentence of its
`description`, the outcome is read from its `expect` block (exit code, the first
`error_contains` texts, the asset count or ids), and the requests column from
`expect.requests` (exact counts) and `expect.requests_absent`. A scenario whose
description starts with "PENDING SCRIPT FIX" is marked: it fails until the script is
fixed. tests/test_faults_table.py fails when tests/FAULTS.md differs from this output.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from harness.scenario import REPO_ROOT, SCENARIOS_DIR, ScenarioError, discover_scenarios, parse_yaml

FAULTS_FILE = REPO_ROOT / "fixtures" / "SCENARIOS.md"
REGENERATE = ".venv/bin/python -m harness.scenario_table --write"
PENDING_MARK = "PENDING SCRIPT FIX"
API_PREFIX = "/api/v2"
MAX_SITUATION = 260

HEADER = f"""# What the integration survives

Every scenario in [fixtures/scenarios/](scenarios/) with the outcome it proves, one
row per file. The situation is the first sentence of the file's `description`; the outcome and
the requests come from its `expect` block. Generated: run `{REGENERATE}` after adding or
changing a scenario (`tests/test_faults_table.py` fails while this file is out of date).

- **succeeds with N assets**: exit 0 and exactly those assets ("nothing lost": every
  well-formed device of the response is imported even when its neighbours are junk).
- **fails with "…"**: the run ends in error with that message in the task log and imports
  nothing. These are the messages the README's troubleshooting section explains.
- **requests**: `×N` is an exact count (so `×3` on a failing request proves 3 attempts, then
  stop), `N–M` a range (the two transport-error modes differ), `none:` requests never made.
  Paths are relative to `{API_PREFIX}`.
- **modes**: the `--transport-errors` modes the scenario runs under (`none`: a refused,
  timed-out or dropped request returns None to the script; `abort`: it ends the script).

Every run of every scenario also passes the global invariants of `tests/invariants.py`
(runzero-sdk validation, unique ids, attribute limits, no placeholder hostnames, no
loopback/link-local/NAT-endpoint addresses, no future timestamps, and no secret or issued
token in stdout, stderr, error text or assets) unless the row names one it skips.

`tests/test_fuzz.py` adds generated device lists with junk in every field: the run never
aborts, every device with a usable id yields exactly one asset, every asset passes the
invariants. `FUZZ_EXAMPLES` (default 100, about 10 s), `FUZZ_SEED` (unset: the same examples
every run; an integer; `random`), `FUZZ_MAX_DEVICES` (default 8) and `FUZZ_SHRINK` (default 1)
size a longer hunt, e.g. `FUZZ_EXAMPLES=2000 FUZZ_SEED=random .venv/bin/python -m pytest -q tests/test_fuzz.py`.
"""


def first_sentence(text: str) -> str:
    """The description's first sentence, on one line."""
    flat = " ".join(text.split())
    match = re.search(r"(?<!e\.g\.)(?<!i\.e\.)(?<=[.!?])\s+(?=\S)", flat)
    sentence = flat[: match.start()] if match else flat
    if len(sentence) > MAX_SITUATION:
        sentence = sentence[: MAX_SITUATION - 1].rstrip() + "…"
    return sentence


def cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def code(text: str) -> str:
    """text as inline code that survives a Markdown table (backticks inside are doubled around)."""
    text = cell(text)
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def short_path(spec: dict[str, Any]) -> str:
    method = spec.get("method", "")
    if "path" in spec:
        path = spec["path"]
        path = path[len(API_PREFIX):] if path.startswith(API_PREFIX + "/") else path
    elif "path_regex" in spec:
        path = "~" + spec["path_regex"]
    else:
        path = ""
    if path in ("", "~.", "~^.*$", "~.*"):
        return method.upper() if method else "any request"
    query = spec.get("query") or {}
    if query:
        path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return f"{method.upper()} {path}".strip()


def requests_text(expect: dict[str, Any]) -> str:
    parts = []
    for spec in expect.get("requests") or []:
        if not isinstance(spec, dict):
            continue
        if "count" in spec:
            amount = f"×{spec['count']}"
        else:
            low, high = spec.get("min"), spec.get("max")
            amount = f"{low}–{high}" if low is not None and high is not None else (f"≥{low}" if low is not None else f"≤{high}")
        parts.append(f"{code(short_path(spec))} {amount}")
    absent = [code(short_path(spec)) for spec in expect.get("requests_absent") or [] if isinstance(spec, dict)]
    if absent:
        parts.append("none: " + ", ".join(absent))
    return "; ".join(parts)


def outcome_text(data: dict[str, Any]) -> str:
    expect = data.get("expect") or {}
    wanted = expect.get("exit", 0)
    if wanted == 0:
        if "asset_count" in expect:
            count = expect["asset_count"]
        elif "asset_ids" in expect:
            count = len(expect["asset_ids"])
        else:
            count = None
        outcome = "succeeds" if count is None else f"succeeds with {count} asset{'' if count == 1 else 's'}"
    elif wanted == "any":
        outcome = "any outcome"
    else:
        errors = expect.get("error_contains") or []
        errors = [errors] if isinstance(errors, str) else errors
        outcome = "fails with " + " … ".join(code(error) for error in errors) if errors else "fails"
    skipped = sorted((data.get("skip_invariants") or {}).keys())
    if skipped:
        outcome += " (skips invariant " + ", ".join(skipped) + ")"
    if str(data.get("description", "")).lstrip().startswith(PENDING_MARK):
        outcome = f"**{PENDING_MARK.lower()}**, must: " + outcome
    return outcome


def row(path: Path) -> str:
    link = f"[{path.stem}](scenarios/{path.name})"
    try:
        data = parse_yaml(path.read_text(encoding="utf-8"), str(path))
    except (OSError, ScenarioError) as exc:
        return f"| {link} | (cannot read: {cell(exc)}) | | |"
    if not isinstance(data, dict):
        return f"| {link} | (not a scenario mapping) | | |"
    modes = data.get("transport_errors", ["none"])
    modes = [modes] if isinstance(modes, str) else modes
    situation = first_sentence(str(data.get("description") or "(no description)"))
    situation = re.sub(rf"^{PENDING_MARK}:\s*", "", situation)
    expect = data.get("expect") or {}
    return (f"| {link} | {cell(situation)} | {outcome_text(data)} | "
            f"{requests_text(expect) if isinstance(expect, dict) else ''} | {', '.join(map(str, modes))} |")


def render(directory: Path | None = None) -> str:
    paths = discover_scenarios(directory or SCENARIOS_DIR)
    rows = [row(path) for path in paths]
    fails = sum(1 for r in rows if "| fails" in r or "must: fails" in r)
    pending = sum(1 for r in rows if PENDING_MARK.lower() in r)
    summary = f"{len(rows)} scenarios: {len(rows) - fails} succeed, {fails} fail on purpose"
    if pending:
        summary += f", {pending} pending a script fix"
    lines = [HEADER, f"## Scenarios\n\n{summary}.\n",
             "| scenario | situation | outcome | requests | modes |", "| --- | --- | --- | --- | --- |"]
    return "\n".join(lines + rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help=f"rewrite {FAULTS_FILE.relative_to(REPO_ROOT)}")
    group.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.write:
        FAULTS_FILE.write_text(text, encoding="utf-8")
        print(f"wrote {FAULTS_FILE.relative_to(REPO_ROOT)} ({text.count(chr(10))} lines)")
    elif args.check:
        current = FAULTS_FILE.read_text(encoding="utf-8") if FAULTS_FILE.is_file() else ""
        if current != text:
            print(f"{FAULTS_FILE.relative_to(REPO_ROOT)} is out of date: run `{REGENERATE}`", file=sys.stderr)
            return 1
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
