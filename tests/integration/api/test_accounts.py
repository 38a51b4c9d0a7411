"""Opening, listing and reading accounts: defaults, daily-limit bounds and the account's fields."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from accounts.models import Account
from tests.integration.api.support import ACCOUNT_FIELDS, assert_error

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("currency", "default_limit", "zero"),
    [("KRW", "5000000", "0"), ("JPY", "500000", "0"), ("USD", "5000.00", "0.00"), ("EUR", "5000.00", "0.00")],
)
def test_a_new_account_has_the_currency_default_limit_and_nothing_in_it(
    alice, currency, default_limit, zero
) -> None:
    response = alice.post("/api/v1/accounts", {"currency": currency})

    assert response.status_code == 201, response.content
    account = response.json()
    assert set(account) == ACCOUNT_FIELDS
    assert uuid.UUID(account["id"])
    assert account["currency"] == currency
    assert account["daily_limit"] == default_limit
    assert account["remaining_today"] == default_limit
    assert account["balance"] == account["available_balance"] == zero
    assert account["used_today"] == account["pending_today"] == zero
    assert account["status"] == "active"
    assert dt.datetime.fromisoformat(account["created_at"]).utcoffset() is not None


def test_a_new_account_reads_back_the_same_at_its_url(alice) -> None:
    created = alice.open_account("EUR")

    response = alice.get(f"/api/v1/accounts/{created['id']}")

    assert response.status_code == 200
    assert response.json() == created


@pytest.mark.parametrize(
    ("currency", "daily_limit", "written"),
    [
        ("USD", "0.01", "0.01"),
        ("KRW", "1", "1"),
        ("USD", "12.5", "12.50"),
        ("KRW", "500000000", "500000000"),
        ("JPY", "50000000", "50000000"),
        ("USD", "500000.00", "500000.00"),
        ("EUR", "500000", "500000.00"),
    ],
)
def test_a_daily_limit_from_one_minor_unit_to_100_times_the_default_is_accepted(
    alice, currency, daily_limit, written
) -> None:
    response = alice.post("/api/v1/accounts", {"currency": currency, "daily_limit": daily_limit})

    assert response.status_code == 201, response.content
    assert response.json()["daily_limit"] == written
    assert response.json()["remaining_today"] == written


@pytest.mark.parametrize(
    ("currency", "daily_limit"),
    [
        pytest.param("KRW", "0", id="zero"),
        pytest.param("USD", "0.00", id="zero-usd"),
        pytest.param("USD", "0.001", id="below-one-minor-unit"),
        pytest.param("KRW", "0.5", id="fraction-of-a-won"),
        pytest.param("KRW", "500000001", id="krw-over-100x-default"),
        pytest.param("JPY", "50000001", id="jpy-over-100x-default"),
        pytest.param("USD", "500000.01", id="usd-over-100x-default"),
        pytest.param("EUR", "1000000000000001", id="over-10^15"),
        pytest.param("KRW", 1000, id="json-number"),
        pytest.param("KRW", "-1000", id="negative"),
        pytest.param("KRW", " 1000", id="space"),
        pytest.param("KRW", "1e3", id="exponent"),
        pytest.param("KRW", None, id="null"),
    ],
)
def test_a_daily_limit_outside_the_allowed_range_is_refused(alice, currency, daily_limit) -> None:
    before = Account.objects.count()

    response = alice.post("/api/v1/accounts", {"currency": currency, "daily_limit": daily_limit})

    assert_error(response, 400, "validation_error", fields={"daily_limit"})
    assert Account.objects.count() == before


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"currency": "GBP"}, id="unknown-currency"),
        pytest.param({"currency": "krw"}, id="lower-case"),
        pytest.param({"currency": ""}, id="empty"),
        pytest.param({"currency": None}, id="null"),
        pytest.param({"currency": 410}, id="number"),
        pytest.param({}, id="missing"),
    ],
)
def test_an_account_in_an_unknown_currency_is_refused(alice, body) -> None:
    before = Account.objects.count()

    response = alice.post("/api/v1/accounts", body)

    assert_error(response, 400, "validation_error", fields={"currency"})
    assert Account.objects.count() == before


def test_the_account_list_holds_only_the_callers_own_accounts(alice, bob) -> None:
    own = [alice.open_account("KRW"), alice.open_account("USD")]
    bob.open_account("KRW")

    response = alice.get("/api/v1/accounts")

    assert response.status_code == 200
    page = response.json()
    assert set(page) == {"count", "next", "previous", "results"}
    assert page["count"] == 2
    assert page["next"] is None
    assert page["previous"] is None
    assert {a["id"] for a in page["results"]} == {a["id"] for a in own}
    assert all(set(a) == ACCOUNT_FIELDS for a in page["results"])


def test_the_account_list_is_paginated(alice) -> None:
    opened = [alice.open_account("KRW")["id"] for _ in range(3)]

    first = alice.get("/api/v1/accounts", page_size=2).json()
    second = alice.client.get(first["next"]).json()

    assert first["count"] == 3
    assert len(first["results"]) == 2
    assert first["previous"] is None
    assert len(second["results"]) == 1
    assert second["next"] is None
    assert second["previous"] is not None
    assert {a["id"] for a in first["results"] + second["results"]} == set(opened)


def test_an_unknown_account_is_not_found(alice) -> None:
    response = alice.get(f"/api/v1/accounts/{uuid.uuid4()}")

    assert_error(response, 404, "not_found")
