#!/usr/bin/env python3
"""What tailscale.star costs as the tailnet grows (`make bench`).

    .venv/bin/python -m bench.run_bench [--sizes 100,1000] [--quick] [--seed S]
        [--repeat K] [--cpuprofile-dir DIR] [--starlark-profile-dir DIR]
        [--results FILE] [--json FILE] [--script FILE] [--rzscript FILE] [--env K=V]

For each N (default 100, 1,000, 10,000 and 50,000) it generates a synthetic tailnet with
bench/generate_tailnet.py into bench/out/tailnet-N/ (only when missing, or when the
generator, the seed or N changed: see stamp.json there) and runs tailscale.star on it, posture
off and on, through the harness's one run-a-scenario path (harness.run: the mock Tailscale
API of harness.mock, bin/rzscript, the same rzscript options as every scenario). At one size
(1,000 when it is run, else the smallest) it adds an OAuth run (posture off and on) and a run
whose posture calls all answer 403.

At 10,000 devices it also times tailscale.star with its findings on and off, in interleaved pairs
(the findings must cost no request and little script time).

At each size it also runs bench/reference_mapping.star, a plain mapping to the same asset
shape without any of tailscale.star's checks: the yardstick for what those checks cost.

It prints one Markdown table (requests by endpoint as the mock recorded them, bytes
received, wall time, script time without HTTP, devices per second of script time, peak
RSS and peak live heap of rzscript, assets), the mapping cost as a ratio to the yardstick,
then PASS/FAIL per target, then how much of the time the mock
itself spent serving, and writes all of it, with the machine's details, to
bench/out/RESULTS.md (git-ignored), or to --results FILE: `make bench-record` writes the
tracked bench/RESULTS.md. The "Notes" section of an existing report (between the NOTES
markers) is kept. Exit status 1 when a target fails or a run breaks.

Measuring notes:
- Peak RSS is what rzscript reports in its --stats: the high-water mark of its own address
  space (VmHWM), so the memory of this process, which holds the mock and the loaded tailnet,
  does not count in it. RSS moves with GOGC and the number of cores; the peak live heap
  (the largest heap a garbage collection found reachable) does not, so its target is on that.
- "script s" is rzscript's wall time minus the time spent inside http calls, so the mock
  can never inflate it. The mock's own CPU time is measured as this process's CPU time
  during each run (its only work then is serving), and once more with a direct client.
- Timings on a shared 2-core machine are noisy; --repeat K keeps the fastest of K runs. The
  two posture-off runs the linearity target compares (1,000 and 50,000 devices) always run
  at least LINEARITY_REPEAT (5) times.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench import generate_tailnet
from harness import hostnames
from harness.mock import MockTailscale
from harness.paths import BENCH_DIR, display_path, rzscript_path, script_path
from harness.run import run_scenario
from harness.scenario import scenario_from_dict
from harness.schema import DEFAULT_OAUTH_CLIENT_ID, DEFAULT_OAUTH_CLIENT_SECRET
from harness.tailnet import Tailnet, load_tailnet

# What a generated tailnet depends on: the generator, and the placeholder names it hands out.
GENERATOR_SOURCES = (Path(generate_tailnet.__file__), Path(hostnames.__file__))
DEFAULT_OUT_DIR = BENCH_DIR / "out"
RECORDED_RESULTS = BENCH_DIR / "RESULTS.md"  # tracked; written only by `make bench-record`

DEFAULT_SIZES = (100, 1000, 10000, 50000)
QUICK_SIZES = (100, 1000)
EXTRAS_SIZE = 1000  # the OAuth and posture-403 runs
LINEARITY_BASE, LINEARITY_TOP, LINEARITY_TOLERANCE = 1000, 50000, 0.25
# Runs of the two posture-off cases the linearity ratio compares, fastest kept: a 1,000-device run is mostly noise.
LINEARITY_REPEAT = 5
BIG_SIZE, WALL_LIMIT_S, RSS_LIMIT_BYTES = 50000, 60.0, 1.5e9
DEFAULT_TIMEOUT = 900.0
# The yardstick: the same asset shape, none of the checks. Its runs and ours are compared at these
# sizes, each run RATIO_REPEAT times (fastest kept), and ours may cost at most REFERENCE_RATIO_LIMIT
# times as much script time per device.
REFERENCE_SCRIPT = BENCH_DIR / "reference_mapping.star"
RATIO_SIZES, RATIO_REPEAT, REFERENCE_RATIO_LIMIT = (10000, 50000), 3, 2.0
# Peak live heap at BIG_SIZE devices, posture off, before the mapping was made cheap: 519-531 MB over
# several rzscript --stats runs on the 50,000-device tailnet of seed 1 (it moves about 1.5% with the
# collector's timing). The target is not to exceed the highest of them by more than that noise.
LIVE_HEAP_LIMIT_BYTES = 531e6 * 1.02
# Findings cost no request; their script time at FINDINGS_SIZE devices (posture off) is compared in
# FINDINGS_PAIRS interleaved pairs of runs, REPORT_FINDINGS on and off, the order alternating. The median
# ratio may be at most FINDINGS_RATIO_LIMIT; the target fails only when every pair is over it (not noise).
FINDINGS_SIZE, FINDINGS_PAIRS, FINDINGS_RATIO_LIMIT = 10000, 7, 1.10

LIST_PATH = re.compile(r"^/api/v2/tailnet/[^/]+/devices$")
TOKEN_PATH = "/api/v2/oauth/token"
ATTRIBUTES_PATH = re.compile(r"^/api/v2/device/[^/]+/attributes$")
PER_DEVICE_PATH = re.compile(r"^/api/v2/device/[^/]+(/routes)?$")  # fields=all makes these needless
FORBIDDEN_ANSWER = {
    "status": 403,
    "json": {"message": "calling actor does not have enough permissions to perform this function"},
}
NOTES_BEGIN = "<!-- NOTES: written by hand; bench/run_bench.py keeps this section -->"
NOTES_END = "<!-- END NOTES -->"

# --------------------------------------------------------------------------- tailnets


def generator_hash() -> str:
    digest = hashlib.sha256()
    for source in GENERATOR_SOURCES:
        digest.update(source.read_bytes())
    return digest.hexdigest()


def ensure_tailnet(out_dir: Path, n: int, seed: int, log=print) -> Path:
    """bench/out/tailnet-N, generated unless stamp.json says it is current."""
    directory = out_dir / f"tailnet-{n}"
    stamp_file = directory / "stamp.json"
    stamp = {"generator_sha256": generator_hash(), "seed": seed, "devices": n}
    try:
        current = json.loads(stamp_file.read_text()) == stamp and all(
            (directory / name).is_file() for name in ("devices.json", "posture.json")
        )
    except (OSError, ValueError):
        current = False
    if current:
        return directory
    log(f"generating {n:,} devices (seed {seed}) into {display_path(directory)}")
    stamp_file.unlink(missing_ok=True)
    generate_tailnet.write(str(directory), n, seed)
    stamp_file.write_text(json.dumps(stamp, indent=1) + "\n")
    return directory


# --------------------------------------------------------------------------- runs


@dataclass
class RunSpec:
    n: int
    posture: bool
    auth: str = "api key"  # or "oauth"
    forbid_posture: bool = False  # every posture call answers 403
    reference: bool = False  # run the yardstick script instead of tailscale.star

    @property
    def posture_label(self) -> str:
        if self.reference:
            return "reference"
        return ("on (403)" if self.forbid_posture else "on") if self.posture else "off"

    @property
    def slug(self) -> str:
        auth = "oauth" if self.auth == "oauth" else "apikey"
        posture = "posture403" if self.forbid_posture else ("posture-on" if self.posture else "posture-off")
        return f"n{self.n}-{'reference' if self.reference else posture}-{auth}"


@dataclass
class Measurement:
    """One benchmark run: what the mock counted and what rzscript reported."""

    spec: RunSpec
    devices: int = 0  # devices in the served tailnet
    shared_in: int = 0  # of them, shared in from other tailnets (no posture call is made for those)
    exit_code: int | None = None
    timed_out: bool = False
    list_calls: int = 0
    token_calls: int = 0
    attribute_calls: int = 0
    other_calls: int = 0
    per_device_calls: int = 0  # GET /device/{id} or /device/{id}/routes
    other_paths: dict = field(default_factory=dict)
    client_requests: int = 0  # rzscript's own count (stats)
    bytes_received: int = 0
    wall_s: float = 0.0  # rzscript's wall time (stats)
    process_wall_s: float = 0.0  # spawn to exit, measured here
    script_s: float = 0.0
    http_s: float = 0.0
    rss_bytes: int = 0
    live_heap_bytes: int = 0  # peak live heap after a garbage collection (stats)
    assets: int = 0
    cpu_s: float = 0.0  # rzscript user+sys
    mock_cpu_s: float = 0.0  # this process (the mock) during the run
    repeats: int = 1
    last_log_line: str = ""
    error: str = ""
    stats: dict = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return self.list_calls + self.token_calls + self.attribute_calls + self.other_calls

    @property
    def devices_per_second(self) -> float:
        return self.devices / self.script_s if self.script_s > 0 else 0.0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.error

    def as_dict(self) -> dict:
        d = asdict(self)
        d["spec"]["posture_label"] = self.spec.posture_label
        d["requests"] = self.requests
        d["devices_per_second"] = self.devices_per_second
        return d


def scenario_for(spec: RunSpec, tailnet_directory: Path, timeout: float):
    doc = {
        "description": f"benchmark run {spec.slug}",
        "tailnet": str(tailnet_directory),
        # The yardstick has no settings: it never reads posture.
        "settings": {} if spec.reference else {"INCLUDE_POSTURE": spec.posture},
        "strict": False,  # what runZero does; --strict only adds checks
        "timeout": timeout,
    }
    if spec.auth == "oauth":
        doc["kwargs"] = {"access_key": DEFAULT_OAUTH_CLIENT_ID, "access_secret": DEFAULT_OAUTH_CLIENT_SECRET}
    if spec.forbid_posture:
        doc["routes"] = [
            {"method": "GET", "path_regex": ATTRIBUTES_PATH.pattern, "responses": [FORBIDDEN_ANSWER]}
        ]
    return scenario_from_dict(doc, name=spec.slug)


def _cpu_seconds(usage) -> float:
    return usage.ru_utime + usage.ru_stime


def run_once(
    spec: RunSpec,
    tailnet: Tailnet,
    tailnet_directory: Path,
    *,
    script: Path,
    rzscript: Path,
    workdir: Path,
    timeout: float = DEFAULT_TIMEOUT,
    cpuprofile: Path | None = None,
    starlark_profile: Path | None = None,
    env: dict | None = None,
) -> Measurement:
    """One run of the scenario for `spec` over the tailnet in tailnet_directory (`tailnet`, the
    same directory already loaded: the mock reuses it, so the 50,000-device list is read once
    per size, not once per run)."""
    scenario = scenario_for(spec, tailnet_directory, timeout)
    result = Measurement(spec=spec, devices=len(tailnet.devices),
                         shared_in=sum(1 for d in tailnet.devices if d.get("isExternal") is True))
    run_dir = Path(tempfile.mkdtemp(prefix=spec.slug + "-", dir=workdir))
    try:
        profilers = []
        if cpuprofile is not None:
            profilers += ["--cpuprofile", str(cpuprofile)]
        if starlark_profile is not None:
            profilers += ["--starlark-profile", str(starlark_profile)]
        mock_before = resource.getrusage(resource.RUSAGE_SELF)
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        scenario_result = run_scenario(
            scenario, script=REFERENCE_SCRIPT if spec.reference else script, rzscript=rzscript,
            output=run_dir / "assets.jsonl",
            extra_options=profilers, env=env, parse_output=False,
        )
        mock_after = resource.getrusage(resource.RUSAGE_SELF)
        children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        run = scenario_result.run
        # The mock runs in this process; rzscript's stdout and stderr reach it through pipes,
        # which costs a little CPU here too, but a benchmark run prints a handful of lines.
        result.mock_cpu_s = _cpu_seconds(mock_after) - _cpu_seconds(mock_before)
        result.cpu_s = _cpu_seconds(children_after) - _cpu_seconds(children_before)
        result.process_wall_s = run.duration
        result.timed_out = run.timed_out
        result.exit_code = run.exit_code
        other = collections.Counter()
        for req in scenario_result.traffic.requests:
            if req.method == "GET" and LIST_PATH.match(req.path):
                result.list_calls += 1
            elif req.method == "POST" and req.path == TOKEN_PATH:
                result.token_calls += 1
            elif req.method == "GET" and ATTRIBUTES_PATH.match(req.path):
                result.attribute_calls += 1
            else:
                result.other_calls += 1
                other[f"{req.method} {req.path}"] += 1
                if PER_DEVICE_PATH.match(req.path):
                    result.per_device_calls += 1
        result.other_paths = dict(other.most_common(10))
        st = result.stats = run.stats or {}
        result.client_requests = int(st.get("http_requests", 0))
        result.bytes_received = int(st.get("bytes_received", 0))
        result.wall_s = float(st.get("wall_seconds", 0.0))
        result.script_s = float(st.get("script_seconds", 0.0))
        result.http_s = float(st.get("http_seconds", 0.0))
        result.rss_bytes = int(st.get("max_rss_bytes", 0))
        result.live_heap_bytes = int(st.get("peak_live_heap_bytes", 0))
        result.assets = int(st.get("assets", 0))
        result.last_log_line = run.stdout_lines[-1] if run.stdout_lines else ""
        if result.timed_out:
            result.error = f"did not finish in {timeout:.0f}s"
        elif result.exit_code != 0:
            tail = run.stderr.strip().splitlines()[-5:]
            result.error = f"exit {result.exit_code}: " + " | ".join(tail)
        elif not st:
            result.error = "no --stats file"
        return result
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


# --------------------------------------------------------------------------- the mock alone


CLIENT_CODE = r"""
import http.client, json, sys, time
port, list_path, attr_paths, auth = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
headers = {"Authorization": auth, "Accept": "application/json"}
conn = http.client.HTTPConnection("127.0.0.1", port)
conn.connect()
import socket
conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
def get(path):
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    assert response.status == 200, (path, response.status)
    return len(body)
lists = []
for _ in range(3):
    t = time.perf_counter(); size = get(list_path); lists.append(time.perf_counter() - t)
for path in attr_paths[:50]:
    get(path)  # warm the mock's body cache
t = time.perf_counter()
for path in attr_paths:
    get(path)
attrs = time.perf_counter() - t
print(json.dumps({"list_seconds": min(lists), "list_bytes": size, "attribute_requests": len(attr_paths),
                  "attribute_seconds": attrs}))
"""


def measure_mock(tailnet: Tailnet, api_key: str, requests: int = 2000) -> dict:
    """The mock's serving time alone: a separate client process fetches the fields=all list
    three times (fastest kept) and then `requests` posture bodies on one keep-alive connection.
    Also this process's CPU time while serving them."""
    # Shared-in devices are left out: Tailscale refuses their posture, and the script asks none.
    ids = [d.get("nodeId") or d.get("id") for d in tailnet.devices if d.get("isExternal") is not True][:requests]
    attr_paths = [f"/api/v2/device/{i}/attributes" for i in ids]
    with MockTailscale(tailnet=tailnet) as mock:
        before = resource.getrusage(resource.RUSAGE_SELF)
        out = subprocess.run(
            [sys.executable, "-c", CLIENT_CODE, str(mock.port), "/api/v2/tailnet/-/devices?fields=all",
             json.dumps(attr_paths), f"Bearer {api_key}"],
            capture_output=True, text=True, check=True,
        ).stdout
        after = resource.getrusage(resource.RUSAGE_SELF)
    result = json.loads(out)
    result["mock_cpu_seconds"] = _cpu_seconds(after) - _cpu_seconds(before)
    result["devices"] = len(tailnet.devices)
    return result


# --------------------------------------------------------------------------- reporting


def fmt_int(value: int) -> str:
    return f"{value:,}"


def table(results: list[Measurement]) -> str:
    header = (
        "| N | posture | auth | list | token | attributes | other | bytes received | wall s "
        "| script s (excl. HTTP) | devices/s (script) | peak RSS MB | peak live heap MB | assets |"
    )
    rows = [header, "|" + "---|" * 14]
    for r in results:
        if r.error:
            tail = f"FAILED: {r.error}"
            rows.append(f"| {fmt_int(r.spec.n)} | {r.spec.posture_label} | {r.spec.auth} | {tail} |" + " |" * 10)
            continue
        rows.append(
            f"| {fmt_int(r.spec.n)} | {r.spec.posture_label} | {r.spec.auth} | {r.list_calls} | {r.token_calls} "
            f"| {fmt_int(r.attribute_calls)} | {r.other_calls} | {fmt_int(r.bytes_received)} | {r.wall_s:.2f} "
            f"| {r.script_s:.2f} | {r.devices_per_second:,.0f} | {r.rss_bytes / 1e6:,.0f} "
            f"| {r.live_heap_bytes / 1e6:,.0f} | {fmt_int(r.assets)} |"
        )
    return "\n".join(rows)


def reference_pair(results: list[Measurement], n: int) -> tuple[Measurement, Measurement, float] | None:
    """tailscale.star's and the yardstick's posture-off runs at n devices, and the first's script
    time per device over the second's; None unless both ran and succeeded."""
    ours, yardstick = _find(results, n, False), _find(results, n, False, reference=True)
    if ours is None or yardstick is None or not (ours.ok and yardstick.ok) or yardstick.script_s <= 0:
        return None
    return ours, yardstick, (ours.script_s / ours.assets) / (yardstick.script_s / yardstick.assets)


def ratio_table(results: list[Measurement]) -> str:
    rows = ["| N | tailscale.star script s | reference script s | per device, tailscale.star / reference |",
            "|" + "---|" * 4]
    for n in sorted({r.spec.n for r in results if r.spec.reference}):
        pair = reference_pair(results, n)
        if pair is not None:
            ours, yardstick, ratio = pair
            rows.append(f"| {fmt_int(n)} | {ours.script_s:.2f} | {yardstick.script_s:.2f} | {ratio:.2f}× |")
    return "\n".join(rows)


def detail_table(results: list[Measurement]) -> str:
    rows = [
        "| N | posture | auth | rzscript requests | HTTP s (client) | mock CPU s | mock CPU µs/request "
        "| process wall s | rzscript CPU s | runs |",
        "|" + "---|" * 10,
    ]
    for r in results:
        if r.error:
            continue
        # with a handful of requests the figure is mostly the server loop's idle polling
        per_request = f"{r.mock_cpu_s / r.requests * 1e6:,.0f}" if r.requests >= 100 else "-"
        rows.append(
            f"| {fmt_int(r.spec.n)} | {r.spec.posture_label} | {r.spec.auth} | {fmt_int(r.client_requests)} "
            f"| {r.http_s:.2f} | {r.mock_cpu_s:.2f} | {per_request} | {r.process_wall_s:.2f} "
            f"| {r.cpu_s:.2f} | {r.repeats} |"
        )
    return "\n".join(rows)


@dataclass
class Check:
    name: str
    status: str  # PASS, FAIL, SKIP, or NOISY (over a median target, but not in every pair: not a failure)
    detail: str

    def line(self) -> str:
        return f"- **{self.status}** {self.name}: {self.detail}"


def _find(results, n, posture, auth="api key", forbid=False, reference=False) -> Measurement | None:
    for r in results:
        s = r.spec
        if (s.n == n and s.posture == posture and s.auth == auth and s.forbid_posture == forbid
                and s.reference == reference):
            return r
    return None


def check_targets(results: list[Measurement]) -> list[Check]:
    checks: list[Check] = []

    def verdict(name, runs, predicate, describe):
        runs = [r for r in runs if r is not None]
        if not runs:
            checks.append(Check(name, "SKIP", "no such run"))
            return
        bad = [r for r in runs if not r.ok or not predicate(r)]
        status = "FAIL" if bad else "PASS"
        shown = bad or runs
        checks.append(Check(name, status, "; ".join(describe(r) for r in shown)))

    def counts(r):
        if not r.ok:
            return f"{r.spec.slug}: {r.error}"
        text = (f"N={r.spec.n:,}: list {r.list_calls}, token {r.token_calls}, "
                f"attributes {r.attribute_calls:,}, other {r.other_calls}")
        if r.spec.posture and not r.spec.forbid_posture:
            text += f", imported {r.assets:,}"
        if r.other_paths:
            text += f" ({', '.join(f'{k} x{v}' for k, v in r.other_paths.items())})"
        return text

    ours = [r for r in results if not r.spec.reference]
    api_off = [r for r in ours if r.spec.auth == "api key" and not r.spec.posture]
    api_on = [r for r in results if r.spec.auth == "api key" and r.spec.posture and not r.spec.forbid_posture]
    oauth_off = [r for r in results if r.spec.auth == "oauth" and not r.spec.posture]
    oauth_on = [r for r in results if r.spec.auth == "oauth" and r.spec.posture]
    forbidden = [r for r in results if r.spec.forbid_posture]

    verdict("requests, posture off, API token: exactly 1 device-list call", api_off,
            lambda r: (r.list_calls, r.token_calls, r.attribute_calls, r.other_calls) == (1, 0, 0, 0), counts)
    verdict("requests, posture off, OAuth: exactly 1 token call + 1 device-list call", oauth_off,
            lambda r: (r.list_calls, r.token_calls, r.attribute_calls, r.other_calls) == (1, 1, 0, 0), counts)
    # An OAuth client is not listed the shared-in devices; an API token is, but asks no posture for them.
    verdict("requests, posture on: 1 list call + exactly 1 attributes call per imported device not shared in",
            api_on + oauth_on,
            lambda r: r.list_calls == 1 and r.other_calls == 0
            and r.assets == r.devices - (r.shared_in if r.spec.auth == "oauth" else 0)
            and r.attribute_calls == r.devices - r.shared_in
            and r.token_calls == (1 if r.spec.auth == "oauth" else 0), counts)
    verdict("requests, posture 403: no posture call after the first 403", forbidden,
            lambda r: (r.list_calls, r.token_calls, r.attribute_calls, r.other_calls) == (1, 0, 1, 0)
            and r.assets == r.devices, counts)
    verdict("no per-device routes or device calls (fields=all carries the routes)", ours,
            lambda r: r.per_device_calls == 0,
            lambda r: f"{r.spec.slug}: {r.per_device_calls} such calls" if r.ok else f"{r.spec.slug}: {r.error}")
    if checks[-1].status == "PASS":
        checks[-1].detail = f"none in {len(ours)} runs"

    base, top = _find(results, LINEARITY_BASE, False), _find(results, LINEARITY_TOP, False)
    name = (f"linear script time: devices/s at {LINEARITY_TOP:,} within {LINEARITY_TOLERANCE:.0%} "
            f"of {LINEARITY_BASE:,} (posture off)")
    if base is None or top is None or not (base.ok and top.ok):
        checks.append(Check(name, "SKIP" if base is None or top is None else "FAIL", "runs missing or failed"))
    else:
        ratio = top.devices_per_second / base.devices_per_second
        status = "PASS" if abs(ratio - 1) <= LINEARITY_TOLERANCE else "FAIL"
        checks.append(Check(name, status, f"{top.devices_per_second:,.0f} vs {base.devices_per_second:,.0f} "
                                          f"devices/s ({ratio - 1:+.0%})"))
    big = _find(results, BIG_SIZE, False)
    name = f"{BIG_SIZE:,} devices, posture off: whole run under {WALL_LIMIT_S:.0f} s"
    if big is None:
        checks.append(Check(name, "SKIP", "not run"))
    else:
        wall = max(big.wall_s, big.process_wall_s)
        status = "PASS" if big.ok and wall < WALL_LIMIT_S else "FAIL"
        checks.append(Check(name, status, f"{wall:.1f} s (spawn to exit)" if big.ok else big.error))
    name = f"{BIG_SIZE:,} devices, posture off: peak RSS under {RSS_LIMIT_BYTES / 1e9:.1f} GB"
    if big is None:
        checks.append(Check(name, "SKIP", "not run"))
    else:
        status = "PASS" if big.ok and 0 < big.rss_bytes < RSS_LIMIT_BYTES else "FAIL"
        checks.append(Check(name, status, f"{big.rss_bytes / 1e9:.2f} GB" if big.ok else big.error))
    name = f"{BIG_SIZE:,} devices, posture off: peak live heap at most {LIVE_HEAP_LIMIT_BYTES / 1e6:,.0f} MB"
    if big is None:
        checks.append(Check(name, "SKIP", "not run"))
    else:
        status = "PASS" if big.ok and 0 < big.live_heap_bytes <= LIVE_HEAP_LIMIT_BYTES else "FAIL"
        checks.append(Check(name, status, f"{big.live_heap_bytes / 1e6:,.0f} MB" if big.ok else big.error))
    for n in RATIO_SIZES:
        name = f"{n:,} devices, posture off: script time per device at most {REFERENCE_RATIO_LIMIT:.1f}× the reference"
        pair = reference_pair(results, n)
        if pair is None:
            checks.append(Check(name, "SKIP", "runs missing or failed"))
        else:
            ratio = pair[2]
            checks.append(Check(name, "PASS" if ratio <= REFERENCE_RATIO_LIMIT else "FAIL", f"{ratio:.2f}×"))
    return checks


def mock_section(results: list[Measurement], direct: dict | None) -> str:
    lines = []
    ok = [r for r in results if r.ok]
    if direct:
        list_ms = direct["list_seconds"] * 1e3
        per_attr = direct["attribute_seconds"] / max(direct["attribute_requests"], 1) * 1e6
        lines.append(
            f"- Direct client (a separate Python process, keep-alive, {direct['devices']:,}-device tailnet): "
            f"the `fields=all` list ({direct['list_bytes']:,} bytes) in {list_ms:,.1f} ms "
            f"({direct['list_bytes'] / direct['list_seconds'] / 1e6:,.0f} MB/s); "
            f"{direct['attribute_requests']:,} posture calls at {per_attr:,.0f} µs each, round trip "
            f"(mock CPU {direct['mock_cpu_seconds']:.2f} s for all of it)."
        )
        same = [r for r in ok if r.devices == direct["devices"] and not r.spec.posture and r.spec.auth == "api key"]
        if same:
            r = same[0]
            lines.append(
                f"- In the {r.devices:,}-device posture-off run rzscript spent {r.http_s * 1e3:,.0f} ms in HTTP "
                f"of {r.wall_s:,.2f} s wall ({r.http_s / r.wall_s:.1%}); the mock's CPU during the whole run was "
                f"{r.mock_cpu_s:.2f} s."
            )
    on = [r for r in ok if r.spec.posture and not r.spec.forbid_posture and r.requests > 100]
    if on:
        r = max(on, key=lambda x: x.requests)
        lines.append(
            f"- Posture on, N={r.devices:,}: {r.requests:,} requests, {r.http_s:.2f} s in HTTP "
            f"({r.http_s / r.requests * 1e6:,.0f} µs per request, client side); mock CPU "
            f"{r.mock_cpu_s:.2f} s ({r.mock_cpu_s / r.requests * 1e6:,.0f} µs per request, "
            f"{r.mock_cpu_s / r.http_s:.0%} of the HTTP time). This is where the mock shows: it makes "
            f"posture-on wall times longer, but script s excludes it, and the real API answers far slower "
            f"(a 30 ms round trip would make {r.requests:,} sequential calls take "
            f"{r.requests * 0.030 / 60:,.0f} min)."
        )
    return "\n".join(lines)


def machine_info(rzscript: Path, script: Path) -> list[str]:
    def run(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return "unknown"

    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        memory = f"{kb * 1024 / 1e9:.1f} GB"
    except (OSError, AttributeError):
        pass
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- nproc: {nproc}; CPU: {model}; memory: {memory}; {platform.system()} {platform.release()}",
        f"- go: {run(['go', 'version']) or 'unknown'}; rzscript built with: "
        f"{run(['go', 'version', str(rzscript)]).split(': ')[-1] or 'unknown'}",
        f"- python: {platform.python_version()} (the mock runs in it)",
        f"- script: {display_path(script)} sha256 {hashlib.sha256(script.read_bytes()).hexdigest()[:12]}; "
        f"rzscript sha256 {hashlib.sha256(rzscript.read_bytes()).hexdigest()[:12]}",
    ]


def keep_notes(path: Path) -> str:
    """The hand-written notes section of an existing results file, markers included."""
    default = f"{NOTES_BEGIN}\n\n(no notes yet)\n\n{NOTES_END}"
    try:
        text = path.read_text()
    except OSError:
        return default
    start, end = text.find(NOTES_BEGIN), text.find(NOTES_END)
    if start < 0 or end < start:
        return default
    return text[start : end + len(NOTES_END)]


def render_results(
    results, checks, direct, info, args_line, load, profile_top: str | None, notes: str
) -> str:
    parts = [
        "# Benchmark results",
        "",
        "What `tailscale.star` costs as the tailnet grows, measured by `bench/run_bench.py`: synthetic "
        "tailnets from `bench/generate_tailnet.py`, served by the mock API `harness/mock.py`, run through "
        "`bin/rzscript`. `make bench-record` rewrites this file (`make bench` writes `bench/out/RESULTS.md`).",
        "",
        f"Command: `{args_line}`",
        "",
        "## Results",
        "",
        table(results),
        "",
        "Columns: requests as the mock recorded them (list = `GET /tailnet/-/devices?fields=all`, token = "
        "`POST /oauth/token`, attributes = `GET /device/{id}/attributes`, other = anything else); bytes "
        "received = response bytes rzscript read; wall s = rzscript's wall time; script s = wall minus time "
        "inside http calls; devices/s = N / script s; peak RSS = rzscript's max resident set "
        "(MB = 10^6 bytes); peak live heap = the largest heap a garbage collection found reachable, which "
        "unlike RSS does not depend on GOGC or the number of cores. The generator adds shared-in (external) "
        "devices: an API token imports them without a posture call (Tailscale serves their posture only to "
        "their own tailnet), and an OAuth client is not listed them at all. Rows `reference` are "
        "`bench/reference_mapping.star`, the same asset shape without tailscale.star's checks.",
        "",
        "## Mapping cost",
        "",
        ratio_table(results),
        "",
        "## Targets",
        "",
        "\n".join(c.line() for c in checks),
        "",
        "## Is the mock the bottleneck?",
        "",
        "The mock pre-encodes every body (the `fields=all` list is the file's own bytes) and answers with "
        "one write. Script time excludes all HTTP time, so the mock cannot inflate it.",
        "",
        mock_section(results, direct),
        "",
        detail_table(results),
        "",
        "mock CPU = the benchmark process's CPU time during the run (its only work then is the mock's "
        "serving threads); rzscript CPU = user + system time of rzscript (above wall time when the Go "
        "GC works on the second core); runs = how many times each case ran (the fastest is shown).",
        "",
    ]
    if profile_top:
        parts += ["## CPU profile (largest posture-off run)", "", "```", profile_top, "```", ""]
    parts += [
        "## Machine",
        "",
        "\n".join(info),
        f"- load average (1 min) before / after: {load[0]:.2f} / {load[1]:.2f} "
        "(2 shared cores: other jobs running at the same time make the timings noisy)",
        "",
        "## Notes",
        "",
        notes,
        "",
    ]
    return "\n".join(parts)


# --------------------------------------------------------------------------- main


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "").replace(",", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated device counts, got {text!r}") from None
    if not sizes or any(n < 1 for n in sizes):
        raise argparse.ArgumentTypeError("device counts must be positive")
    return sorted(set(sizes))


def plan(sizes: list[int], extras_size: int | None) -> list[RunSpec]:
    specs = []
    for n in sizes:
        specs += [RunSpec(n, False), RunSpec(n, True), RunSpec(n, False, reference=True)]
        if n == extras_size:
            specs += [RunSpec(n, False, "oauth"), RunSpec(n, True, "oauth"), RunSpec(n, True, forbid_posture=True)]
    return specs


def run_benchmark(
    sizes,
    *,
    seed: int = 1,
    out_dir: Path = DEFAULT_OUT_DIR,
    extras_size: int | None = None,
    repeat: int = 1,
    script: Path | None = None,
    rzscript: Path | None = None,
    cpuprofile_dir: Path | None = None,
    starlark_profile_dir: Path | None = None,
    env: dict | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    measure_mock_directly: bool = True,
    log=print,
) -> tuple[list[Measurement], dict | None]:
    """Every run of the plan, in order, and the direct mock measurement at the largest size."""
    sizes = sorted(set(sizes))
    if extras_size is None:
        extras_size = EXTRAS_SIZE if EXTRAS_SIZE in sizes else sizes[0]
    script = Path(script or script_path())
    binary = Path(rzscript or rzscript_path())
    if not binary.is_file():
        raise FileNotFoundError(f"{display_path(binary)} not found: run `make setup`")
    out_dir.mkdir(parents=True, exist_ok=True)
    for d in (cpuprofile_dir, starlark_profile_dir):
        if d is not None:
            d.mkdir(parents=True, exist_ok=True)
    workdir = out_dir / "runs"
    workdir.mkdir(exist_ok=True)
    specs = plan(sizes, extras_size)
    results, direct = [], None
    for n in sizes:
        directory = ensure_tailnet(out_dir, n, seed, log=log)
        tailnet = load_tailnet(directory)
        for spec in [s for s in specs if s.n == n]:
            best = None
            runs = repeat
            if spec.n in (LINEARITY_BASE, LINEARITY_TOP) and spec == RunSpec(spec.n, False):
                runs = max(repeat, LINEARITY_REPEAT)  # the linearity ratio is the noisiest figure
            elif spec.n in RATIO_SIZES and not spec.posture:
                runs = max(repeat, RATIO_REPEAT)  # both sides of the yardstick ratio
            for _ in range(runs):
                result = run_once(
                    spec, tailnet, directory, script=script, rzscript=binary, workdir=workdir, timeout=timeout,
                    cpuprofile=cpuprofile_dir / f"{spec.slug}.cpu.pprof" if cpuprofile_dir else None,
                    starlark_profile=starlark_profile_dir / f"{spec.slug}.star.pprof" if starlark_profile_dir else None,
                    env=env,
                )
                if best is None or (result.ok and (not best.ok or result.wall_s < best.wall_s)):
                    best = result
                if not result.ok:
                    break
            best.repeats = runs
            results.append(best)
            state = "ok" if best.ok else f"FAILED ({best.error})"
            log(f"  N={n:>6,} posture {spec.posture_label:<8} {spec.auth:<7}: {best.requests:>6,} requests, "
                f"wall {best.wall_s:6.2f} s, script {best.script_s:6.2f} s, "
                f"RSS {best.rss_bytes / 1e6:6,.0f} MB {state}")
        if measure_mock_directly and n == sizes[-1]:
            direct = measure_mock(tailnet, scenario_for(RunSpec(n, False), directory, timeout).kwargs["access_secret"])
    return results, direct


def findings_pair(directory: Path, *, script: Path, rzscript: Path, workdir: Path, timeout: float = DEFAULT_TIMEOUT,
                  env: dict | None = None, pairs: int = FINDINGS_PAIRS) -> dict:
    """Script seconds with REPORT_FINDINGS on and off over the tailnet in `directory`, posture off, in
    interleaved pairs (on first, then off first, and so on, so drift on a shared machine hits both),
    with each pair's ratio on/off and the requests each side made."""
    on, off, requests = [], [], {True: set(), False: set()}
    for index in range(pairs):
        for report in ((True, False) if index % 2 == 0 else (False, True)):
            scenario = scenario_from_dict({
                "description": f"benchmark findings pair, REPORT_FINDINGS {report}",
                "tailnet": str(directory.resolve()), "strict": False, "timeout": timeout,
                "settings": {"INCLUDE_POSTURE": False, "REPORT_FINDINGS": report}},
                name=f"findings-{'on' if report else 'off'}")
            result = run_scenario(scenario, script=script, rzscript=rzscript, output=workdir / "findings.jsonl",
                                  env=env, parse_output=False)
            if result.run.exit_code != 0 or not result.run.stats:
                raise RuntimeError(f"findings pair run failed: {result.run.stderr.strip()[-500:]}")
            (on if report else off).append(float(result.run.stats["script_seconds"]))
            requests[report].add(len(result.traffic.requests))
    ratios = sorted(a / b for a, b in zip(on, off, strict=True))
    return {"on_s": on, "off_s": off, "ratios": ratios, "median": ratios[len(ratios) // 2],
            "requests_on": sorted(requests[True]), "requests_off": sorted(requests[False])}


def findings_check(pair: dict | None) -> Check:
    name = (f"{FINDINGS_SIZE:,} devices, posture off: script time with findings at most "
            f"{FINDINGS_RATIO_LIMIT:.2f}× without (median of {FINDINGS_PAIRS} interleaved pairs), same requests")
    if pair is None:
        return Check(name, "SKIP", "not run")
    ratios = pair["ratios"]
    detail = (f"median {pair['median']:.3f}× (pairs {ratios[0]:.3f}–{ratios[-1]:.3f}); requests "
              f"{pair['requests_on']} with, {pair['requests_off']} without")
    if pair["requests_on"] != pair["requests_off"] or ratios[0] > FINDINGS_RATIO_LIMIT:
        return Check(name, "FAIL", detail)
    return Check(name, "PASS" if pair["median"] <= FINDINGS_RATIO_LIMIT else "NOISY", detail)


def profile_top(cpuprofile_dir: Path | None, results: list[Measurement], rzscript: Path) -> str | None:
    if cpuprofile_dir is None:
        return None
    off = [r for r in results if r.ok and not r.spec.posture and r.spec.auth == "api key"]
    if not off:
        return None
    r = max(off, key=lambda x: x.spec.n)
    path = cpuprofile_dir / f"{r.spec.slug}.cpu.pprof"
    try:
        out = subprocess.run(["go", "tool", "pprof", "-top", "-nodecount=20", str(rzscript), str(path)],
                             capture_output=True, text=True, timeout=120).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return f"N={r.spec.n:,}, posture off ({display_path(path)})\n" + out.strip()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.run_bench", description=__doc__.split("\n\n")[0],
                                 epilog=textwrap.dedent(__doc__.split("\n\n", 2)[2]),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=parse_sizes, help="comma-separated device counts (default 100,1000,10000,50000)")
    ap.add_argument("--quick", action="store_true", help="only 100 and 1,000 devices")
    ap.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    ap.add_argument("--repeat", type=int, default=1, help="run each case K times, keep the fastest (default 1)")
    ap.add_argument("--extras-size", type=int, help="N for the OAuth and posture-403 runs (default 1,000 "
                    "when run, else the smallest size; 0: none)")
    ap.add_argument("--cpuprofile-dir", type=Path, help="pass --cpuprofile DIR/<run>.cpu.pprof to rzscript")
    ap.add_argument("--starlark-profile-dir", type=Path, help="pass --starlark-profile DIR/<run>.star.pprof to "
                    "rzscript: time by script function")
    ap.add_argument("--results", type=Path, help="write the Markdown report here (default: OUT_DIR/RESULTS.md; "
                    f"`make bench-record` gives {display_path(RECORDED_RESULTS)})")
    ap.add_argument("--json", type=Path, help="also write the raw results as JSON here")
    ap.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR, help="generated tailnets and scratch "
                    "(default bench/out)")
    ap.add_argument("--script", type=Path, help="the script to measure (default tailscale.star)")
    ap.add_argument("--rzscript", type=Path, help="the rzscript binary (default bin/rzscript)")
    ap.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                    help="environment for rzscript, e.g. GOMEMLIMIT=off (repeatable)")
    ap.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per run (default 900)")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    env = {}
    for item in args.env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            ap.error(f"--env wants KEY=VALUE, got {item!r}")
        env[key] = value
    sizes = args.sizes or (list(QUICK_SIZES) if args.quick else list(DEFAULT_SIZES))
    results_path = args.results or args.out_dir / "RESULTS.md"
    script = args.script or script_path()
    binary = args.rzscript or rzscript_path()

    load_before = os.getloadavg()[0]
    started = time.monotonic()
    print(f"benchmark: sizes {', '.join(f'{n:,}' for n in sizes)}; script {display_path(script)}", flush=True)
    results, direct = run_benchmark(
        sizes, seed=args.seed, out_dir=args.out_dir, extras_size=args.extras_size, repeat=args.repeat,
        script=script, rzscript=binary, cpuprofile_dir=args.cpuprofile_dir,
        starlark_profile_dir=args.starlark_profile_dir, env=env, timeout=args.timeout,
        log=lambda m: print(m, flush=True),
    )
    pair = None
    if FINDINGS_SIZE in sizes:
        print(f"findings on/off: {FINDINGS_PAIRS} interleaved pairs at N={FINDINGS_SIZE:,}", flush=True)
        pair = findings_pair(ensure_tailnet(args.out_dir, FINDINGS_SIZE, args.seed), script=script, rzscript=binary,
                             workdir=args.out_dir, timeout=args.timeout, env=env)
    load_after = os.getloadavg()[0]
    checks = check_targets(results) + [findings_check(pair)]

    print()
    print(table(results))
    print()
    print(ratio_table(results))
    print()
    print("\n".join(c.line() for c in checks))
    mock_text = mock_section(results, direct)
    if mock_text:
        print()
        print("Mock check:")
        print(mock_text)
    print(f"\n(benchmark took {time.monotonic() - started:.0f} s; load average {load_before:.2f} -> {load_after:.2f})")

    shown_args = ["python -m bench.run_bench", *(argv if argv is not None else sys.argv[1:])]
    text = render_results(
        results, checks, direct, machine_info(binary, script), " ".join(shown_args),
        (load_before, load_after), profile_top(args.cpuprofile_dir, results, binary), keep_notes(results_path),
    )
    results_path.parent.mkdir(parents=True, exist_ok=True)
    results_path.write_text(text)
    print(f"wrote {display_path(results_path)}")
    payload = {
        "sizes": sizes, "seed": args.seed, "env": env, "script": display_path(script),
        "results": [r.as_dict() for r in results], "checks": [asdict(c) for c in checks], "mock_direct": direct,
        "findings_pair": pair,
    }
    for path in filter(None, (args.json, args.out_dir / "results.json")):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload, indent=1) + "\n")
    failed = [c for c in checks if c.status == "FAIL"] or [r for r in results if not r.ok]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
