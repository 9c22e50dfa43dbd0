"""Smoke run of the benchmark (`make bench`) at N = 100, so it keeps working.

Runs the benchmark as `make bench` does, but only for 100 devices (posture off and on, plus
the OAuth and posture-403 runs at that size, each twice), into a temporary directory. Asserts
the request checks exactly and that the table, the report and the verdicts are produced; nothing
about time or memory (the benchmark itself judges those at full size). The verdict logic (a
timing MISS never fails the run, a wrong request count does) is tested on measurements built
in memory.
"""

from __future__ import annotations

import hashlib
import json
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
        [sys.executable, "-m", "bench.run_bench", "--sizes", str(N), "--repeat", "2", "--out-dir", str(out / "work"),
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
    return {"list": 0, "token": 0, "attributes": 0, "services": 0, "other": 0, **r["calls"], "assets": r["assets"]}


def test_benchmark_runs(smoke):
    process, data, _, _ = smoke
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    assert data is not None
    # posture off and on, the yardstick, OAuth off and on, posture 403; each run twice
    assert [r["spec"]["n"] for r in data["results"]] == [N] * 6
    assert len(data["runs"]) == 12 and {r["repeats"] for r in data["results"]} == {2}
    for r in data["runs"]:
        assert r["exit_code"] == 0 and not r["error"], r


def test_posture_off_makes_one_list_call_and_one_service_list_call(smoke):
    _, data, _, _ = smoke
    assert counts(run(data, False)) == {
        "list": 1, "token": 0, "attributes": 0, "services": 1, "other": 0, "assets": N}


def shared_in(tailnet):
    return sum(1 for d in json.loads((tailnet / "devices.json").read_text())["devices"] if d.get("isExternal"))


def test_posture_on_makes_one_call_per_imported_device(smoke):
    _, data, _, tailnet = smoke
    devices = json.loads((tailnet / "devices.json").read_text())["devices"]
    assert len(devices) == N
    # shared-in devices are imported too, but Tailscale does not serve their posture: no call
    assert shared_in(tailnet) > 0, "the generator should include external devices"
    assert counts(run(data, True)) == {
        "list": 1, "token": 0, "attributes": N - shared_in(tailnet), "services": 1, "other": 0, "assets": N}


def test_oauth_adds_exactly_one_token_call(smoke):
    """An OAuth client's token is not listed the shared-in devices, so they are not imported."""
    _, data, _, tailnet = smoke
    own = N - shared_in(tailnet)
    assert counts(run(data, False, "oauth")) == {
        "list": 1, "token": 1, "attributes": 0, "services": 1, "other": 0, "assets": own}
    assert counts(run(data, True, "oauth")) == {
        "list": 1, "token": 1, "attributes": own, "services": 1, "other": 0, "assets": own}


def test_no_posture_calls_after_a_403(smoke):
    _, data, _, _ = smoke
    assert counts(run(data, True, forbid=True)) == {
        "list": 1, "token": 0, "attributes": 1, "services": 1, "other": 0, "assets": N}


def test_checks_pass_and_targets_skip_at_one_small_size(smoke):
    _, data, _, _ = smoke
    assert [c["status"] for c in data["checks"]] == ["PASS", "PASS", "PASS"], data["checks"]
    assert "byte-identical" in data["checks"][2]["name"] and data["checks"][2]["detail"] == "6 cases repeated"
    # no 1,000 / 10,000 / 50,000 run here: every timing and memory target is skipped
    assert data["targets"] and {t["status"] for t in data["targets"]} == {"SKIP"}, data["targets"]


def test_the_verdicts_are_the_last_lines(smoke):
    process, _, _, _ = smoke
    tail = process.stdout.rstrip().splitlines()[-(3 + len(run_bench.PAIR_TARGETS) + 2 + 2):]
    assert tail[0].startswith("Checks (a FAIL fails make bench")
    assert [line.split("**")[1] for line in tail[1:4]] == ["PASS", "PASS", "PASS"]
    assert tail[4].startswith("Targets (PASS or MISS; never fail make bench")
    assert all(line.startswith("- **SKIP** ") for line in tail[5:]), tail


def test_table_and_report(smoke):
    process, _, report, tailnet = smoke
    header = "| N | posture | auth | list | token | attributes | services | other | bytes received | wall s"
    assert header in process.stdout
    assert f"| {N} | off | api key | 1 | 0 | 0 | 1 | 0 |" in process.stdout
    assert f"| {N} | on | api key | 1 | 0 | {N - shared_in(tailnet)} | 1 | 0 |" in process.stdout
    # The yardstick reads the list once, asks no posture or Services, and maps every device.
    assert f"| {N} | reference | api key | 1 | 0 | 0 | 0 | 0 |" in process.stdout
    assert "peak live heap MB" in process.stdout
    text = report.read_text()
    for part in (header, "## Checks", "## Targets", "## Is the mock the bottleneck?", "## Machine", "- nproc:",
                 "- benchmark duration: "):
        assert part in text
    digest = hashlib.sha256((REPO_ROOT / "tailscale.star").read_bytes()).hexdigest()
    assert f"sha256 {digest}" in text  # the whole hash, so a re-recorded report shows the script drifted


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


def measurement(spec, script_s, devices=1000, **counts):
    calls = {"list": 1, "token": 0, "attributes": 0, "services": 0 if spec.reference else 1, "other": 0, **counts}
    return run_bench.Measurement(spec=spec, devices=devices, exit_code=0, calls=calls, script_s=script_s,
                                 assets=devices, stats={"assets": devices}, output_sha256="same")


def test_a_slow_pair_is_a_miss_with_its_spread_not_a_failure():
    target = run_bench.PAIR_TARGETS[0]
    samples = {  # the measured case costs 1.5x, 1.3x, 2.0x the baseline per device in three rounds
        target.measured: [measurement(target.measured, s, target.measured.n) for s in (75.0, 65.0, 100.0)],
        target.baseline: [measurement(target.baseline, 1.0, target.baseline.n)] * 3,
    }
    verdict = run_bench.targets(samples)[0]
    assert verdict.status == "MISS", verdict
    assert verdict.detail == "median 1.50× (min 1.30×, max 2.00×, 3 interleaved pairs)"
    assert {c.status for c in run_bench.checks(samples)} == {"PASS"}  # nothing that cannot be noise went wrong
    samples[target.measured] = [measurement(target.measured, s, target.measured.n) for s in (50.0, 70.0, 55.0)]
    assert run_bench.targets(samples)[0].status == "PASS"  # median 1.10x, though one round was 1.40x


def test_a_wrong_request_count_or_differing_output_fails():
    spec = run_bench.RunSpec(1000, False)
    good = measurement(spec, 1.0)
    assert [c.status for c in run_bench.checks({spec: [good, good]})] == ["PASS", "PASS", "PASS"]
    extra = measurement(spec, 1.0, other=1)
    extra.other_paths = {"GET /api/v2/device/1/routes": 1}
    verdicts = run_bench.checks({spec: [good, extra]})
    assert verdicts[1].status == "FAIL" and "GET /api/v2/device/1/routes x1" in verdicts[1].detail
    changed = measurement(spec, 1.0)
    changed.output_sha256 = "other"
    assert run_bench.checks({spec: [good, changed]})[2].status == "FAIL"


def test_a_pair_target_is_one_declaration():
    """Another developer adds a timing target by adding one PairTarget; its cases then join the
    interleaved rounds (and leave the plan of single runs) whenever both sizes are benchmarked."""
    extra = run_bench.PairTarget("findings on vs off", run_bench.RunSpec(100, False),
                                 run_bench.RunSpec(100, False, settings=(("INCLUDE_POSTURE", False),)), 1.10)
    original = run_bench.PAIR_TARGETS
    try:
        run_bench.PAIR_TARGETS = (*original, extra)
        assert run_bench.pair_specs([100]) == [extra.measured, extra.baseline]
        assert extra.measured not in run_bench.plan([100], 100)
        assert extra.baseline.slug == "n100-posture-off-include_posture-false-apikey"
    finally:
        run_bench.PAIR_TARGETS = original
