"""The harness's one RFC 3339 parser."""

from datetime import UTC, datetime, timedelta

import pytest

from harness.times import FIXTURES_NOW, parse_rfc3339


@pytest.mark.parametrize(("text", "moment"), [
    (FIXTURES_NOW, datetime(2026, 11, 28, 12, tzinfo=UTC)),
    ("2026-11-28t12:00:00z", datetime(2026, 11, 28, 12, tzinfo=UTC)),
    ("2026-11-28T13:30:00+01:30", datetime(2026, 11, 28, 12, tzinfo=UTC)),
    ("2026-11-28T12:00:00.123456789Z", datetime(2026, 11, 28, 12, 0, 0, 123456, tzinfo=UTC)),
])
def test_rfc3339_times(text, moment):
    assert parse_rfc3339(text) == moment and parse_rfc3339(text).utcoffset() is not None


@pytest.mark.parametrize("text", [
    "2026-11-28T12:00:00", "20261128T120000Z", "2026-11-28 12:00:00Z", "2026-13-01T00:00:00Z",
    "2026-11-28T12:00:60Z", "2026-11-28T12:00:00+24:00", "yesterday", "", None, 5,
])
def test_anything_else_is_none(text):
    assert parse_rfc3339(text) is None


def test_offsets_are_kept():
    assert parse_rfc3339("2026-11-28T12:00:00-05:00").utcoffset() == timedelta(hours=-5)
