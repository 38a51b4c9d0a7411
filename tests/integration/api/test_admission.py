"""Admission control through the API: 429 `overloaded` with Retry-After while the worker is behind."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY
from rest_framework.response import Response

from config import bootstrap
from tests.integration.api.support import assert_error, bank_state
from transfers.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _backlog_read_afresh_afterwards():
    """The API keeps the backlog's oldest event for up to a second: the next test (test_amounts
    ran within that second) must not be refused overloaded for the hour-old event planted here."""
    yield
    bootstrap.backlog()._read_at = None


def _first(send: Callable[[], Response], status: int, within: float = 3) -> Response:
    """Send until the answer has this status: the API sees the backlog as it was up to a second ago."""
    deadline = time.monotonic() + within
    while (response := send()).status_code != status and time.monotonic() < deadline:
        time.sleep(0.05)
    return response


def test_movements_are_refused_overloaded_while_an_event_waits_past_the_bound_and_reads_answer(
    alice, bob, apply_pending
) -> None:
    account, other = alice.funded_account("KRW", "5000"), bob.open_account("KRW")
    waiting = alice.deposit(account["id"], "100").json()["event_id"]
    Event.objects.filter(event_id=waiting).update(created_at=timezone.now() - dt.timedelta(hours=1))

    refused = _first(lambda: alice.deposit(account["id"], "100"), 429)
    before = bank_state()
    also_refused = [alice.withdraw(account["id"], "100"), alice.transfer(account["id"], other["id"], "100")]

    for response in (refused, *also_refused):
        assert_error(response, 429, "overloaded")
        assert response.headers["Retry-After"] == "30"  # an hour past the bound: the bound itself
    assert bank_state() == before
    assert alice.get(f"/api/v1/accounts/{account['id']}").status_code == 200
    assert alice.get(f"/api/v1/events/{waiting}").json()["status"] == "pending"

    apply_pending()

    assert _first(lambda: alice.deposit(account["id"], "100"), 202).status_code == 202


def test_admission_control_shows_its_state_and_refusals_in_the_metrics(alice) -> None:
    account = alice.funded_account("KRW", "5000")
    waiting = alice.deposit(account["id"], "100").json()["event_id"]
    Event.objects.filter(event_id=waiting).update(created_at=timezone.now() - dt.timedelta(hours=1))
    refusals = REGISTRY.get_sample_value("remit_admission_refusals_total") or 0

    _first(lambda: alice.deposit(account["id"], "100"), 429)
    alice.withdraw(account["id"], "100")

    assert REGISTRY.get_sample_value("remit_admission_refusals_total") - refusals >= 2
    assert REGISTRY.get_sample_value("remit_admission_oldest_pending_age_seconds") >= 3600
    assert REGISTRY.get_sample_value("remit_admission_max_lag_seconds") == 30
