"""Transfers at the API: two different accounts of one currency, from the caller's own account."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.api.support import assert_error, bank_state

pytestmark = pytest.mark.django_db


def test_a_transfer_to_the_same_account_is_refused(alice) -> None:
    account = alice.funded_account("KRW", "10000")
    before = bank_state()

    response = alice.transfer(account["id"], account["id"], "1000")

    assert_error(response, 400, "same_account")
    assert bank_state() == before


def test_a_transfer_between_currencies_is_refused(alice, bob) -> None:
    krw = alice.funded_account("KRW", "10000")
    usd = bob.open_account("USD")
    before = bank_state()

    response = alice.transfer(krw["id"], usd["id"], "1000")

    assert_error(response, 400, "currency_mismatch")
    assert bank_state() == before


def test_a_transfer_to_an_account_that_does_not_exist_is_not_found(alice) -> None:
    source = alice.funded_account("KRW", "10000")
    before = bank_state()

    response = alice.transfer(source["id"], str(uuid.uuid4()), "1000")

    assert_error(response, 404, "not_found")
    assert bank_state() == before


def test_a_transfer_from_someone_elses_account_is_not_found_for_a_customer(alice, bob) -> None:
    bobs = bob.funded_account("KRW", "10000")
    alices = alice.open_account("KRW")
    before = bank_state()

    response = alice.transfer(bobs["id"], alices["id"], "1000")

    assert_error(response, 404, "not_found")
    assert bank_state() == before


def test_a_transfer_from_someone_elses_account_is_forbidden_for_ops(ops, bob) -> None:
    bobs = bob.funded_account("KRW", "10000")
    own = ops.open_account("KRW")
    before = bank_state()

    response = ops.transfer(bobs["id"], own["id"], "1000")

    assert_error(response, 403, "forbidden")
    assert bank_state() == before


def test_a_transfer_from_an_account_that_does_not_exist_is_not_found(alice) -> None:
    target = alice.open_account("KRW")
    before = bank_state()

    response = alice.transfer(str(uuid.uuid4()), target["id"], "1000")

    assert_error(response, 404, "not_found")
    assert bank_state() == before


def test_a_memo_longer_than_140_characters_is_refused(alice, bob) -> None:
    source, target = alice.funded_account("KRW", "10000"), bob.open_account("KRW")
    before = bank_state()

    response = alice.transfer(source["id"], target["id"], "1000", memo="m" * 141)

    assert_error(response, 400, "validation_error", fields={"memo"})
    assert bank_state() == before


def test_a_memo_of_140_characters_is_accepted_and_kept(alice, bob) -> None:
    source, target = alice.funded_account("KRW", "10000"), bob.open_account("KRW")

    response = alice.transfer(source["id"], target["id"], "1000", memo="한" * 140)

    assert response.status_code == 202, response.content
    assert response.json()["memo"] == "한" * 140


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("from_account", "not-a-uuid", id="from-not-a-uuid"),
        pytest.param("to_account", "not-a-uuid", id="to-not-a-uuid"),
        pytest.param("from_account", None, id="from-null"),
        pytest.param("to_account", 42, id="to-json-number"),
        pytest.param("memo", 42, id="memo-json-number"),
    ],
)
def test_a_transfer_with_a_malformed_field_is_refused(alice, bob, field, value) -> None:
    source, target = alice.funded_account("KRW", "10000"), bob.open_account("KRW")
    body = {"from_account": source["id"], "to_account": target["id"], "amount": "1000", field: value}
    before = bank_state()

    response = alice.post("/api/v1/transfers", body)

    assert_error(response, 400, "validation_error", fields={field})
    assert bank_state() == before


def test_a_transfer_with_an_empty_body_names_every_missing_field(alice) -> None:
    before = bank_state()

    response = alice.post("/api/v1/transfers", {})

    assert_error(response, 400, "validation_error", fields={"from_account", "to_account", "amount"})
    assert bank_state() == before


def test_a_transfer_to_another_users_account_is_accepted_and_moves_the_money(
    alice, bob, apply_pending
) -> None:
    source, target = alice.funded_account("KRW", "10000"), bob.open_account("KRW")

    response = alice.transfer(source["id"], target["id"], "2500", memo="rent")
    apply_pending()

    assert response.status_code == 202, response.content
    event = response.json()
    assert event["type"] == "transfer"
    assert event["status"] == "pending"
    assert event["reason"] is None
    assert event["from_account"] == source["id"]
    assert event["to_account"] == target["id"]
    assert event["amount"] == "2500"
    assert alice.account(source["id"])["balance"] == "7500"
    assert bob.account(target["id"])["balance"] == "2500"
    sent = alice.get(f"/api/v1/accounts/{source['id']}/entries").json()["results"][0]
    received = bob.get(f"/api/v1/accounts/{target['id']}/entries").json()["results"][0]
    assert (sent["type"], sent["amount"], sent["counterparty"]) == ("transfer_out", "-2500", target["id"])
    assert (received["type"], received["amount"], received["counterparty"]) == (
        "transfer_in",
        "2500",
        source["id"],
    )
    assert sent["event_id"] == received["event_id"] == event["event_id"]
