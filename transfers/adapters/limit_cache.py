"""Daily-limit usage cached in Redis (through django-redis); any failure is a miss, never an error."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

from django_redis import get_redis_connection
from redis.exceptions import RedisError

from transfers.domain.model import LimitUsage
from transfers.ports import LimitKey

log = logging.getLogger(__name__)
T = TypeVar("T")


class RedisLimitCache:
    """Cache-aside copy of LimitUsage rows; PostgreSQL stays the truth.

    After a failure (Redis down, or paused so calls time out) the cache is bypassed for
    `cooldown` seconds, so a sick Redis costs one short timeout, not one per request.
    """

    def __init__(self, *, alias: str = "default", ttl_seconds: int = 600, cooldown: float = 5.0) -> None:
        self._alias = alias
        self._ttl = ttl_seconds
        self._cooldown = cooldown
        self._down_until = 0.0
        self._lock = threading.Lock()

    @staticmethod
    def key(key: LimitKey) -> str:
        account_id, day = key
        return f"remit:limit:{account_id}:{day.isoformat()}"

    def get(self, key: LimitKey) -> LimitUsage | None:
        raw = self._call(lambda redis: redis.get(self.key(key)))
        if raw is None:
            return None
        used, _, pending = raw.decode().partition(":")
        return LimitUsage(used=int(used), pending=int(pending))

    def put(self, usages: dict[LimitKey, LimitUsage]) -> None:
        if not usages:
            return

        def write(redis):
            pipe = redis.pipeline(transaction=False)
            for key, usage in usages.items():
                pipe.set(self.key(key), f"{usage.used}:{usage.pending}", ex=self._ttl)
            pipe.execute()

        self._call(write)

    def forget(self, keys: Iterable[LimitKey]) -> None:
        names = [self.key(key) for key in keys]
        if names:
            self._call(lambda redis: redis.delete(*names))

    def is_available(self) -> bool:
        return self._call(lambda redis: redis.ping(), respect_cooldown=False) is True

    def _call(self, operation: Callable[..., T], *, respect_cooldown: bool = True) -> T | None:
        if respect_cooldown and time.monotonic() < self._down_until:
            return None
        try:
            return operation(get_redis_connection(self._alias))
        except (RedisError, OSError) as exc:
            with self._lock:
                if time.monotonic() >= self._down_until:
                    log.warning("limit cache unavailable, using PostgreSQL for %ss: %s", self._cooldown, exc)
                self._down_until = time.monotonic() + self._cooldown
            return None
