"""The composition root: builds each adapter once, on first use, and hands it to the core."""

from __future__ import annotations

import datetime as dt
from functools import cache

from django.conf import settings

from transfers.adapters.acceptance_store import DjangoAcceptanceStore
from transfers.adapters.backlog import DjangoBacklog
from transfers.adapters.clock import SystemClock
from transfers.adapters.ledger_store import DjangoLedgerStore
from transfers.adapters.limit_cache import RedisLimitCache


@cache
def acceptance_store() -> DjangoAcceptanceStore:
    return DjangoAcceptanceStore()


@cache
def ledger_store() -> DjangoLedgerStore:
    return DjangoLedgerStore()


@cache
def limit_cache() -> RedisLimitCache:
    return RedisLimitCache()


@cache
def clock() -> SystemClock:
    return SystemClock(settings.TIME_ZONE)


@cache
def backlog() -> DjangoBacklog:
    return DjangoBacklog()


def max_accept_lag() -> dt.timedelta:
    return dt.timedelta(seconds=settings.ACCEPT_MAX_LAG_SECONDS)
