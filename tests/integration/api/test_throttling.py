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
from web.throttling import Breaker, UserRateThrottle, WindowCounts, redis_client

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


def _throttle(port: int, rate: str = "2/minute", clock=time.time) -> UserRateThrottle:
    """A throttle as one web process has it: its own tallies, the test's Redis."""
    client = redis_client(f"redis://127.0.0.1:{port}/0", timeout=0.1)
    with _rate(rate):
        return UserRateThrottle(breaker=Breaker(lambda: client), clock=clock, counts=WindowCounts())


def _request(name: str = "alice"):
    return SimpleNamespace(user=SimpleNamespace(is_authenticated=True, get_username=lambda: name))


def test_the_throttle_counts_in_redis(own_redis) -> None:
    _, port = own_redis
    throttle = _throttle(port)

    allowed = [throttle.allow_request(_request(), None) for _ in range(3)]

    assert allowed == [True, True, False]
    assert 1 <= throttle.wait() <= 60


def _counted_in_redis(port: int) -> int:
    client = redis_client(f"redis://127.0.0.1:{port}/0", timeout=0.1)
    return sum(int(client.get(key)) for key in client.scan_iter("remit:throttle:*"))


def test_far_from_the_limit_a_process_reports_its_count_in_batches(own_redis) -> None:
    _, port = own_redis
    throttle = _throttle(port, rate="1000/minute", clock=lambda: 120.0)  # a batch is 20

    first = [throttle.allow_request(_request(), None) for _ in range(19)]
    before_the_batch = _counted_in_redis(port)
    twentieth = throttle.allow_request(_request(), None)

    assert all(first)
    assert twentieth
    assert before_the_batch == 0, "nothing is sent before a batch is full"
    assert _counted_in_redis(port) == 20


def test_processes_counting_in_batches_never_refuse_below_the_rate_nor_pass_it_by_a_batch_each(
    own_redis,
) -> None:
    _, port = own_redis
    processes = [_throttle(port, rate="100/minute", clock=lambda: 120.0) for _ in range(3)]  # batch 2
    answers = [processes[n % 3].allow_request(_request(), None) for n in range(200)]

    admitted = sum(answers)
    first_refusal = answers.index(False)
    assert first_refusal >= 100, "no request within the rate is refused"
    assert 100 <= admitted < 100 + 3 * 2, "past the rate by less than a batch per process"
    assert not any(answers[first_refusal + len(processes) * 2 :]), "then every request is refused"


def _timed(throttle: UserRateThrottle, times: int | None = None):
    """One answer (or `times` answers) of the throttle, and how long it took to give them."""
    started = time.monotonic()
    answers = [throttle.allow_request(_request(), None) for _ in range(times or 1)]
    return (answers if times else answers[0]), time.monotonic() - started


def test_with_redis_stopped_requests_are_let_through_without_delay(own_redis) -> None:
    server, port = own_redis
    throttle = _throttle(port, rate="1/minute")
    server.terminate()
    server.wait(10)

    (first, first_took), (allowed, elapsed) = _timed(throttle), _timed(throttle, times=50)

    assert first
    assert all(allowed)
    assert first_took < 0.5, "one refused connection, no retries"
    assert elapsed < 0.1, "after one failed call the breaker answers without asking Redis"


def test_with_redis_frozen_requests_are_let_through_after_one_timeout(own_redis) -> None:
    server, port = own_redis
    throttle = _throttle(port, rate="1/minute")
    assert throttle.allow_request(_request(), None)
    os.kill(server.pid, signal.SIGSTOP)

    (first, first_took), (allowed, elapsed) = _timed(throttle), _timed(throttle, times=50)

    assert first
    assert all(allowed)
    assert first_took < 0.5, "one 100 ms timeout, no retries"
    assert elapsed < 0.1, "one timed-out call, then the breaker answers without asking Redis"
