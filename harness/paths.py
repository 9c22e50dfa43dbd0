"""Where things are in the repository, and which script and rzscript binary a run uses.

The environment may point a run at another script or binary: TAILSCALE_STAR (the script, e.g.
an edited copy) and RZSCRIPT (the binary). Relative values are read from the repository root.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES_DIR = REPO_ROOT / "fixtures"
SCENARIOS_DIR = FIXTURES_DIR / "scenarios"
TAILNETS_DIR = FIXTURES_DIR / "tailnets"
FIXTURES_README = FIXTURES_DIR / "README.md"
SCENARIO_TABLE = FIXTURES_DIR / "SCENARIOS.md"
BENCH_DIR = REPO_ROOT / "bench"
OUT_DIR = REPO_ROOT / "out"  # what `make run` and failing fuzz examples write; git-ignored


def _from_env(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    if not value:
        return default
    path = Path(value)
    return path if path.is_absolute() else REPO_ROOT / path


def rzscript_path() -> Path:
    """bin/rzscript (built by the Makefile), or $RZSCRIPT."""
    return _from_env("RZSCRIPT", REPO_ROOT / "bin" / "rzscript")


def script_path() -> Path:
    """tailscale.star, or $TAILSCALE_STAR."""
    return _from_env("TAILSCALE_STAR", REPO_ROOT / "tailscale.star")


def display_path(path: Path | str) -> str:
    """path relative to the repository root when it is inside it, for messages."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def tailnet_dir(tailnet: str | Path, fixtures_dir: Path = FIXTURES_DIR) -> Path:
    """Where a scenario's `tailnet:` lives: a bare name is a directory under fixtures/tailnets/;
    a value with a slash is a directory, relative to fixtures/ unless absolute (for generated
    tailnets such as the benchmark's)."""
    text = str(tailnet)
    if isinstance(tailnet, Path) or "/" in text:
        path = Path(text)
        return path if path.is_absolute() else fixtures_dir / path
    return fixtures_dir / "tailnets" / text
