"""Per-user request throttling (429 `throttled` with Retry-After), counted in Redis.

A fixed window per user, counted in Redis with INCRBY (and an EXPIRE on the window's first count)
in one round trip. Each process reports its count in batches rather than per request: a user's
requests are counted here and sent to Redis once `batch` of them are waiting, or at once when what
this process knows comes within a batch of the limit. So a user is never refused below the rate,
and may pass it by less than one batch per web process (a batch is 1/50 of the rate, 1 for rates
under 100 per window). A round trip per request cost 12 to 22% of the API's accept rate
(bench/, 2 cores). Redis only counts: when it is down or frozen, requests are let through (fail
open), and after a failure Redis is not asked again for `cooldown` seconds, so a sick Redis costs
one short timeout (the cache's 100 ms socket timeout), not one per request.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

log = logging.getLogger(__name__)
T = TypeVar("T")


class Breaker:
    """Calls Redis unless it failed less than `cooldown` seconds ago; a failure answers None."""

    def __init__(self, connect: Callable[[], object], cooldown: float = 5.0) -> None:
        self._connect = connect
        self._cooldown = cooldown
        self._down_until = 0.0
        self._lock = threading.Lock()

    def call(self, operation: Callable[..., T]) -> T | None:
        if time.monotonic() < self._down_until:
            return None
        try:
            return operation(self._connect())
        except (RedisError, OSError) as exc:
            with self._lock:
                if time.monotonic() >= self._down_until:
                    log.warning(
                        "throttling unavailable, letting requests through for %ss: %s", self._cooldown, exc
                    )
                self._down_until = time.monotonic() + self._cooldown
            return None


def redis_client(url: str, timeout: float) -> redis.Redis:
    """A client that gives up after one timeout: redis-py's default retries would turn a dead
    Redis into seconds per call (measured: 3.6 s stopped, 5.5 s frozen, at 100 ms timeouts)."""
    return redis.Redis.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0)
    )


_client: redis.Redis | None = None


def _shared_client() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis_client(settings.REDIS_URL, settings.LIMIT_CACHE_SOCKET_TIMEOUT)
    return _client


_REDIS = Breaker(_shared_client)
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """`"600/minute"` -> (600, 60)."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip()[:1]]


class _Tally:
    """This process's count of one user's requests in one window: what Redis last said the whole
    count was, and the requests counted here since."""

    __slots__ = ("known", "unreported")

    def __init__(self) -> None:
        self.known = 0
        self.unreported = 0


class WindowCounts:
    """The tallies of the current window, per user, shared by this process's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window = -1
        self._tallies: dict[str, _Tally] = {}

    def count(self, user: str, window: int, *, batch: int, limit: int) -> int | None:
        """Count one request; the number of requests this process must report now, or None."""
        with self._lock:
            if window != self._window:  # a new window: the old one's tallies are of no more use
                self._window, self._tallies = window, {}
            tally = self._tallies.get(user)
            if tally is None:
                tally = self._tallies[user] = _Tally()
            tally.unreported += 1
            if tally.unreported < batch and tally.known + tally.unreported <= limit - batch:
                return None
            unreported, tally.unreported = tally.unreported, 0
            return unreported

    def reported(self, user: str, window: int, total: int) -> None:
        with self._lock:
            tally = self._tallies.get(user) if window == self._window else None
            if tally is not None:
                tally.known = max(tally.known, total)


_COUNTS = WindowCounts()


class UserRateThrottle(BaseThrottle):
    """Each user's requests per window, at the rate `DEFAULT_THROTTLE_RATES[scope]`."""

    scope = "user"

    def __init__(
        self,
        breaker: Breaker = _REDIS,
        clock: Callable[[], float] = time.time,
        counts: WindowCounts = _COUNTS,
    ) -> None:
        self.limit, self.period = parse_rate(api_settings.DEFAULT_THROTTLE_RATES[self.scope])
        self.batch = max(1, self.limit // 50)
        self._breaker = breaker
        self._clock = clock
        self._counts = counts
        self._wait = 0

    def allow_request(self, request, view) -> bool:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return True  # refused as unauthenticated anyway
        now = self._clock()
        window = int(now // self.period)
        name = user.get_username()
        report = self._counts.count(name, window, batch=self.batch, limit=self.limit)
        if report is None:
            return True  # far enough from the limit: counted here, reported with a later request
        key = f"remit:throttle:{self.scope}:{name}:{window}"

        def count(redis) -> int:
            pipe = redis.pipeline(transaction=False)
            pipe.incrby(key, report)
            pipe.expire(key, self.period, nx=True)
            return pipe.execute()[0]

        seen = self._breaker.call(count)
        if seen is None:
            return True
        self._counts.reported(name, window, seen)
        if seen <= self.limit:
            return True
        self._wait = max(1, math.ceil((window + 1) * self.period - now))
        return False

    def wait(self) -> int:
        return self._wait
