"""The limit figures cache against the real Redis: how long a figure can be wrong."""

from __future__ import annotations

import datetime as dt
import uuid

from django_redis import get_redis_connection

from transfers.adapters.limit_cache import RedisLimitCache
from transfers.domain.model import LimitFigures


def test_every_cached_figure_expires_within_the_stated_fifteen_seconds() -> None:
    cache, account_id = RedisLimitCache(), uuid.uuid4()

    cache.put({account_id: LimitFigures(dt.date(2026, 11, 29), used=1, pending=2, pending_out=3)})

    assert cache.get([account_id]) == {account_id: LimitFigures(dt.date(2026, 11, 29), 1, 2, 3)}
    assert 0 < get_redis_connection("default").ttl(RedisLimitCache.key(account_id)) <= 15


def test_a_forgotten_figure_is_gone_and_others_stay() -> None:
    cache, forgotten, kept = RedisLimitCache(), uuid.uuid4(), uuid.uuid4()
    figures = LimitFigures(dt.date(2026, 11, 29), used=5)
    cache.put({forgotten: figures, kept: figures})

    cache.forget([forgotten])

    assert cache.get([forgotten, kept]) == {kept: figures}
