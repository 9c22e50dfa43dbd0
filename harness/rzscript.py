"""Running rzscript once and reading what it produced.

`run_rzscript` starts bin/rzscript on a script with kwargs and options, collects stdout,
stderr, the assets it wrote (`--output`, JSON lines) and its `--stats`, and kills it after a
timeout. kwargs values never appear in the command it reports.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from harness.paths import REPO_ROOT, display_path, rzscript_path

TAILSCALE_ORIGIN = "https://api.tailscale.com"


def parse_jsonl(text: str) -> tuple[list[dict], list[str]]:
    """Assets from JSON-lines text, and a message per line that is not a JSON object.

    Lines end at "\\n" only: str.splitlines() would also split at U+0085 and U+2028, which
    Go's JSON encoder leaves unescaped inside strings."""
    assets, errors = [], []
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            errors.append(f"line {number}: not JSON ({exc})")
            continue
        if isinstance(value, dict):
            assets.append(value)
        else:
            errors.append(f"line {number}: expected a JSON object, got {type(value).__name__}")
    return assets, errors


@dataclass
class RzscriptRun:
    """What one rzscript run produced."""

    exit_code: int | None = 0  # None: killed after the timeout
    stdout: str = ""
    stderr: str = ""
    assets_text: str = ""  # the --output file as written
    stats: dict | None = None
    timed_out: bool = False
    timeout: float = 0.0
    duration: float = 0.0
    command: list[str] = field(default_factory=list)  # kwargs values shown as ***
    stdout_lines: list[str] = field(init=False)
    assets: list[dict] = field(init=False)
    output_errors: list[str] = field(init=False)  # lines of --output that are not JSON objects

    def __post_init__(self):
        self.stdout_lines = self.stdout.split("\n")
        if self.stdout_lines[-1] == "":
            self.stdout_lines.pop()
        self.assets, self.output_errors = parse_jsonl(self.assets_text)


def run_rzscript(
    script: Path,
    kwargs: Mapping[str, str],
    options: Iterable[str] = (),
    *,
    route_url: str | None = None,
    timeout: float,
    output: Path | None = None,
    rzscript: Path | None = None,
    env: Mapping[str, str] | None = None,
    parse_output: bool = True,
) -> RzscriptRun:
    """Run rzscript once on `script`.

    options: rzscript options beyond the ones this function adds (--route, --output, --stats).
    route_url: send https://api.tailscale.com requests there (None: the real API).
    output: where the assets JSON lines go (default: a temporary file, removed).
    env: variables added to this process's environment for rzscript.
    parse_output: False leaves the assets unread (a benchmark's 50,000 assets).
    """
    rzscript = rzscript or rzscript_path()
    if not rzscript.is_file():
        raise FileNotFoundError(f"{display_path(rzscript)} not found (build it: run `make test`)")
    with tempfile.TemporaryDirectory(prefix="rzrun-") as tmp:
        out_path = Path(output) if output else Path(tmp) / "assets.jsonl"
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.unlink(missing_ok=True)
        stats_path = Path(tmp) / "stats.json"
        own = ["--output", str(out_path), "--stats", str(stats_path)]
        if route_url:
            own = ["--route", f"{TAILSCALE_ORIGIN}={route_url}", *own]
        command, shown = [str(rzscript), "--filename", str(script)], [str(rzscript), "--filename", str(script)]
        for key, value in kwargs.items():
            command += ["--kwargs", f"{key}={value}"]
            shown += ["--kwargs", f"{key}=***"]
        command += [*own, *options]
        shown += [*own, *options]

        started = time.monotonic()
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=REPO_ROOT,
            env={**os.environ, **env} if env else None,
        )
        timed_out = False
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            process.kill()
            out, err = process.communicate()
        try:
            stats = json.loads(stats_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            stats = None
        return RzscriptRun(
            exit_code=None if timed_out else process.returncode,
            stdout=out.decode("utf-8", errors="replace"),
            stderr=err.decode("utf-8", errors="replace"),
            assets_text=out_path.read_text(encoding="utf-8", errors="replace")
            if parse_output and out_path.is_file() else "",
            stats=stats,
            timed_out=timed_out,
            timeout=timeout,
            duration=time.monotonic() - started,
            command=shown,
        )
