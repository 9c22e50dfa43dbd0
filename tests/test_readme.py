"""The README's failure table tells admins what each message means; every message in it must
be one the script prints. So each fragment of the table's first column (and of the messages
quoted under "Other situations") appears in the error or log expectations of some scenario,
whose test proves the script prints it. The run-time, memory and `make bench` duration figures the
README gives are those bench/RESULTS.md records."""

from __future__ import annotations

import functools
import re

import pytest

from harness.paths import REPO_ROOT
from harness.scenario import discover_scenarios, load_scenario

SECTION = re.compile(r"^### When it fails\n(.*?)^### ", re.S | re.M)
QUOTED = re.compile(r"`([^`]+)`")
# Quoted names of settings, fields and values, not messages.
SHORTEST_MESSAGE = 16


def failure_section() -> str:
    match = SECTION.search((REPO_ROOT / "README.md").read_text(encoding="utf-8"))
    assert match, "README.md has no '### When it fails' section"
    return match.group(1)


def quoted_messages() -> list[str]:
    """The message fragments the section quotes: the first column of its table, and the long
    quotes of the text around it (a quote may wrap a line there); `…` splits a fragment where
    the message varies."""
    table, prose = [], []
    for line in failure_section().splitlines():
        if line.startswith("| "):
            if not line.startswith(("| the log says", "| ---")):
                table.append(line.split(" | ")[0])
        else:
            prose.append(line.strip())
    fragments = []
    for quote in QUOTED.findall("\n".join(table)) + QUOTED.findall(" ".join(prose)):
        fragments += [part.strip() for part in quote.split("…") if len(part.strip()) >= SHORTEST_MESSAGE]
    return fragments


@functools.cache
def pinned_texts() -> list[str]:
    texts = []
    for path in discover_scenarios():
        expect = load_scenario(path).expect
        texts += list(expect.get("error_contains", [])) + list(expect.get("logs_contain", []))
    return texts


def test_the_table_quotes_messages():
    assert len(quoted_messages()) >= 30


@pytest.mark.parametrize("fragment", quoted_messages())
def test_every_quoted_message_is_pinned_by_a_scenario(fragment):
    assert any(fragment in text for text in pinned_texts()), (
        f"README.md quotes {fragment!r} under 'When it fails', but no scenario's error_contains or "
        "logs_contain holds it: pin it with a scenario, or fix the quote")


RESULTS = REPO_ROOT / "bench" / "RESULTS.md"


def recorded(n: str, posture: str) -> dict:
    """The row of bench/RESULTS.md's results table for `n` devices (as printed, e.g. "50,000"),
    posture `posture`, API token: header -> cell."""
    lines = [line for line in RESULTS.read_text(encoding="utf-8").splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    for line in lines:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if cells[:3] == [n, posture, "api key"]:
            return dict(zip(header, cells, strict=True))
    raise AssertionError(f"bench/RESULTS.md has no row for {n} devices, posture {posture}")


def about(claimed: float, measured: float) -> bool:
    """A README figure says "about": within a factor of 1.5 of what bench/RESULTS.md records."""
    return measured / 1.5 <= claimed <= measured * 1.5


def test_the_run_time_and_memory_claims_match_the_recorded_benchmark():
    readme = " ".join((REPO_ROOT / "README.md").read_text(encoding="utf-8").split())
    claim = re.search(r"50,000 devices take about (\d+) s of script time with posture off and about ([\d.]+) GB",
                      readme)
    assert claim, "README.md no longer says what 50,000 devices take"
    row = recorded("50,000", "off")
    assert about(float(claim.group(1)), float(row["script s (excl. HTTP)"])), (claim.group(0), row)
    assert about(float(claim.group(2)), float(row["peak RSS MB"].replace(",", "")) / 1000), (claim.group(0), row)
    minutes = re.search(r"\(about (\d+) minutes on a shared 2-core machine; \[bench/RESULTS\.md\]", readme)
    duration = re.search(r"^- benchmark duration: (\d+) s$", RESULTS.read_text(encoding="utf-8"), re.M)
    assert minutes and duration, "README.md or bench/RESULTS.md no longer says how long make bench takes"
    assert about(float(minutes.group(1)) * 60, float(duration.group(1)))
