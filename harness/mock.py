"""The mock Tailscale API: a scenario's override routes in front of the tailnet model.

A CannedServer answers each request from the scenario's `routes:` first (in order), then from
the TailnetAPI over the scenario's tailnet, with authentication enforced and OAuth tokens
issued. Route and auth specs are read through the scenario schema, so they mean here what
fixtures/README.md says. The mock keeps every request with the answer it got, so what it
served (the device-list bodies in particular) is known exactly, whichever side answered.

    with MockTailscale(tailnet="sample") as mock:
        ...  # mock.url, mock.traffic()

Standalone, until SIGINT or SIGTERM; the first line of stdout is the base URL:

    python -m harness.mock --tailnet NAME --port 0 [--scenario FILE] [--verbose]
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from harness.canned_server import (
    JSON_TYPE,
    TEXT_TYPE,
    CannedResponse,
    CannedServer,
    RecordedRequest,
    RequestMatcher,
    Route,
)
from harness.paths import FIXTURES_DIR, tailnet_dir
from harness.results import Traffic
from harness.scenario import load_scenario
from harness.schema import AUTH, ROUTE, Checker, ScenarioError
from harness.tailnet import (
    NOT_FOUND,
    AuthConfig,
    Tailnet,
    TailnetAPI,
    credential_from_header,
    is_device_list_request,
    load_tailnet,
)


def _credential_values(request: RecordedRequest) -> dict[str, str]:
    """What a `template: true` response fills in."""
    authorization = request.header("Authorization") or ""
    return {"authorization": authorization, "token": credential_from_header(authorization) or ""}


def canned_response(spec: Mapping[str, Any], fixtures_dir: Path) -> CannedResponse:
    """A loaded response spec (the schema's RESPONSE section) as a canned response."""
    options = {
        "delay": spec["delay"],
        "drop": spec["drop"],
        "template": _credential_values if spec["template"] else None,
    }
    if "json" in spec:
        return CannedResponse.json(spec["json"], spec["status"], headers=spec["headers"], **options)
    if "body" in spec:
        return CannedResponse.text(spec["body"], spec["status"], headers=spec["headers"], **options)
    body, content_type, json_escape = b"", None, False
    if "json_file" in spec:  # served byte for byte, not re-encoded
        body, content_type, json_escape = (fixtures_dir / spec["json_file"]).read_bytes(), JSON_TYPE, True
    elif "body_file" in spec:
        path = fixtures_dir / spec["body_file"]
        body, content_type = path.read_bytes(), JSON_TYPE if path.suffix == ".json" else TEXT_TYPE
    return CannedResponse(
        spec["status"], body, spec["headers"], content_type=content_type, json_escape=json_escape, **options
    )


def request_matcher(spec: Mapping[str, Any]) -> RequestMatcher:
    """A loaded request match (a route's, or an `expect.requests` entry's) as a matcher."""
    return RequestMatcher(spec.get("method"), spec.get("path"), spec.get("path_regex"), spec["query"])


def route(spec: Mapping[str, Any], where: str = "route", fixtures_dir: Path = FIXTURES_DIR) -> Route:
    """A scenario route spec (checked and completed by the schema's ROUTE section) as a Route."""
    spec = ROUTE.load(dict(spec), where, Checker("<mock>", fixtures_dir))
    responses = [canned_response(r, fixtures_dir) for r in spec["responses"]]
    return Route(request_matcher(spec), responses, spec["when_exhausted"])


def auth_config(spec: Mapping[str, Any] | None) -> AuthConfig:
    """A scenario `auth:` spec, missing keys taking the schema's defaults."""
    return AuthConfig(**AUTH.load(dict(spec or {}), "auth", Checker("<mock>")))


class MockTailscale(CannedServer):
    """The mock API server: a CannedServer whose fallback is the tailnet model. Start and stop
    it with `with`, or `start()` / `stop()`.

    tailnet: None (no built-in tailnet: device routes answer 404), a name under
    fixtures/tailnets/, a directory path, or a `Tailnet` object.
    routes: scenario route specs (`routes:` entries).
    auth: a scenario `auth:` spec (missing keys take their defaults).
    """

    def __init__(
        self,
        *,
        tailnet: Tailnet | str | Path | None = None,
        routes: Iterable[Mapping[str, Any]] = (),
        auth: Mapping[str, Any] | None = None,
        fixtures_dir: Path = FIXTURES_DIR,
        port: int = 0,
        verbose: bool = False,
    ):
        if tailnet is not None and not isinstance(tailnet, Tailnet):
            tailnet = load_tailnet(tailnet_dir(tailnet, fixtures_dir))
        self.tailnet = tailnet
        self.api = TailnetAPI(tailnet, auth_config(auth))
        super().__init__(
            [route(spec, f"routes[{i}]", fixtures_dir) for i, spec in enumerate(routes)],
            self.api.answer,
            unmatched=NOT_FOUND,
            port=port,
            verbose=verbose,
            name="mock-tailscale",
        )

    @property
    def issued_tokens(self) -> list[str]:
        return self.api.issued_tokens

    def secrets(self) -> list[str]:
        """Every credential the mock accepts or issued."""
        return self.api.auth.secrets() + self.api.issued_tokens

    def traffic(self) -> Traffic:
        """What the mock saw and sent so far."""
        requests = self.requests
        return Traffic(
            requests=requests,
            issued_tokens=self.api.issued_tokens,
            device_lists=[r.response_body for r in requests if is_device_list_request(r) and r.status is not None],
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.mock",
        description="Serve a mock Tailscale API until interrupted (SIGINT, SIGTERM); "
        "the first line of stdout is its base URL.",
    )
    parser.add_argument("--scenario", help="scenario YAML file: its routes, tailnet and auth")
    parser.add_argument("--tailnet", help="serve this tailnet (a name under fixtures/tailnets/, or a directory); "
                        "overrides the scenario's")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    args = parser.parse_args(argv)

    try:
        scenario = load_scenario(args.scenario) if args.scenario else None
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    mock = MockTailscale(
        tailnet=args.tailnet or (scenario.tailnet if scenario else None),
        routes=scenario.routes if scenario else (),
        auth=scenario.auth if scenario else None,
        port=args.port,
        verbose=args.verbose,
    )
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    with mock:
        print(mock.url, flush=True)
        done.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
