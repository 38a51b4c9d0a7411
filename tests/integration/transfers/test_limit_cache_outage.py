"""The limit cache against a Redis that is stopped or frozen: the first call costs at most one short
timeout (redis-py's default retries would make it seconds), and the calls after it none."""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
import uuid

import pytest
from django.test import override_settings

from transfers.adapters.limit_cache import RedisLimitCache
from transfers.domain.model import LimitFigures


@pytest.fixture
def cache(own_redis, settings):
    _, port = own_redis
    caches = {"default": {**settings.CACHES["default"], "LOCATION": f"redis://127.0.0.1:{port}/0"}}
    with override_settings(CACHES=caches):
        cache = RedisLimitCache()
        account_id, figures = uuid.uuid4(), LimitFigures(dt.date(2026, 11, 29), used=1, pending=2)
        cache.put({account_id: figures})
        assert cache.get([account_id]) == {account_id: figures}
        yield cache, account_id


def _timed(call) -> tuple[object, float]:
    started = time.monotonic()
    return call(), time.monotonic() - started


@pytest.mark.parametrize("outage", ["stopped", "frozen"])
def test_a_dead_or_frozen_redis_costs_one_short_timeout_then_nothing(own_redis, cache, outage) -> None:
    server, _ = own_redis
    cache, account_id = cache
    if outage == "stopped":
        server.terminate()
        server.wait(10)
    else:
        os.kill(server.pid, signal.SIGSTOP)

    first, first_took = _timed(lambda: cache.get([account_id]))
    after, after_took = _timed(lambda: [cache.get([account_id]) for _ in range(50)])

    assert first == {}
    assert after == [{}] * 50
    assert first_took < 0.5, "one 100 ms socket timeout at most, no retries"
    assert after_took < 0.1, "the cache is bypassed after a failure"
