"""The system clock, with days counted in the bank's time zone."""

from __future__ import annotations

import datetime as dt
import zoneinfo


class SystemClock:
    def __init__(self, time_zone: str) -> None:
        self._zone = zoneinfo.ZoneInfo(time_zone)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def business_date(self, moment: dt.datetime) -> dt.date:
        return moment.astimezone(self._zone).date()
