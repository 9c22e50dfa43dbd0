#!/usr/bin/env python3
"""What tailscale.star costs as the tailnet grows (`make bench`).

    .venv/bin/python -m bench.run_bench [--sizes 100,1000] [--quick] [--seed S]
        [--repeat K] [--rounds R] [--cpuprofile-dir DIR] [--starlark-profile-dir DIR]
        [--results FILE] [--json FILE] [--script FILE] [--rzscript FILE] [--env K=V]

For each N (default 100, 1,000, 10,000 and 50,000) it generates a synthetic tailnet with
harness/generate_tailnet.py into bench/out/tailnet-N/ (only when missing, or when the
generator, the seed or N changed: see stamp.json there) and runs tailscale.star on it, posture
off and on, through the harness's one run-a-scenario path (harness.run: the mock Tailscale
API of harness.mock, bin/rzscript, the same rzscript options as every scenario). At one size
(1,000 when it is run, else the smallest) it adds an OAuth run (posture off and on) and a run
whose posture calls all answer 403. At each size it also runs bench/reference_mapping.star, a
plain mapping to the same asset shape without any of tailscale.star's checks: the yardstick
for what those checks cost.

Verdicts, printed last:
- Checks, PASS or FAIL: what cannot be noise. Every run finishes; every run makes exactly the
  expected requests by endpoint (ENDPOINTS, expected_calls) and imports the expected assets;
  repeated runs of one case write byte-identical assets. A FAIL makes the exit status 1.
- Targets, PASS or MISS, never failing the run: timings and memory move with the machine's
  load. A timing target (PAIR_TARGETS: a name, the measured case, the baseline case, a limit;
  add one declaration for a new one) compares script time per device; its cases run in
  PAIR_ROUNDS interleaved rounds (the order alternating), and the verdict is the median of the
  per-round ratios, shown with its min and max. Memory targets judge the median of the
  50,000-device posture-off runs.

It prints one Markdown table (requests by endpoint as the mock recorded them, bytes received,
wall time, script time without HTTP, devices per second of script time, peak RSS and peak live
heap of rzscript, assets), the ratios of each pair round, how much of the time the mock itself
spent serving, then the verdicts; it writes all of it, with the machine's details and the
script's sha256, to bench/out/RESULTS.md (git-ignored), or to --results FILE: `make
bench-record` writes the tracked bench/RESULTS.md. The "Notes" section of an existing report
(between the NOTES markers) is kept.

Measuring notes:
- Peak RSS is what rzscript reports in its --stats: the high-water mark of its own address
  space (VmHWM), so the memory of this process, which holds the mock and the loaded tailnet,
  does not count in it. RSS moves with GOGC and the number of cores; the peak live heap
  (the largest heap a garbage collection found reachable) does not, so its target is on that.
- "script s" is rzscript's wall time minus the time spent inside http calls, so the mock
  can never inflate it. The mock's own CPU time is measured as this process's CPU time
  during each run (its only work then is serving), and once more with a direct client.
- Timings on a shared 2-core machine are noisy, which is why timing verdicts are ratios of
  interleaved pairs. --repeat K runs the other cases K times and shows the median run.
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
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness import generate_tailnet, hostnames
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
DEFAULT_TIMEOUT = 900.0
# The yardstick: the same asset shape, none of the checks (see reference_mapping.star).
REFERENCE_SCRIPT = BENCH_DIR / "reference_mapping.star"
# Interleaved rounds for the pair targets: each round runs every case a pair target compares once,
# so both sides of a pair meet the same machine load; a target's verdict is the median of its
# per-round ratios, printed with their spread.
PAIR_ROUNDS = 5
BIG_SIZE, RSS_LIMIT_BYTES = 50000, 1.5e9
# Peak live heap at BIG_SIZE devices, posture off, before the mapping was made cheap: 519-531 MB over
# several rzscript --stats runs on the 50,000-device tailnet of seed 1 (it moves about 1.5% with the
# collector's timing). The target is not to exceed the highest of them by more than that noise.
LIVE_HEAP_LIMIT_BYTES = 531e6 * 1.02

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


@dataclass(frozen=True)
class RunSpec:
    n: int
    posture: bool
    auth: str = "api key"  # or "oauth"
    forbid_posture: bool = False  # every posture call answers 403
    reference: bool = False  # run the yardstick script instead of tailscale.star
    settings: tuple = ()  # more settings of tailscale.star, as (NAME, value) pairs

    @property
    def posture_label(self) -> str:
        if self.reference:
            return "reference"
        label = ("on (403)" if self.forbid_posture else "on") if self.posture else "off"
        return label + "".join(f", {name}={value}" for name, value in self.settings)

    @property
    def slug(self) -> str:
        auth = "oauth" if self.auth == "oauth" else "apikey"
        posture = "posture403" if self.forbid_posture else ("posture-on" if self.posture else "posture-off")
        extra = "".join(f"-{name}-{value}" for name, value in self.settings)
        return f"n{self.n}-{'reference' if self.reference else posture}{extra}-{auth}".lower()


@dataclass(frozen=True)
class PairTarget:
    """A timing target: `measured` may cost at most `limit` times `baseline`, in script time per
    device (HTTP time excluded), as the median over PAIR_ROUNDS interleaved rounds."""

    name: str
    measured: RunSpec
    baseline: RunSpec
    limit: float


# The timing targets, one declaration each. A pair runs only when both of its sizes are benchmarked.
PAIR_TARGETS = (
    PairTarget("linear script time: per device at 50,000 vs 1,000 devices (posture off)",
               RunSpec(50000, False), RunSpec(1000, False), 1.25),
    PairTarget("mapping cost: per device vs the reference at 10,000 devices (posture off)",
               RunSpec(10000, False), RunSpec(10000, False, reference=True), 2.0),
    PairTarget("mapping cost: per device vs the reference at 50,000 devices (posture off)",
               RunSpec(50000, False), RunSpec(50000, False, reference=True), 2.0),
    PairTarget("findings: per device with REPORT_FINDINGS on vs off at 10,000 devices (posture off)",
               RunSpec(10000, False), RunSpec(10000, False, settings=(("REPORT_FINDINGS", False),)), 1.10),
)

# The API calls counted by endpoint: name -> (method, path pattern). Anything else is "other".
ENDPOINTS = {
    "list": ("GET", re.compile(r"^/api/v2/tailnet/[^/]+/devices$")),
    "token": ("POST", re.compile(r"^/api/v2/oauth/token$")),
    "attributes": ("GET", re.compile(r"^/api/v2/device/[^/]+/attributes$")),
    "services": ("GET", re.compile(r"^/api/v2/tailnet/[^/]+/(vip-)?services$")),
}


def expected_calls(spec: RunSpec, devices: int, shared_in: int) -> dict:
    """The calls a run must make, by endpoint, and the assets it must import: one list call, one
    token call with OAuth, one posture call per device not shared in (Tailscale serves their
    posture only to their own tailnet), none after a 403, and one Service-list call (the
    generated tailnets have no Services; the yardstick script asks for none). An OAuth client is
    not listed the shared-in devices at all."""
    own = devices - shared_in
    oauth = spec.auth == "oauth"
    if spec.reference or not spec.posture:
        attributes = 0
    else:
        attributes = 1 if spec.forbid_posture else own
    return {"list": 1, "token": 1 if oauth else 0, "attributes": attributes,
            "services": 0 if spec.reference else 1, "other": 0, "assets": own if oauth else devices}


@dataclass
class Measurement:
    """One benchmark run: what the mock counted and what rzscript reported."""

    spec: RunSpec
    devices: int = 0  # devices in the served tailnet
    shared_in: int = 0  # of them, shared in from other tailnets (no posture call is made for those)
    exit_code: int | None = None
    timed_out: bool = False
    calls: dict = field(default_factory=dict)  # requests the mock saw, by ENDPOINTS name, plus "other"
    other_paths: dict = field(default_factory=dict)
    output_sha256: str = ""  # of the assets file
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
        return sum(self.calls.values())

    @property
    def script_s_per_device(self) -> float:
        return self.script_s / self.devices if self.devices else 0.0

    def expected(self) -> dict:
        return expected_calls(self.spec, self.devices, self.shared_in)

    def counted(self) -> dict:
        return {**{name: self.calls.get(name, 0) for name in (*ENDPOINTS, "other")}, "assets": self.assets}

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
        "settings": {} if spec.reference else {"INCLUDE_POSTURE": spec.posture, **dict(spec.settings)},
        "strict": False,  # what runZero does; --strict only adds checks
        "timeout": timeout,
    }
    if spec.auth == "oauth":
        doc["kwargs"] = {"access_key": DEFAULT_OAUTH_CLIENT_ID, "access_secret": DEFAULT_OAUTH_CLIENT_SECRET}
    if spec.forbid_posture:
        doc["routes"] = [
            {"method": "GET", "path_regex": ENDPOINTS["attributes"][1].pattern, "responses": [FORBIDDEN_ANSWER]}
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
        calls, other = collections.Counter(), collections.Counter()
        for req in scenario_result.traffic.requests:
            name = next((name for name, (method, path) in ENDPOINTS.items()
                         if req.method == method and path.match(req.path)), "other")
            calls[name] += 1
            if name == "other":
                other[f"{req.method} {req.path}"] += 1
        result.calls = dict(calls)
        result.other_paths = dict(other.most_common(10))
        assets_file = run_dir / "assets.jsonl"
        if assets_file.is_file():
            result.output_sha256 = hashlib.sha256(assets_file.read_bytes()).hexdigest()
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
        f"| N | posture | auth | {' | '.join(ENDPOINTS)} | other | bytes received | wall s "
        "| script s (excl. HTTP) | devices/s (script) | peak RSS MB | peak live heap MB | assets |"
    )
    columns = len(ENDPOINTS) + 11
    rows = [header, "|" + "---|" * columns]
    for r in results:
        if r.error:
            tail = f"FAILED: {r.error}"
            rows.append(f"| {fmt_int(r.spec.n)} | {r.spec.posture_label} | {r.spec.auth} | {tail} |"
                        + " |" * (columns - 4))
            continue
        counts = " | ".join(fmt_int(r.calls.get(name, 0)) for name in (*ENDPOINTS, "other"))
        rows.append(
            f"| {fmt_int(r.spec.n)} | {r.spec.posture_label} | {r.spec.auth} | {counts} "
            f"| {fmt_int(r.bytes_received)} | {r.wall_s:.2f} "
            f"| {r.script_s:.2f} | {r.devices_per_second:,.0f} | {r.rss_bytes / 1e6:,.0f} "
            f"| {r.live_heap_bytes / 1e6:,.0f} | {fmt_int(r.assets)} |"
        )
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
    """A verdict. Checks are PASS or FAIL (a FAIL fails `make bench`: it cannot be noise); targets are
    PASS or MISS (reported, never failing: timings and memory move with the machine's load). SKIP:
    the runs it needs were not part of this benchmark."""

    name: str
    status: str  # PASS, FAIL, MISS or SKIP
    detail: str

    def line(self) -> str:
        return f"- **{self.status}** {self.name}: {self.detail}"


def _describe_counts(counts: dict) -> str:
    return ", ".join(f"{name} {fmt_int(value)}" for name, value in counts.items())


def checks(samples: dict[RunSpec, list[Measurement]]) -> list[Check]:
    """What cannot be noise: every run finishes, makes exactly the expected requests and imports the
    expected assets, and repeated runs of one case write the same bytes."""
    runs = [r for rs in samples.values() for r in rs]
    broken = [r for r in runs if not r.ok]
    found = [Check("every run finishes without error", "FAIL" if broken else "PASS",
                   "; ".join(f"{r.spec.slug}: {r.error}" for r in broken) or f"{len(runs)} runs")]
    wrong = {r.spec: r for r in runs if r.ok and r.counted() != r.expected()}
    detail = "; ".join(
        f"{spec.slug}: {_describe_counts(r.counted())}, expected {_describe_counts(r.expected())}"
        + (f" ({', '.join(f'{k} x{v}' for k, v in r.other_paths.items())})" if r.other_paths else "")
        for spec, r in wrong.items())
    found.append(Check("requests by endpoint and assets imported, exactly as expected (1 list call; 1 token call "
                       "with OAuth; with posture on, 1 attributes call per device not shared in, none after a 403; "
                       "1 Service-list call; nothing else)", "FAIL" if wrong else "PASS",
                       detail or f"{sum(1 for r in runs if r.ok)} runs"))
    repeated = {spec: {r.output_sha256 for r in rs if r.ok} for spec, rs in samples.items()
                if sum(1 for r in rs if r.ok) > 1}
    differing = [spec.slug for spec, hashes in repeated.items() if len(hashes) > 1]
    status = "SKIP" if not repeated else ("FAIL" if differing else "PASS")
    found.append(Check("repeated runs of one case write byte-identical assets", status,
                       f"differ: {', '.join(differing)}" if differing else f"{len(repeated)} cases repeated"))
    return found


def ratio_spread(values: list[float], unit: str = "×") -> str:
    return (f"median {statistics.median(values):.2f}{unit} (min {min(values):.2f}{unit}, "
            f"max {max(values):.2f}{unit}, {len(values)} runs)")


def pair_ratios(target: PairTarget, samples: dict[RunSpec, list[Measurement]]) -> list[float]:
    """Per round, measured over baseline script time per device; rounds where either side failed
    are left out."""
    return [m.script_s_per_device / b.script_s_per_device
            for m, b in zip(samples.get(target.measured, []), samples.get(target.baseline, []), strict=False)
            if m.ok and b.ok and b.script_s > 0]


def targets(samples: dict[RunSpec, list[Measurement]]) -> list[Check]:
    """The timing targets (PAIR_TARGETS, median of the interleaved rounds' ratios) and the memory
    targets at BIG_SIZE devices: PASS or MISS, each with its spread."""
    found = []
    for target in PAIR_TARGETS:
        name = f"{target.name} at most {target.limit:.2f}×"
        ratios = pair_ratios(target, samples)
        if not ratios:
            found.append(Check(name, "SKIP", "not benchmarked (needs both sizes)"))
            continue
        status = "PASS" if statistics.median(ratios) <= target.limit else "MISS"
        found.append(Check(name, status, ratio_spread(ratios).replace("runs)", "interleaved pairs)")))
    big = [r for r in samples.get(RunSpec(BIG_SIZE, False), []) if r.ok]
    for name, limit, values in (
        (f"{BIG_SIZE:,} devices, posture off: peak RSS under {RSS_LIMIT_BYTES / 1e9:.1f} GB", RSS_LIMIT_BYTES,
         [r.rss_bytes for r in big]),
        (f"{BIG_SIZE:,} devices, posture off: peak live heap at most {LIVE_HEAP_LIMIT_BYTES / 1e6:,.0f} MB",
         LIVE_HEAP_LIMIT_BYTES, [r.live_heap_bytes for r in big]),
    ):
        if not values:
            found.append(Check(name, "SKIP", "not benchmarked"))
            continue
        status = "PASS" if 0 < statistics.median(values) <= limit else "MISS"
        found.append(Check(name, status, ratio_spread([v / 1e6 for v in values], " MB")))
    return found


def pair_table(samples: dict[RunSpec, list[Measurement]]) -> str:
    """Each benchmarked pair target's per-round ratios; empty when none was benchmarked."""
    rows = ["| target | limit | ratio per round (interleaved) | median | verdict |", "|" + "---|" * 5]
    for target, verdict in zip(PAIR_TARGETS, targets(samples), strict=False):
        ratios = pair_ratios(target, samples)
        if ratios:
            rows.append(f"| {target.name} | {target.limit:.2f}× | {', '.join(f'{x:.2f}' for x in ratios)} "
                        f"| {statistics.median(ratios):.2f}× | {verdict.status} |")
    return "\n".join(rows) if len(rows) > 2 else ""


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
        f"- script: {display_path(script)} sha256 {hashlib.sha256(script.read_bytes()).hexdigest()}",
        f"- rzscript sha256 {hashlib.sha256(rzscript.read_bytes()).hexdigest()[:12]}",
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
    results, samples, found_checks, found_targets, direct, info, args_line, load, profile_top: str | None,
    notes: str,
) -> str:
    parts = [
        "# Benchmark results",
        "",
        "What `tailscale.star` costs as the tailnet grows, measured by `bench/run_bench.py`: synthetic "
        "tailnets from `harness/generate_tailnet.py`, served by the mock API `harness/mock.py`, run through "
        "`bin/rzscript`. `make bench-record` rewrites this file (`make bench` writes `bench/out/RESULTS.md`).",
        "",
        f"Command: `{args_line}`",
        "",
        "## Results",
        "",
        table(results),
        "",
        "Columns: requests as the mock recorded them (list = `GET /tailnet/-/devices?fields=all`, token = "
        "`POST /oauth/token`, attributes = `GET /device/{id}/attributes`, services = `GET "
        "/tailnet/-/vip-services`, other = anything else); bytes "
        "received = response bytes rzscript read; wall s = rzscript's wall time; script s = wall minus time "
        "inside http calls; devices/s = N / script s; peak RSS = rzscript's max resident set "
        "(MB = 10^6 bytes); peak live heap = the largest heap a garbage collection found reachable, which "
        "unlike RSS does not depend on GOGC or the number of cores. The generator adds shared-in (external) "
        "devices: an API token imports them without a posture call (Tailscale serves their posture only to "
        "their own tailnet), and an OAuth client is not listed them at all. Rows `reference` are "
        "`bench/reference_mapping.star`, the same asset shape without tailscale.star's checks.",
        "",
        "## Checks",
        "",
        "What cannot be noise; a FAIL fails `make bench`.",
        "",
        "\n".join(c.line() for c in found_checks),
        "",
        "## Targets",
        "",
        "Timing targets compare two cases in interleaved rounds (both sides of a pair meet the same load) by "
        "script time per device, and judge the median ratio; memory targets judge the median of the "
        f"{BIG_SIZE:,}-device posture-off runs. A MISS is reported, never a failure: on a shared machine these "
        "figures move with other jobs' load, which the spread shows.",
        "",
        "\n".join(c.line() for c in found_targets),
        "",
        pair_table(samples),
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
        "GC works on the second core); runs = how many times each case ran (the median run by script time is shown).",
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
    """The cases run once each (or --repeat times): every size posture off, on and the reference,
    plus at extras_size OAuth and a posture pass that answers 403. Cases a pair target compares
    run in the interleaved rounds instead."""
    specs = []
    for n in sizes:
        specs += [RunSpec(n, False), RunSpec(n, True), RunSpec(n, False, reference=True)]
        if n == extras_size:
            specs += [RunSpec(n, False, "oauth"), RunSpec(n, True, "oauth"), RunSpec(n, True, forbid_posture=True)]
    paired = set(pair_specs(sizes))
    return [spec for spec in specs if spec not in paired]


def pair_specs(sizes) -> list[RunSpec]:
    """The cases the pair targets compare, for the targets whose both sides are benchmarked, by size."""
    found = []
    for target in PAIR_TARGETS:
        if target.measured.n in sizes and target.baseline.n in sizes:
            found += [spec for spec in (target.measured, target.baseline) if spec not in found]
    return sorted(found, key=lambda spec: spec.n)


def typical(runs: list[Measurement]) -> Measurement:
    """The run to show for a case: a failed one if any failed, else the median by script time."""
    failed = [r for r in runs if not r.ok]
    if failed:
        return failed[0]
    return sorted(runs, key=lambda r: r.script_s)[(len(runs) - 1) // 2]


def run_benchmark(
    sizes,
    *,
    seed: int = 1,
    out_dir: Path = DEFAULT_OUT_DIR,
    extras_size: int | None = None,
    repeat: int = 1,
    rounds: int = PAIR_ROUNDS,
    script: Path | None = None,
    rzscript: Path | None = None,
    cpuprofile_dir: Path | None = None,
    starlark_profile_dir: Path | None = None,
    env: dict | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    measure_mock_directly: bool = True,
    log=print,
) -> tuple[list[Measurement], dict[RunSpec, list[Measurement]], dict | None]:
    """The plan's runs (each `repeat` times), then `rounds` interleaved rounds of the pair targets'
    cases: the run shown per case, every run by case, and the direct mock measurement at the
    largest size."""
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
    samples: dict[RunSpec, list[Measurement]] = {}
    directories, direct = {}, None

    def run(spec: RunSpec) -> None:
        directory = directories[spec.n]
        result = run_once(
            spec, load_tailnet(directory), directory, script=script, rzscript=binary, workdir=workdir,
            timeout=timeout, env=env,
            cpuprofile=cpuprofile_dir / f"{spec.slug}.cpu.pprof" if cpuprofile_dir else None,
            starlark_profile=starlark_profile_dir / f"{spec.slug}.star.pprof" if starlark_profile_dir else None,
        )
        samples.setdefault(spec, []).append(result)
        state = "ok" if result.ok else f"FAILED ({result.error})"
        log(f"  N={spec.n:>6,} posture {spec.posture_label:<8} {spec.auth:<7}: {result.requests:>6,} requests, "
            f"wall {result.wall_s:6.2f} s, script {result.script_s:6.2f} s, "
            f"RSS {result.rss_bytes / 1e6:6,.0f} MB {state}")

    once = plan(sizes, extras_size)
    for n in sizes:
        directories[n] = ensure_tailnet(out_dir, n, seed, log=log)
        for spec in [s for s in once if s.n == n]:
            for _ in range(repeat):
                run(spec)
        if measure_mock_directly and n == sizes[-1]:
            direct = measure_mock(load_tailnet(directories[n]),
                                  scenario_for(RunSpec(n, False), directories[n], timeout).kwargs["access_secret"])
    paired = pair_specs(sizes)
    for round_number in range(rounds if paired else 0):
        log(f"interleaved round {round_number + 1} of {rounds}")
        # Alternate the order, so that neither side of a pair always runs first.
        for spec in paired if round_number % 2 == 0 else paired[::-1]:
            run(spec)
    results = []
    for spec in [*once, *paired]:
        shown = typical(samples[spec])
        shown.repeats = len(samples[spec])
        results.append(shown)
    results.sort(key=lambda r: r.spec.n)  # stable: the plan's order within a size
    return results, samples, direct


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
    ap.add_argument("--repeat", type=int, default=1, help="run each case outside the pair targets K times, "
                    "show the median (default 1)")
    ap.add_argument("--rounds", type=int, default=PAIR_ROUNDS, help="interleaved rounds of the pair targets' "
                    f"cases (default {PAIR_ROUNDS})")
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
    if args.repeat < 1 or args.rounds < 1:
        ap.error("--repeat and --rounds must be at least 1")
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
    results, samples, direct = run_benchmark(
        sizes, seed=args.seed, out_dir=args.out_dir, extras_size=args.extras_size, repeat=args.repeat,
        rounds=args.rounds, script=script, rzscript=binary, cpuprofile_dir=args.cpuprofile_dir,
        starlark_profile_dir=args.starlark_profile_dir, env=env, timeout=args.timeout,
        log=lambda m: print(m, flush=True),
    )
    load_after = os.getloadavg()[0]
    duration = time.monotonic() - started
    found_checks, found_targets = checks(samples), targets(samples)

    print()
    print(table(results))
    if pair_table(samples):
        print()
        print(pair_table(samples))
    mock_text = mock_section(results, direct)
    if mock_text:
        print()
        print("Mock check:")
        print(mock_text)
    print(f"\n(benchmark took {duration:.0f} s; load average {load_before:.2f} -> {load_after:.2f})")

    shown_args = ["python -m bench.run_bench", *(argv if argv is not None else sys.argv[1:])]
    text = render_results(
        results, samples, found_checks, found_targets, direct,
        machine_info(binary, script) + [f"- benchmark duration: {duration:.0f} s"], " ".join(shown_args),
        (load_before, load_after), profile_top(args.cpuprofile_dir, results, binary), keep_notes(results_path),
    )
    results_path.parent.mkdir(parents=True, exist_ok=True)
    results_path.write_text(text)
    print(f"wrote {display_path(results_path)}")
    payload = {
        "sizes": sizes, "seed": args.seed, "env": env, "script": display_path(script), "duration_s": duration,
        "results": [r.as_dict() for r in results],
        "runs": [r.as_dict() for runs in samples.values() for r in runs],
        "checks": [asdict(c) for c in found_checks], "targets": [asdict(c) for c in found_targets],
        "mock_direct": direct,
    }
    for path in filter(None, (args.json, args.out_dir / "results.json")):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload, indent=1) + "\n")
    # The verdicts come last, so they are what a terminal shows when the run ends.
    print("\nChecks (a FAIL fails make bench: it cannot be noise):")
    print("\n".join(c.line() for c in found_checks))
    print(f"Targets (PASS or MISS; never fail make bench: timings are medians of {args.rounds} interleaved "
          "pairs, with their spread):")
    print("\n".join(c.line() for c in found_targets))
    return 1 if any(c.status == "FAIL" for c in found_checks) else 0

if __name__ == "__main__":
    sys.exit(main())
