"""Money at the API: amounts travel as strict strings, are written with the currency's digits."""

from __future__ import annotations

import pytest

from tests.integration.api.support import assert_error, bank_state

pytestmark = pytest.mark.django_db

MALFORMED_AMOUNTS = [
    pytest.param(15000, id="json-number"),
    pytest.param(12.5, id="json-float"),
    pytest.param(True, id="json-boolean"),
    pytest.param(["5"], id="json-list"),
    pytest.param("-5", id="negative"),
    pytest.param("+5", id="plus-sign"),
    pytest.param(" 5", id="leading-space"),
    pytest.param("5 ", id="trailing-space"),
    pytest.param("1e3", id="exponent"),
    pytest.param(".5", id="no-integer-part"),
    pytest.param("5.", id="no-fraction-digits"),
    pytest.param("007", id="leading-zeros"),
    pytest.param("NaN", id="nan"),
    pytest.param("Infinity", id="infinity"),
    pytest.param("1,000", id="thousands-separator"),
    pytest.param("", id="empty"),
    pytest.param("0", id="zero"),
    pytest.param("0.00", id="zero-with-fraction"),
    pytest.param("1000000000000001", id="over-10^15-major-units"),
    pytest.param("10000000000000000", id="seventeen-digits"),
]


def _movement(kind: str, who, account: dict, other: dict, amount: object):
    if kind == "deposit":
        return who.deposit(account["id"], amount)
    if kind == "withdrawal":
        return who.withdraw(account["id"], amount)
    return who.transfer(account["id"], other["id"], amount)


@pytest.mark.parametrize("kind", ["deposit", "withdrawal", "transfer"])
@pytest.mark.parametrize("amount", MALFORMED_AMOUNTS)
def test_a_malformed_amount_is_refused_and_changes_nothing(alice, kind: str, amount: object) -> None:
    account = alice.open_account("KRW")
    other = alice.open_account("KRW")
    before = bank_state()

    response = _movement(kind, alice, account, other, amount)

    assert_error(response, 400, "validation_error", fields={"amount"})
    assert bank_state() == before


@pytest.mark.parametrize(
    ("currency", "amount"),
    [
        ("KRW", "1.5"),
        ("KRW", "1.0"),
        ("JPY", "100.5"),
        ("USD", "1.234"),
        ("EUR", "0.001"),
        ("USD", "12.500"),
        ("USD", "1000000000000000.01"),
    ],
)
@pytest.mark.parametrize("kind", ["deposit", "withdrawal", "transfer"])
def test_an_amount_beyond_the_currency_digits_or_maximum_is_refused(
    alice, kind: str, currency: str, amount: str
) -> None:
    account = alice.open_account(currency)
    other = alice.open_account(currency)
    before = bank_state()

    response = _movement(kind, alice, account, other, amount)

    assert_error(response, 400, "validation_error", fields={"amount"})
    assert bank_state() == before


@pytest.mark.parametrize("kind", ["deposit", "withdrawal"])
def test_a_missing_amount_is_refused(alice, kind: str) -> None:
    account = alice.open_account("KRW")
    before = bank_state()

    response = alice.post(f"/api/v1/accounts/{account['id']}/{kind}s", {"reference": "no amount"})

    assert_error(response, 400, "validation_error", fields={"amount"})
    assert bank_state() == before


def test_a_transfer_without_amount_is_refused(alice) -> None:
    source, target = alice.open_account("KRW"), alice.open_account("KRW")
    before = bank_state()

    response = alice.post("/api/v1/transfers", {"from_account": source["id"], "to_account": target["id"]})

    assert_error(response, 400, "validation_error", fields={"amount"})
    assert bank_state() == before


@pytest.mark.parametrize("kind", ["deposit", "withdrawal", "transfer"])
def test_a_null_amount_is_refused(alice, kind: str) -> None:
    account, other = alice.open_account("KRW"), alice.open_account("KRW")
    before = bank_state()

    response = _movement(kind, alice, account, other, None)

    assert_error(response, 400, "validation_error", fields={"amount"})
    assert bank_state() == before


@pytest.mark.parametrize("spelling", ["12.5", "12.50"])
def test_a_usd_amount_is_accepted_in_either_spelling_and_written_with_two_digits(alice, spelling) -> None:
    account = alice.open_account("USD")

    response = alice.deposit(account["id"], spelling)

    assert response.status_code == 202, response.content
    assert response.json()["amount"] == "12.50"


def test_a_usd_amount_below_one_is_written_with_a_leading_zero(alice) -> None:
    account = alice.open_account("USD")

    response = alice.deposit(account["id"], "0.5")

    assert response.status_code == 202, response.content
    assert response.json()["amount"] == "0.50"


def test_a_krw_amount_is_written_without_fraction_digits(alice) -> None:
    account = alice.open_account("KRW")

    response = alice.deposit(account["id"], "15000")

    assert response.status_code == 202, response.content
    assert response.json()["amount"] == "15000"


def test_balances_and_entries_are_written_with_the_currency_digits(alice, apply_pending) -> None:
    usd = alice.open_account("USD")
    alice.deposit(usd["id"], "12.5")
    apply_pending()

    account = alice.account(usd["id"])
    entries = alice.get(f"/api/v1/accounts/{usd['id']}/entries").json()["results"]

    assert account["balance"] == "12.50"
    assert account["available_balance"] == "12.50"
    assert entries[0]["amount"] == "12.50"
    assert entries[0]["balance_after"] == "12.50"


def test_a_withdrawal_entry_is_written_as_a_negative_amount(alice, apply_pending) -> None:
    krw = alice.funded_account("KRW", "100000")
    response = alice.withdraw(krw["id"], "30000")
    assert response.status_code == 202, response.content

    apply_pending()

    entries = alice.get(f"/api/v1/accounts/{krw['id']}/entries").json()["results"]
    assert entries[0]["type"] == "withdrawal"
    assert entries[0]["amount"] == "-30000"
    assert entries[0]["balance_after"] == "70000"
    assert alice.account(krw["id"])["balance"] == "70000"


@pytest.mark.parametrize(
    ("currency", "amount"), [("KRW", "1000000000000000"), ("USD", "1000000000000000.00")]
)
def test_an_amount_of_exactly_10_to_the_15_major_units_is_accepted(alice, currency, amount) -> None:
    account = alice.open_account(currency)

    response = alice.deposit(account["id"], amount)

    assert response.status_code == 202, response.content
    assert response.json()["amount"] == amount


def test_a_deposit_that_would_push_a_balance_over_10_to_the_15_is_rejected_by_the_worker(
    alice, apply_pending
) -> None:
    account = alice.open_account("KRW")
    alice.deposit(account["id"], "1000000000000000")
    over = alice.deposit(account["id"], "1").json()

    apply_pending()

    event = alice.get(f"/api/v1/events/{over['event_id']}").json()
    assert event["status"] == "rejected"
    assert event["reason"] == "balance_limit_exceeded"
    assert alice.account(account["id"])["balance"] == "1000000000000000"
