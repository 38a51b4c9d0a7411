"""The daily limit at the API: used + pending + amount, and the figures an account shows."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config import bootstrap
from tests.integration.api.support import assert_error, bank_state
from transfers.domain.model import LimitFigures
from transfers.models import LimitUsage

pytestmark = pytest.mark.django_db


def test_a_withdrawal_over_the_daily_limit_is_refused(alice) -> None:
    account = alice.funded_account("KRW", "50000", daily_limit="10000")
    before = bank_state()

    response = alice.withdraw(account["id"], "10001")

    assert_error(response, 422, "daily_limit_exceeded")
    assert bank_state() == before


def test_a_withdrawal_reaching_exactly_the_daily_limit_is_accepted(alice) -> None:
    account = alice.funded_account("KRW", "50000", daily_limit="10000")

    response = alice.withdraw(account["id"], "10000")

    assert response.status_code == 202, response.content


def test_pending_withdrawals_count_toward_the_daily_limit(alice) -> None:
    account = alice.funded_account("KRW", "50000", daily_limit="10000")
    assert alice.withdraw(account["id"], "6000").status_code == 202
    before = bank_state()

    response = alice.withdraw(account["id"], "4001")

    assert_error(response, 422, "daily_limit_exceeded")
    assert bank_state() == before
    assert alice.withdraw(account["id"], "4000").status_code == 202


def test_completed_withdrawals_count_toward_the_daily_limit(alice, apply_pending) -> None:
    account = alice.funded_account("USD", "500", daily_limit="100")
    assert alice.withdraw(account["id"], "99.99").status_code == 202
    apply_pending()
    before = bank_state()

    response = alice.withdraw(account["id"], "0.02")

    assert_error(response, 422, "daily_limit_exceeded")
    assert bank_state() == before
    assert alice.withdraw(account["id"], "0.01").status_code == 202


def test_a_transfer_counts_toward_the_daily_limit(alice, bob) -> None:
    account = alice.funded_account("KRW", "50000", daily_limit="10000")
    target = bob.open_account("KRW")
    assert alice.transfer(account["id"], target["id"], "7000").status_code == 202
    before = bank_state()

    withdrawal = alice.withdraw(account["id"], "3001")
    transfer = alice.transfer(account["id"], target["id"], "3001")

    assert_error(withdrawal, 422, "daily_limit_exceeded")
    assert_error(transfer, 422, "daily_limit_exceeded")
    assert bank_state() == before


def test_a_transfer_over_the_daily_limit_is_refused(alice, bob) -> None:
    account = alice.funded_account("EUR", "50000")
    target = bob.open_account("EUR")
    before = bank_state()

    response = alice.transfer(account["id"], target["id"], "5000.01")

    assert_error(response, 422, "daily_limit_exceeded")
    assert bank_state() == before


def test_deposits_are_accepted_whatever_the_daily_limit(alice) -> None:
    account = alice.funded_account("KRW", "50000", daily_limit="10000")
    assert alice.withdraw(account["id"], "10000").status_code == 202

    response = alice.deposit(account["id"], "20000")

    assert response.status_code == 202, response.content
    assert alice.account(account["id"])["pending_today"] == "10000"


def test_money_received_does_not_use_the_receivers_daily_limit(alice, bob, apply_pending) -> None:
    source = alice.funded_account("KRW", "50000")
    target = bob.open_account("KRW", daily_limit="1000")
    assert alice.transfer(source["id"], target["id"], "30000").status_code == 202
    apply_pending()

    received = bob.account(target["id"])

    assert received["balance"] == "30000"
    assert received["used_today"] == "0"
    assert received["remaining_today"] == "1000"
    assert bob.withdraw(target["id"], "1000").status_code == 202


def test_account_figures_show_pending_then_used_outgoing_money(alice, bob, apply_pending) -> None:
    account = alice.funded_account("KRW", "50000", daily_limit="10000")
    target = bob.open_account("KRW")
    alice.withdraw(account["id"], "3000")
    alice.transfer(account["id"], target["id"], "2000")
    alice.deposit(account["id"], "7000")

    pending = alice.account(account["id"])
    apply_pending()
    applied = alice.account(account["id"])

    assert {k: pending[k] for k in _FIGURES} == {
        "balance": "50000",
        "available_balance": "45000",
        "used_today": "0",
        "pending_today": "5000",
        "remaining_today": "5000",
        "daily_limit": "10000",
    }
    assert {k: applied[k] for k in _FIGURES} == {
        "balance": "52000",
        "available_balance": "52000",
        "used_today": "5000",
        "pending_today": "0",
        "remaining_today": "5000",
        "daily_limit": "10000",
    }


def test_a_withdrawal_the_worker_rejects_frees_its_share_of_the_limit(alice, apply_pending) -> None:
    account = alice.open_account("USD", daily_limit="100")
    event = alice.withdraw(account["id"], "80").json()
    during = alice.account(account["id"])

    apply_pending()

    after = alice.account(account["id"])
    assert alice.get(f"/api/v1/events/{event['event_id']}").json()["reason"] == "insufficient_funds"
    assert (during["pending_today"], during["remaining_today"]) == ("80.00", "20.00")
    assert (after["pending_today"], after["used_today"], after["remaining_today"]) == (
        "0.00",
        "0.00",
        "100.00",
    )


def test_available_balance_is_balance_minus_pending_outgoing_money_even_below_zero(alice) -> None:
    account = alice.open_account("KRW", daily_limit="10000")
    # The API does not check the balance: only the worker decides insufficient_funds.
    assert alice.withdraw(account["id"], "10000").status_code == 202

    figures = alice.account(account["id"])

    assert figures["remaining_today"] == "0"
    assert figures["available_balance"] == "-10000"


def test_a_limit_cache_that_shows_the_limit_used_up_does_not_refuse(alice) -> None:
    account = alice.funded_account("KRW", "50000", daily_limit="10000")
    _cache_figures(account["id"], used=10000)

    response = alice.withdraw(account["id"], "10000")

    assert response.status_code == 202, response.content


def test_a_limit_cache_that_shows_nothing_used_does_not_admit(alice) -> None:
    account = alice.funded_account("KRW", "50000", daily_limit="10000")
    assert alice.withdraw(account["id"], "10000").status_code == 202
    _cache_figures(account["id"], used=0)
    before = bank_state()

    response = alice.withdraw(account["id"], "1")

    assert_error(response, 422, "daily_limit_exceeded")
    assert bank_state() == before


def test_an_account_read_takes_its_limit_figures_from_the_cache_once_they_are_there(alice) -> None:
    account = alice.funded_account("KRW", "50000", daily_limit="10000")
    assert alice.withdraw(account["id"], "3000").status_code == 202

    with CaptureQueriesContext(connection) as cold:
        first = alice.account(account["id"])
    with CaptureQueriesContext(connection) as warm:
        second = alice.account(account["id"])

    assert _usage_queries(cold) == 1
    assert _usage_queries(warm) == 0
    assert first == second
    assert (second["pending_today"], second["remaining_today"]) == ("3000", "7000")


def test_cached_figures_are_forgotten_when_a_withdrawal_is_accepted(alice) -> None:
    account = alice.funded_account("KRW", "50000", daily_limit="10000")
    _cache_figures(account["id"], used=9999)
    assert alice.account(account["id"])["remaining_today"] == "1"  # served from the cache

    assert alice.withdraw(account["id"], "2000").status_code == 202

    assert alice.account(account["id"])["remaining_today"] == "8000"


def _usage_queries(captured: CaptureQueriesContext) -> int:
    return sum(LimitUsage._meta.db_table in query["sql"] for query in captured.captured_queries)


def _cache_figures(account_id: str, *, used: int) -> None:
    clock = bootstrap.clock()
    figures = LimitFigures(clock.business_date(clock.now()), used=used)
    bootstrap.limit_cache().put({uuid.UUID(account_id): figures})


_FIGURES = ("balance", "available_balance", "used_today", "pending_today", "remaining_today", "daily_limit")
