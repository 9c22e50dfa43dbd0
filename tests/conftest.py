"""Shared fixtures. Tests that run the integration ask for `rzscript` and
`tailscale_script`; the harness's own unit tests need neither."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.scenario import display_path, rzscript_path, script_path


@pytest.fixture(scope="session")
def rzscript() -> Path:
    path = rzscript_path()
    if not path.is_file():
        pytest.fail(
            f"{display_path(path)} is missing: the scenario tests run the integration with it. "
            "Build it and run the tests with `make test` (or `make bin/rzscript`, or set RZSCRIPT).",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def tailscale_script() -> Path:
    path = script_path()
    if not path.is_file():
        pytest.fail(f"{display_path(path)} is missing (or set TAILSCALE_STAR to the script to test)", pytrace=False)
    return path
