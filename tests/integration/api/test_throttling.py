"""Throttling per user: 429 throttled with Retry-After past the rate; a dead or frozen Redis lets
requests through at once."""

from __future__ import annotations

import os
import signal
import time
from types import SimpleNamespace

import pytest
from django.test import override_settings
from rest_framework.settings import api_settings

from tests.integration.api.support import assert_error
from web.throttling import Breaker, UserRateThrottle, redis_client

pytestmark = pytest.mark.django_db


def _rate(rate: str):
    return override_settings(REST_FRAMEWORK={**_rest_framework(), "DEFAULT_THROTTLE_RATES": {"user": rate}})


def _rest_framework() -> dict:
    from django.conf import settings

    return settings.REST_FRAMEWORK


def test_a_user_past_the_rate_gets_429_throttled_with_retry_after(customer) -> None:
    alice, bob = customer("alice"), customer("bob")
    with _rate("3/minute"):
        assert api_settings.DEFAULT_THROTTLE_RATES["user"] == "3/minute"
        answers = [alice.get("/api/v1/accounts").status_code for _ in range(3)]
        refused = alice.get("/api/v1/accounts")
        other = bob.get("/api/v1/accounts")

    assert answers == [200, 200, 200]
    assert_error(refused, 429, "throttled")
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert other.status_code == 200


def _throttle(port: int, rate: str = "2/minute") -> UserRateThrottle:
    client = redis_client(f"redis://127.0.0.1:{port}/0", timeout=0.1)
    with _rate(rate):
        return UserRateThrottle(breaker=Breaker(lambda: client))


def _request(name: str = "alice"):
    return SimpleNamespace(user=SimpleNamespace(is_authenticated=True, get_username=lambda: name))


def test_the_throttle_counts_in_redis(own_redis) -> None:
    _, port = own_redis
    throttle = _throttle(port)

    allowed = [throttle.allow_request(_request(), None) for _ in range(3)]

    assert allowed == [True, True, False]
    assert 1 <= throttle.wait() <= 60


def test_with_redis_stopped_requests_are_let_through_without_delay(own_redis) -> None:
    server, port = own_redis
    throttle = _throttle(port, rate="1/minute")
    server.terminate()
    server.wait(10)

    before = time.monotonic()
    first = throttle.allow_request(_request(), None)
    first_took = time.monotonic() - before
    started = time.monotonic()
    allowed = [throttle.allow_request(_request(), None) for _ in range(50)]
    elapsed = time.monotonic() - started

    assert first
    assert all(allowed)
    assert first_took < 0.5, "one refused connection, no retries"
    assert elapsed < 0.1, "after one failed call the breaker answers without asking Redis"


def test_with_redis_frozen_requests_are_let_through_after_one_timeout(own_redis) -> None:
    server, port = own_redis
    throttle = _throttle(port, rate="1/minute")
    assert throttle.allow_request(_request(), None)
    os.kill(server.pid, signal.SIGSTOP)

    before = time.monotonic()
    first = throttle.allow_request(_request(), None)
    first_took = time.monotonic() - before
    started = time.monotonic()
    allowed = [throttle.allow_request(_request(), None) for _ in range(50)]
    elapsed = time.monotonic() - started

    assert first
    assert all(allowed)
    assert first_took < 0.5, "one 100 ms timeout, no retries"
    assert elapsed < 0.1, "one timed-out call, then the breaker answers without asking Redis"
