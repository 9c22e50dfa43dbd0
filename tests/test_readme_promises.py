"""README promises that no scenario can hold: facts about the script's own tables and log (each
test reads the README's words and the script's constants, or one run's log, and fails when they
drift apart), and INSECURE_SKIP_VERIFY, which needs a TLS server the mock does not offer. Each
docstring quotes the sentence it pins. The situations the
README promises are pinned by scenarios (fixtures/SCENARIOS.md), the failure messages by
tests/test_readme.py."""

from __future__ import annotations

import ast
import http.server
import json
import re
import shutil
import ssl
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

from harness.paths import REPO_ROOT, rzscript_path, script_path
from harness.run import run_scenario
from harness.scenario import load_scenario
from harness.schema import DEFAULT_API_KEY
from harness.settings import read_setting, rewrite_settings

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
# The README with its line breaks and indentation folded into single spaces.
PROSE = " ".join(README.split())


def script_source() -> str:
    return script_path().read_text(encoding="utf-8")


def constant(name: str):
    """A literal top-level constant of tailscale.star, as a Python value."""
    return ast.literal_eval(read_setting(script_source(), name))


def readme_table(header: str) -> list[list[str]]:
    """The rows (cells stripped) of the README table whose header line is `header`."""
    table = README[README.index(header):].split("\n\n")[0]
    return [[cell.strip() for cell in line.strip().strip("|").split(" | ")] for line in table.splitlines()[2:]]


def quoted(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


def sentence(start: str) -> str:
    """The README sentence (line breaks folded) that begins with `start`, up to its full stop."""
    index = PROSE.index(start)
    # A numbered item's own "2. " is not its end.
    return PROSE[index:PROSE.index(". ", index + len(start)) + 1]


# ---- settings ---------------------------------------------------------------------------------

def script_settings() -> dict[str, str]:
    """NAME -> value as written, for each setting between the script's settings markers."""
    source = script_source()
    block = source[source.index("# ---- Settings you may edit"):source.index("# ---- End of settings")]
    return dict(re.findall(r"^([A-Z_]+) = (.*)$", block, re.M))


def test_the_settings_table_lists_every_setting_with_its_true_default():
    """"### Settings (top of the script)": one row per setting, `| NAME | default | meaning |`."""
    rows = readme_table("| setting | default | meaning |")
    table = {quoted(name)[0]: quoted(default)[0] for name, default, _ in rows}
    settings = script_settings()
    assert list(table) == list(settings), "the table and the script list different settings, or in another order"
    for name, written in settings.items():
        try:
            documented = ast.literal_eval(table[name])
        except (ValueError, SyntaxError):
            documented = table[name]  # a URL is shown without its quotes
        assert documented == ast.literal_eval(written), f"{name}: README says {table[name]}, the script has {written}"


def test_the_device_filters_keys_are_the_scripts_filter_fields():
    """"Keys are the Device fields Tailscale filters on: `addresses`, … `user`; any other key
    (a typo such as `tag`) fails the task naming it"."""
    row = next(meaning for name, _, meaning in readme_table("| setting | default | meaning |")
               if name == "`DEVICE_FILTERS`")
    listed = row[row.index("Keys are the Device fields"):row.index("; any other key")]
    assert quoted(listed) == constant("FILTER_FIELDS")


# ---- credentials ------------------------------------------------------------------------------

def test_the_placeholder_access_keys_are_the_scripts_list():
    """"an API token when `access_key` is blank or a placeholder: `foo`, `bar`, … `api-token`
    (any letter case)"."""
    listed = sentence("3. A secret without a `tskey-` prefix")
    listed = listed[listed.index("placeholder:"):listed.index("(any letter case)")]
    assert quoted(listed) == constant("PLACEHOLDER_ACCESS_KEYS")


def test_the_key_kinds_that_cannot_read_the_api_are_the_scripts_list():
    """"A Tailscale auth, SCIM or webhook key (`tskey-auth-…`, `tskey-scim-…`, `tskey-webhook-…`)
    cannot read the API: the task fails saying so." """
    listed = sentence("2. A Tailscale auth, SCIM or webhook key")
    kinds = [name.removeprefix("tskey-").removesuffix("-…") for name in quoted(listed)]
    assert kinds == constant("NON_API_KEY_KINDS")


class EmptyTailnet(http.server.BaseHTTPRequestHandler):
    """Answers every GET with an empty device list."""

    def do_GET(self):  # noqa: N802 (the name http.server calls)
        body = b'{"devices": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_insecure_skip_verify_skips_tls_certificate_checks(tmp_path):
    """"| `INSECURE_SKIP_VERIFY` | `False` | skip TLS certificate checks (only for a
    TLS-intercepting proxy you trust) |": against an API behind a self-signed certificate the run
    succeeds with the setting on and cannot connect with it off."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(tmp_path / "key.pem"),
                    "-out", str(tmp_path / "cert.pem")], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), EmptyTailnet)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        runs = {}
        for skip in (True, False):
            script = tmp_path / f"skip_{skip}.star"
            settings = {"INSECURE_SKIP_VERIFY": skip, "INCLUDE_POSTURE": False}
            script.write_text(rewrite_settings(script_source(), settings), encoding="utf-8")
            runs[skip] = subprocess.run(
                [str(rzscript_path()), "--filename", str(script), "--kwargs", "access_key=foo",
                 "--kwargs", f"access_secret={DEFAULT_API_KEY}", "--transport-errors", "none",
                 "--route", f"https://api.tailscale.com=https://127.0.0.1:{server.server_address[1]}"],
                capture_output=True, text=True, timeout=120)
    finally:
        server.shutdown()
        server.server_close()
    assert runs[True].returncode == 0, runs[True].stderr
    assert "tailscale: the tailnet has no devices" in runs[True].stdout
    assert runs[False].returncode != 0
    assert "could not list devices: no response (connection failed or timed out)" in runs[False].stderr


# ---- what is imported -------------------------------------------------------------------------

def test_asset_ids_are_tailscale_and_the_legacy_device_id_as_in_the_official_script():
    """"Asset ids are `tailscale-<device id>`, the same ids runZero's official Tailscale script
    produces" (its `"tailscale-" + device_id`, from the device's legacy `id`), said again under
    "Coming from runZero's official Tailscale script"."""
    assert PROSE.count("`tailscale-<device id>`") == 3
    assert "\"id\": \"tailscale-\" + device_id," in script_source()
    # Which id device_id is: tests/test_transform.py::test_device_id_prefers_legacy_id_like_the_official_script.


def attribute_table_names() -> set[str]:
    """The attribute names of the custom-attribute table, patterns (`…_<region>`) included."""
    names = set()
    for row in readme_table("| attribute | meaning |"):
        names.update(quoted(row[0]))
    return names


def script_attribute_names() -> set[str]:
    """Every custom attribute name tailscale.star writes: its "tailscale_…" literals, where a
    literal ending in "_" is a prefix completed at run time."""
    return set(re.findall(r'"(tailscale_[A-Za-z0-9_]*)"', script_source()))


def expand(name: str) -> list[str]:
    """`tailscale_client_supports_<ipv6, udp>` -> the two names; `…_<region>` -> the prefix."""
    match = re.fullmatch(r"(tailscale_[a-z_]*_)<([^>]+)>", name)
    if not match:
        return [name]
    prefix, inside = match.groups()
    return [prefix + part.strip() for part in inside.split(",")] if "," in inside else [prefix]


def test_the_attribute_table_names_only_attributes_the_script_writes():
    """"Custom attributes (all strings; absent facts produce no attribute; lists are joined by
    `, `):" and the table below it: every name in it is one the script writes."""
    written = script_attribute_names()
    supports = ["tailscale_client_supports_" + flag.lower() for flag in constant("CLIENT_SUPPORTS_FLAGS")]
    for name in attribute_table_names():
        for attribute in expand(name):
            assert attribute in written or attribute in supports, f"README's attribute table names {attribute}"


def test_every_attribute_the_script_writes_is_documented():
    """"| Custom attributes | everything else | below |": whatever the script writes is named in
    the README."""
    documented = {attribute for name in quoted(README) if name.startswith("tailscale_") for attribute in expand(name)}
    # A prefix the script completes at run time is documented by any name it begins.
    undocumented = {name for name in script_attribute_names() if not any(
        other == name or (name.endswith("_") and other.startswith(name)) for other in documented)}
    assert undocumented == set()
    supports = {"tailscale_client_supports_" + flag.lower() for flag in constant("CLIENT_SUPPORTS_FLAGS")}
    assert supports - documented == set()


def test_the_attribute_names_shared_with_the_official_scripts_are_ours():
    """"**Attribute names** are the same for what all of them record: `tailscale_device_id`, …
    and `tailscale_derp_preferred_region`." and the "(ours: `…`)" names: each is a name this
    script writes."""
    listed = sentence("**Attribute names** are the same")
    listed += " ".join(re.findall(r"\(ours: `[^`]+`(?: / `[^`]+`)?", PROSE))
    table = {attribute for name in attribute_table_names() for attribute in expand(name)}
    names = [attribute for name in quoted(listed) if name.startswith("tailscale_") for attribute in expand(name)]
    assert len(names) >= 20
    assert set(names) - table == set()


def test_what_is_not_recorded_is_never_written():
    """"**Not recorded**: the official scripts' `source` attribute …, the v1 script's
    `tailscale_oauth_authentication` …, the newer script's `tailscale_client_derp` …, and the
    tags `api` / `api-token`"."""
    written = script_attribute_names()
    assert {"tailscale_oauth_authentication", "tailscale_client_derp"} & written == set()
    for asset in sample_run().run.assets:
        assert "source" not in asset["customAttributes"]
        assert {"api", "api-token"} & set(asset["tags"]) == set()


def test_the_shared_by_construction_macs_are_the_scripts_list():
    """"**MACs that every machine of a kind has** …: the Apple T2 iBridge link
    `ac:de:48:00:11:22` …, the Cisco AnyConnect virtual adapter `00:05:9a:3c:7a:00`, and VMware
    Workstation's and Fusion's host-only and NAT adapters `00:50:56:c0:00:01` and
    `00:50:56:c0:00:08`." """
    listed = sentence("- **MACs that every machine of a kind has**")
    assert quoted(listed) == constant("SHARED_BY_CONSTRUCTION_MACS")


# ---- the task log -----------------------------------------------------------------------------

_SAMPLE = {}


def sample_run():
    """The sample_tailnet scenario's run (once per session)."""
    if not _SAMPLE:
        scenario = load_scenario(REPO_ROOT / "fixtures" / "scenarios" / "sample_tailnet.yaml")
        _SAMPLE["run"] = run_scenario(scenario, "none", script=script_path(), rzscript=rzscript_path())
    return _SAMPLE["run"]


def test_the_second_log_line_names_the_mode_and_why():
    """"the task log's first line names the script's version, the next one which mode it chose
    and why" (the first line: tests/test_changelog.py)."""
    lines = sample_run().run.stdout.splitlines()
    assert lines[1] == ("tailscale: authenticating with an API access token: access_secret is an API access "
                        "token (tskey-api-)")


def test_every_imported_asset_carries_the_tailscale_tag():
    """"or with `tag:tailscale`: every asset this script imports carries that tag." """
    assets = sample_run().run.assets
    assert len(assets) == 16  # 14 devices and 2 Services
    assert all(asset["tags"][0] == "tailscale" for asset in assets)


def progress_lines(total: int) -> list[str]:
    """The posture progress lines of a pass over `total` devices: the script's own fetch_posture,
    called for shared-in devices (which it answers without a request)."""
    helper = ("\ndef progress_for(total):\n    state = new_posture_state(total)\n"
              "    for index in range(total):\n        fetch_posture(None, {\"isExternal\": True}, index, state)\n")
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "progress.star"
        script.write_text(script_source() + helper, encoding="utf-8")
        proc = subprocess.run([str(rzscript_path()), "--filename", str(script), "--entry", "progress_for",
                               "--args-json", json.dumps([total])], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stdout.splitlines() if line.startswith("tailscale: posture: ")]


@pytest.mark.parametrize("total, first", [(99, None), (100, "10% (10 of 100 devices)"),
                                          (120, "10% (12 of 120 devices)"), (50000, "10% (5000 of 50000 devices)")])
def test_posture_progress_is_logged_at_each_tenth_from_100_devices(total, first):
    """"On a tailnet of 100 devices or more, the posture pass logs its progress at each tenth:
    `posture: 10% (12 of 120 devices)`, then 20 %, and so on to 90 % (nine lines, however large
    the tailnet)"."""
    lines = progress_lines(total)
    if first is None:
        assert lines == []
        return
    assert len(lines) == 9
    assert lines[0] == "tailscale: posture: " + first
    assert [line.split()[2] for line in lines] == [f"{tenth}0%" for tenth in range(1, 10)]


# ---- how long a run takes ---------------------------------------------------------------------

def test_the_round_trip_arithmetic_holds():
    """"at a 30 ms round trip, 1,000 devices add about 30 s and 50,000 devices about 25 minutes":
    one posture request per device, made one after another."""
    claim = re.search(r"at a (\d+) ms round trip, ([\d,]+) devices add about (\d+) s and ([\d,]+) devices about "
                      r"(\d+) minutes", PROSE)
    assert claim, "README.md no longer states the round-trip estimate"
    ms, small, seconds, large, minutes = claim.groups()
    assert int(small.replace(",", "")) * int(ms) / 1000 == int(seconds)
    assert int(large.replace(",", "")) * int(ms) / 1000 / 60 == int(minutes)


# ---- the repository ---------------------------------------------------------------------------

def test_config_json_is_what_the_layout_table_says():
    """"| `config.json` | runZero's catalogue metadata for the integration:
    `{"name": "Tailscale", "type": "inbound"}` |"."""
    row = next(row for row in readme_table("| path | what |") if row[0] == "`config.json`")
    assert json.loads(quoted(row[1])[-1]) == json.loads((REPO_ROOT / "config.json").read_text(encoding="utf-8"))


def test_ci_runs_make_test():
    """"| `.ci/run` | what CI runs on a fresh clone: `make test` |"."""
    commands = [line for line in (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
                if line and not line.startswith(("#", "set ", "cd "))]
    assert commands == ["make test"]


def test_the_emulator_has_100_or_more_probes():
    """"| `emulator/` | `rzscript`, …, with 100+ conformance probes |"."""
    assert len(list((REPO_ROOT / "emulator" / "probes").glob("*.star"))) >= 100


def test_tests_holds_only_test_modules_and_conftest():
    """"| `tests/` | tests only: one `test_*.py` per harness module or concern, and `conftest.py` |"."""
    names = {path.name for path in (REPO_ROOT / "tests").iterdir() if path.name != "__pycache__"}
    assert {name for name in names if not (name.startswith("test_") and name.endswith(".py"))} == {"conftest.py"}


def recipe(target: str) -> str:
    """The recipe lines of a Makefile target."""
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    block = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)*)", makefile, re.M)
    assert block, f"the Makefile has no {target} target"
    return block.group(1)


def test_make_test_runs_what_the_readme_lists():
    """"| `make test` | `gofmt -l` (fails on any file it would reformat), `go vet`, `ruff check` …,
    `go test` in `emulator/` and in `oracle/`, then `pytest` (every scenario under both
    `invalid_ip` modes) |" and "| `make bench-record` | the same, rewriting the tracked
    bench/RESULTS.md |"."""
    from tests.test_scenarios import INVALID_IP_MODES

    lint, test = recipe("lint"), recipe("test")
    assert "gofmt -l" in lint and "exit 1" in lint
    assert "cd emulator && go vet" in lint and "cd oracle && go vet" in lint and "ruff check" in lint
    assert re.search(r"^test: .*\blint\b", (REPO_ROOT / "Makefile").read_text(encoding="utf-8"), re.M)
    steps = [line.strip() for line in test.splitlines()]
    assert [step.split(" && ")[0] for step in steps[:2]] == ["cd emulator", "cd oracle"]
    assert all("go test" in step for step in steps[:2]) and "-m pytest" in steps[2]
    assert INVALID_IP_MODES == ("none", "abort")
    assert "--results bench/RESULTS.md" in recipe("bench-record")
