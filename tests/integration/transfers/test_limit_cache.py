"""The limit figures cache against the real Redis: how long a figure can be wrong, and a Redis that
fails and comes back (the bypass shows in the metrics)."""

from __future__ import annotations

import datetime as dt
import time
import uuid

from django_redis import get_redis_connection
from prometheus_client import REGISTRY

from transfers.adapters.limit_cache import RedisLimitCache
from transfers.domain.model import LimitFigures


def test_every_cached_figure_expires_within_the_stated_fifteen_seconds() -> None:
    cache, account_id = RedisLimitCache(), uuid.uuid4()

    cache.put({account_id: LimitFigures(dt.date(2026, 11, 29), used=1, pending=2, pending_out=3)})

    assert cache.get([account_id]) == {account_id: LimitFigures(dt.date(2026, 11, 29), 1, 2, 3)}
    assert 0 < get_redis_connection("default").ttl(RedisLimitCache.key(account_id)) <= 15


def test_a_figure_read_longer_ago_than_its_lifetime_is_not_kept() -> None:
    cache, account_id = RedisLimitCache(), uuid.uuid4()
    read_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=16)  # a put that waited in a paused Redis

    cache.put({account_id: LimitFigures(dt.date(2026, 11, 29), used=1)}, read_at=read_at)

    assert cache.get([account_id]) == {}


def test_a_forgotten_figure_is_gone_and_others_stay() -> None:
    cache, forgotten, kept = RedisLimitCache(), uuid.uuid4(), uuid.uuid4()
    figures = LimitFigures(dt.date(2026, 11, 29), used=5)
    cache.put({forgotten: figures, kept: figures})

    cache.forget([forgotten])

    assert cache.get([forgotten, kept]) == {kept: figures}


def _flaky_cache_at(settings, location: str) -> None:
    settings.CACHES = {**settings.CACHES, "flaky": {**settings.CACHES["default"], "LOCATION": location}}


def test_a_redis_failure_shows_as_a_bypass_that_ends_by_itself(settings):
    cache = RedisLimitCache(alias="flaky", cooldown=0.5)
    account_id = uuid.uuid4()
    failures = REGISTRY.get_sample_value("remit_limit_cache_failures_total") or 0

    _flaky_cache_at(settings, "redis://127.0.0.1:1/1")  # nothing listens on port 1
    missed = cache.get([account_id])
    bypassed_until = REGISTRY.get_sample_value("remit_limit_cache_bypassed_until_seconds")
    bypassing = cache.get([account_id])  # within the cooldown: Redis is not asked
    _flaky_cache_at(settings, settings.CACHES["default"]["LOCATION"])
    time.sleep(0.6)
    answered = cache.get([account_id])

    assert missed == bypassing == {}
    assert answered == {}  # a miss, answered by Redis this time
    assert REGISTRY.get_sample_value("remit_limit_cache_failures_total") == failures + 1
    assert time.time() - 0.6 < bypassed_until < time.time()
