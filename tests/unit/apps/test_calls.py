"""How screens write timestamps (friendly_time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from twincore.apps.calls import friendly_time

NOW = datetime(2026, 12, 6, 19, 40, tzinfo=UTC)


def test_today_this_year_and_earlier_years() -> None:
    morning = datetime(2026, 12, 6, 8, 5, 3, 123456, tzinfo=UTC)
    assert friendly_time(morning, now=NOW) == "today 08:05"
    assert friendly_time(datetime(2026, 3, 1, 23, 59, tzinfo=UTC), now=NOW) == "1 Mar 23:59"
    assert friendly_time(datetime(2025, 12, 31, 0, 0, tzinfo=UTC), now=NOW) == "31 Dec 2025 00:00"


def test_iso_strings_naive_values_and_other_zones_are_utc() -> None:
    assert friendly_time("2026-12-06T19:32:07.123456", now=NOW) == "today 19:32"  # naive = UTC
    assert friendly_time("2026-12-06T19:32:07+00:00", now=NOW) == "today 19:32"
    plus_two = timezone(timedelta(hours=2))
    assert friendly_time(datetime(2026, 12, 7, 1, 0, tzinfo=plus_two), now=NOW) == "today 23:00"


def test_missing_values_read_as_a_dash() -> None:
    assert friendly_time(None) == "—"
    assert friendly_time("") == "—"
