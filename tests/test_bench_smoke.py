"""Smoke run of the benchmark (`make bench`) at N = 100, so it keeps working.

Runs the benchmark as `make bench` does, but only for 100 devices (posture off and on, plus
the OAuth and posture-403 runs at that size), into a temporary directory. Asserts the request
targets exactly and that the table and the report are produced; nothing about time or memory
(the benchmark itself judges those at full size).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from bench import run_bench
from harness.paths import REPO_ROOT

N = 100


@pytest.fixture(scope="module")
def smoke(tmp_path_factory, rzscript, tailscale_script):
    out = tmp_path_factory.mktemp("bench")
    report, raw = out / "RESULTS.md", out / "results.json"
    process = subprocess.run(
        [sys.executable, "-m", "bench.run_bench", "--sizes", str(N), "--out-dir", str(out / "work"),
         "--results", str(report), "--json", str(raw),
         "--rzscript", str(rzscript), "--script", str(tailscale_script)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )
    data = json.loads(raw.read_text()) if raw.is_file() else None
    return process, data, report, out / "work" / f"tailnet-{N}"


def run(data, posture, auth="api key", forbid=False):
    for r in data["results"]:
        spec = r["spec"]
        if (spec["posture"], spec["auth"], spec["forbid_posture"]) == (posture, auth, forbid):
            return r
    raise AssertionError(f"no run with posture={posture} auth={auth} forbid={forbid}")


def counts(r):
    keys = ("list_calls", "token_calls", "attribute_calls", "services_calls", "other_calls", "assets")
    return {k: r[k] for k in keys}


def test_benchmark_runs(smoke):
    process, data, _, _ = smoke
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    assert data is not None
    # posture off and on, the yardstick, OAuth off and on, posture 403
    assert [r["spec"]["n"] for r in data["results"]] == [N] * 6
    for r in data["results"]:
        assert r["exit_code"] == 0 and not r["error"], r


def test_posture_off_makes_one_list_call(smoke):
    _, data, _, _ = smoke
    assert counts(run(data, False)) == {
        "list_calls": 1, "token_calls": 0, "attribute_calls": 0, "services_calls": 1, "other_calls": 0, "assets": N}


def shared_in(tailnet):
    return sum(1 for d in json.loads((tailnet / "devices.json").read_text())["devices"] if d.get("isExternal"))


def test_posture_on_makes_one_call_per_imported_device(smoke):
    _, data, _, tailnet = smoke
    devices = json.loads((tailnet / "devices.json").read_text())["devices"]
    assert len(devices) == N
    # shared-in devices are imported too, but Tailscale does not serve their posture: no call
    assert shared_in(tailnet) > 0, "the generator should include external devices"
    assert counts(run(data, True)) == {
        "list_calls": 1, "token_calls": 0, "attribute_calls": N - shared_in(tailnet), "services_calls": 1,
        "other_calls": 0, "assets": N}


def test_oauth_adds_exactly_one_token_call(smoke):
    """An OAuth client's token is not listed the shared-in devices, so they are not imported."""
    _, data, _, tailnet = smoke
    own = N - shared_in(tailnet)
    assert counts(run(data, False, "oauth")) == {
        "list_calls": 1, "token_calls": 1, "attribute_calls": 0, "services_calls": 1, "other_calls": 0, "assets": own}
    assert counts(run(data, True, "oauth")) == {
        "list_calls": 1, "token_calls": 1, "attribute_calls": own, "services_calls": 1, "other_calls": 0, "assets": own}


def test_no_posture_calls_after_a_403(smoke):
    _, data, _, _ = smoke
    assert counts(run(data, True, forbid=True)) == {
        "list_calls": 1, "token_calls": 0, "attribute_calls": 1, "services_calls": 1, "other_calls": 0, "assets": N}


def test_request_targets_pass_and_timing_targets_skip(smoke):
    _, data, _, _ = smoke
    status = {c["name"].split(":")[0]: c["status"] for c in data["checks"]}
    requests = {k: v for k, v in status.items() if k.startswith("requests") or k.startswith("no per-device")}
    assert len(requests) == 5 and set(requests.values()) == {"PASS"}, status
    others = {k: v for k, v in status.items() if k not in requests}
    assert others and set(others.values()) == {"SKIP"}, status  # no 1,000 / 50,000 run here


def test_table_and_report(smoke):
    process, _, report, tailnet = smoke
    header = "| N | posture | auth | list | token | attributes | services | other | bytes received | wall s"
    assert header in process.stdout
    assert f"| {N} | off | api key | 1 | 0 | 0 | 1 | 0 |" in process.stdout
    assert f"| {N} | on | api key | 1 | 0 | {N - shared_in(tailnet)} | 1 | 0 |" in process.stdout
    assert "**PASS** requests, posture off" in process.stdout
    # The yardstick reads the list once, asks no posture or Services, and maps every device; ours is
    # compared with it.
    assert f"| {N} | reference | api key | 1 | 0 | 0 | 0 | 0 |" in process.stdout
    assert re.search(rf"^\| {N} \| [0-9.]+ \| [0-9.]+ \| [0-9.]+× \|$", process.stdout, re.M)
    assert "peak live heap MB" in process.stdout
    text = report.read_text()
    for part in (header, "## Mapping cost", "## Targets", "## Is the mock the bottleneck?", "## Machine", "- nproc:"):
        assert part in text


def test_the_yardstick_maps_the_same_assets(smoke):
    """The reference script builds every asset tailscale.star builds, so their times compare."""
    _, data, _, _ = smoke
    ours, yardstick = (next(r for r in data["results"] if r["spec"]["reference"] is ref and not r["spec"]["posture"]
                            and r["spec"]["auth"] == "api key") for ref in (False, True))
    assert yardstick["exit_code"] == 0 and yardstick["assets"] == ours["assets"] == N
    assert yardstick["live_heap_bytes"] > 0 and ours["live_heap_bytes"] > 0


def test_report_keeps_hand_written_notes(tmp_path):
    path = tmp_path / "RESULTS.md"
    assert "no notes yet" in run_bench.keep_notes(path)
    notes = f"{run_bench.NOTES_BEGIN}\nprofile: GC\n{run_bench.NOTES_END}"
    path.write_text("# old\n\n" + notes + "\n")
    assert run_bench.keep_notes(path) == notes


def test_tailnet_is_regenerated_only_when_stale(tmp_path):
    messages = []
    directory = run_bench.ensure_tailnet(tmp_path, 5, 1, log=messages.append)
    first = (directory / "devices.json").read_bytes()
    run_bench.ensure_tailnet(tmp_path, 5, 1, log=messages.append)
    assert len(messages) == 1  # current: not generated again
    run_bench.ensure_tailnet(tmp_path, 5, 2, log=messages.append)
    assert len(messages) == 2 and (directory / "devices.json").read_bytes() != first  # new seed


def test_the_default_report_is_untracked(smoke):
    process, _, _, _ = smoke
    assert "wrote " in process.stdout
    parser_help = subprocess.run([sys.executable, "-m", "bench.run_bench", "--help"], cwd=REPO_ROOT,
                                 capture_output=True, text=True, timeout=60).stdout
    assert "OUT_DIR/RESULTS.md" in parser_help and "bench-record" in parser_help
