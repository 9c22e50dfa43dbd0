"""What one run of a scenario produced: the rzscript run, and what the mock saw and served.

Expectations (harness.expectations) and invariants (harness.invariants) judge a
ScenarioResult; `summary` is the report of a failing one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.canned_server import RecordedRequest
from harness.rzscript import RzscriptRun
from harness.secrets import mask_secrets
from harness.times import FIXTURES_NOW


@dataclass
class Traffic:
    """What the mock API saw and sent during a run."""

    requests: list[RecordedRequest] = field(default_factory=list)  # each with the answer it got
    issued_tokens: list[str] = field(default_factory=list)
    device_lists: list[bytes] = field(default_factory=list)  # device-list bodies as sent, in order


@dataclass
class ScenarioResult:
    name: str
    run: RzscriptRun
    traffic: Traffic = field(default_factory=Traffic)
    secrets: list[str] = field(default_factory=list)  # access_secret and every credential the mock accepts
    now: str = FIXTURES_NOW  # what time.now() returned in the script
    mode: str = "none"  # the transport-error mode of the run

    def summary(self, tail: int = 30) -> str:
        """The end of stdout and stderr, for a failure report (secrets and tokens masked)."""
        hidden = self.secrets + self.traffic.issued_tokens

        def last(text: str) -> str:
            lines = mask_secrets(text, hidden).splitlines()
            cut = f"  ... ({len(lines) - tail} earlier lines)\n" if len(lines) > tail else ""
            return cut + "\n".join("  " + line for line in lines[-tail:])

        run = self.run
        return (
            f"exit code: {run.exit_code}{' (timed out)' if run.timed_out else ''}, "
            f"{len(run.assets)} assets, {len(self.traffic.requests)} requests, {run.duration:.2f}s\n"
            f"stdout:\n{last(run.stdout)}\nstderr:\n{last(run.stderr)}"
        )
