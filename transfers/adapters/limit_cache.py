"""Account reads' limit figures cached in Redis (django-redis); any failure is a miss, never an error."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from django_redis import get_redis_connection
from redis.exceptions import RedisError

from telemetry import metrics
from transfers.domain.model import LimitFigures

log = logging.getLogger(__name__)
T = TypeVar("T")


class RedisLimitCache:
    """Cache-aside copy of the limit figures account reads show; PostgreSQL stays the truth.

    Filled by reads, forgotten by whatever changes the figures (an accepted outgoing movement, an
    applied batch), so a hit costs PostgreSQL nothing. An entry lives `ttl_seconds` (15) from the
    moment its figures were read: the longest a figure can be wrong, should a read fill it with
    what it read just before a change forgot it, or a forget fail (or a paused Redis run the SET
    late). After a failure (Redis down, or paused so calls time out) the
    cache is bypassed for `cooldown` seconds, so a sick Redis costs one short timeout, not one per
    request; reads then go to PostgreSQL.
    """

    def __init__(self, *, alias: str = "default", ttl_seconds: int = 15, cooldown: float = 5.0) -> None:
        self._alias = alias
        self._ttl = ttl_seconds
        self._cooldown = cooldown
        self._down_until = 0.0
        self._lock = threading.Lock()

    @staticmethod
    def key(account_id: uuid.UUID) -> str:
        return f"remit:limit:{account_id}"

    def get(self, account_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, LimitFigures]:
        if not account_ids:
            return {}
        raw = self._call(lambda redis: redis.mget([self.key(i) for i in account_ids])) or []
        found = {}
        for account_id, value in zip(account_ids, raw, strict=False):
            if value is not None:
                day, used, pending, pending_out = value.decode().split(":")
                found[account_id] = LimitFigures(
                    dt.date.fromisoformat(day), int(used), int(pending), int(pending_out)
                )
        return found

    def put(self, figures: dict[uuid.UUID, LimitFigures], *, read_at: dt.datetime | None = None) -> None:
        if not figures:
            return
        # An absolute expiry, counted from the read: a SET that waited in a paused Redis (or a slow
        # read) cannot keep an old figure past it; one already past it expires at once.
        expires_ms = int(((read_at or dt.datetime.now(dt.UTC)).timestamp() + self._ttl) * 1000)

        def write(redis):
            pipe = redis.pipeline(transaction=False)
            for account_id, f in figures.items():
                value = f"{f.business_date.isoformat()}:{f.used}:{f.pending}:{f.pending_out}"
                pipe.set(self.key(account_id), value, pxat=expires_ms)
            pipe.execute()

        self._call(write)

    def forget(self, account_ids: Iterable[uuid.UUID]) -> None:
        names = [self.key(i) for i in account_ids]
        if names:
            self._call(lambda redis: redis.delete(*names))

    def is_available(self) -> bool:
        return self._call(lambda redis: redis.ping(), respect_cooldown=False) is True

    def _call(self, operation: Callable[..., T], *, respect_cooldown: bool = True) -> T | None:
        if respect_cooldown and time.monotonic() < self._down_until:
            return None
        try:
            result = operation(get_redis_connection(self._alias))
        except (RedisError, OSError) as exc:
            metrics.limit_cache_failures.inc()
            with self._lock:
                if time.monotonic() >= self._down_until:
                    log.warning("limit cache unavailable, using PostgreSQL for %ss: %s", self._cooldown, exc)
                self._down_until = time.monotonic() + self._cooldown
                # A time, not a flag: it ends by itself in a process that does not ask Redis again.
                metrics.limit_cache_bypassed_until.set(time.time() + self._cooldown)
            return None
        return result
