"""A day of the daily limit starts and ends in the bank's time zone."""

from __future__ import annotations

import datetime as dt

from transfers.adapters.clock import SystemClock


def test_a_moment_belongs_to_the_day_of_the_configured_time_zone():
    late_utc_evening = dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC)

    assert SystemClock("Asia/Seoul").business_date(late_utc_evening) == dt.date(2026, 11, 25)
    assert SystemClock("UTC").business_date(late_utc_evening) == dt.date(2026, 11, 24)
    assert SystemClock("America/New_York").business_date(late_utc_evening) == dt.date(2026, 11, 24)
