"""Every well-formed device-list, posture and Service-list body the fixtures hold, for the Go oracle.

    python -m harness.device_fixtures

prints one JSON object per line: {"source": ..., "body": {"devices": [...]}} for a device-list
body, {"source": ..., "posture": {"attributes": ...}} for one posture answer, {"source": ...,
"services": {"vipServices": [...]}} for a Service list. The sources are the recorded tailnets,
the generator's output at a small size, and the 200 answers that scenario routes serve on the
device-list, posture and Service-list paths, except in scenarios marked `junk`.
The oracle (oracle/) decodes each strictly into Tailscale's Go client types, so a fixture that
invents, misspells or mistypes a field fails there.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

from harness.generate_tailnet import generate
from harness.paths import FIXTURES_DIR, TAILNETS_DIR, display_path
from harness.scenario import discover_scenarios, load_scenario

GENERATED_DEVICES = 40
DEVICE_LIST_MARK = "/devices"
POSTURE_MARK = "/attributes"
SERVICE_LIST_MARK = "services"


def tailnet_bodies(directory: Path) -> Iterator[dict]:
    source = display_path(directory)
    yield {"source": f"{source}/devices.json", "body": json.loads((directory / "devices.json").read_text())}
    posture_file = directory / "posture.json"
    if posture_file.is_file():
        for node_id, answer in json.loads(posture_file.read_text()).items():
            yield {"source": f"{source}/posture.json[{node_id}]", "posture": answer}
    services_file = directory / "services.json"
    if services_file.is_file():
        yield {"source": f"{source}/services.json", "services": json.loads(services_file.read_text())}


def generated_bodies() -> Iterator[dict]:
    devices, posture = generate(GENERATED_DEVICES, seed=1)
    source = f"harness/generate_tailnet.py --devices {GENERATED_DEVICES} --seed 1"
    yield {"source": source, "body": devices}
    for node_id, answer in posture.items():
        yield {"source": f"{source} posture[{node_id}]", "posture": answer}


def route_kind(route: dict) -> str | None:
    """"body" for a route on the device-list path, "posture" on a posture path, "services" on a
    Service-list path, else None."""
    path = route.get("path") or route.get("path_regex") or ""
    if DEVICE_LIST_MARK in path:
        return "body"
    if POSTURE_MARK in path:
        return "posture"
    if SERVICE_LIST_MARK in path:
        return "services"
    return None


def scenario_bodies(path: Path) -> Iterator[dict]:
    scenario = load_scenario(path)
    if scenario.junk:
        return
    for r, route in enumerate(scenario.routes):
        kind = route_kind(route)
        if kind is None:
            continue
        for i, response in enumerate(route["responses"]):
            if response.get("status", 200) != 200:
                continue
            if "json" in response:
                value = response["json"]
            elif "json_file" in response:
                value = json.loads((FIXTURES_DIR / response["json_file"]).read_text())
            else:
                continue
            yield {"source": f"{display_path(path)} routes[{r}].responses[{i}]", kind: value}


def all_bodies() -> Iterator[dict]:
    for directory in sorted(p for p in TAILNETS_DIR.iterdir() if (p / "devices.json").is_file()):
        yield from tailnet_bodies(directory)
    yield from generated_bodies()
    for path in discover_scenarios():
        yield from scenario_bodies(path)


def main() -> int:
    for line in all_bodies():
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
