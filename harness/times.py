"""RFC 3339 times: the one parser the harness uses, and the fixtures' reference time."""

from __future__ import annotations

import re
from datetime import datetime

# Every recorded fixture is consistent with this moment, and a scenario runs at it unless it
# says otherwise (`now:`), so expiry and staleness come out the same on every run.
FIXTURES_NOW = "2026-11-28T12:00:00Z"

# RFC 3339 section 5.6 (date-time). datetime.fromisoformat alone also takes ISO 8601 forms
# RFC 3339 does not have, such as 20261128T120000Z or a time without a zone.
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def parse_rfc3339(text: object) -> datetime | None:
    """The moment an RFC 3339 date-time names (always with a zone), or None for anything else."""
    if not isinstance(text, str) or not _DATE_TIME.fullmatch(text):
        return None
    try:
        return datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:  # a field out of range, such as month 13 or second 60
        return None
